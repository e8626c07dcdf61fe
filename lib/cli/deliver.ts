import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createHttpWritable } from '../sink/http-writable.js'
import type { HttpWritableOptions } from '../sink/options.js'
import { describeError } from '../errors.js'
import { type CliIo, EXIT } from './io.js'
import { ProgressLine, formatRate, summary } from './progress.js'

/**
 * Pipes `source` into a writable with progress, then prints the summary. The exit code is 0 only
 * when every record written was delivered or durably stored.
 */
export async function deliver (source: Readable, options: HttpWritableOptions, io: CliIo, title: string, extra: () => Record<string, string | number> = () => ({})): Promise<number> {
  const sink = createHttpWritable(options)
  const progress = new ProgressLine(io, () => sink.stats())
  let failure: unknown
  try {
    await pipeline(source, sink)
  } catch (err) {
    failure = err
  }
  const ms = progress.stop()
  const s = sink.stats()
  const failover = options.failover === false ? 'off' : typeof options.failover === 'object' ? options.failover.uri : (options.failover ?? 'file:./http-failover')
  const lost = (failure as { records?: unknown[] } | undefined)?.records?.length ?? 0
  summary(io, failure === undefined ? title : `${title} (failed)`, {
    written: s.written,
    delivered: s.delivered,
    retried: s.retried,
    'failed over': s.failedOver === 0 ? 0 : `${s.failedOver} -> ${failover}`,
    ...(failure === undefined ? {} : { 'not delivered nor stored': lost, error: describeError(failure) }),
    ...extra(),
    elapsed: `${(ms / 1000).toFixed(2)} s`,
    rate: `${formatRate((s.written * 1000) / Math.max(1, ms))} records/s`
  })
  return failure === undefined && s.delivered + s.failedOver === s.written ? EXIT.ok : EXIT.lost
}
