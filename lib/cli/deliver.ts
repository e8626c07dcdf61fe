import { createHttpWritable, type HttpWritable } from '../sink/http-writable.js'
import type { HttpWritableOptions } from '../sink/options.js'
import { describeError } from '../errors.js'
import { type CliIo, EXIT } from './io.js'
import { ProgressLine, formatRate, summary } from './progress.js'
import { StopRequest, eventOrAbort } from './stop-request.js'

/** Writes records into the sink until its input ends or `stop.requested` aborts. */
export type Feed = (sink: HttpWritable, stop: StopRequest) => Promise<void>

export interface DeliverOptions {
  title: string
  /** ms to keep delivering after the first signal before the rest goes to failover. */
  graceMs: number
  extra?: () => Record<string, string | number>
  /** The exit code when every record is delivered or stored and some went to failover (send: 3). Default 0. */
  storedExit?: number
}

/**
 * Runs `feed` into a writable with progress, then closes the sink: it waits for every record to be
 * delivered or stored, but after a signal only for the grace period (or until a second signal),
 * and then stores the rest in failover. Prints the summary. The exit code is 1 when some record is
 * neither delivered nor stored; otherwise 130/143 after SIGINT/SIGTERM; else `storedExit` when some
 * record went to failover; else 0.
 */
export async function deliver (feed: Feed, options: HttpWritableOptions, io: CliIo & { signal?: AbortSignal }, how: DeliverOptions): Promise<number> {
  const sink = createHttpWritable(options)
  // The error is close()'s rejection; this keeps an error during the feed from crashing the process.
  sink.on('error', () => {})
  const stop = new StopRequest(io, how.graceMs)
  const progress = new ProgressLine(io, () => sink.stats())
  let failure: unknown
  try {
    await feed(sink, stop)
  } catch (err) {
    failure = err
  }
  try {
    await sink.close({ graceMs: Infinity, signal: stop.now })
  } catch (err) {
    failure ??= err
  } finally {
    stop.dispose()
  }
  const ms = progress.stop()
  const s = sink.stats()
  const failover = options.failover === false ? 'off' : typeof options.failover === 'object' ? options.failover.uri : (options.failover ?? 'file:./http-failover')
  const lost = (failure as { records?: unknown[] } | undefined)?.records?.length ?? 0
  summary(io, `${how.title}${stop.reason}${failure === undefined ? '' : ' (failed)'}`, {
    written: s.written,
    delivered: s.delivered,
    retried: s.retried,
    'failed over': s.failedOver === 0 ? 0 : `${s.failedOver} -> ${failover}`,
    ...(failure === undefined ? {} : { 'not delivered nor stored': lost, error: describeError(failure) }),
    ...how.extra?.(),
    elapsed: `${(ms / 1000).toFixed(2)} s`,
    rate: `${formatRate((s.written * 1000) / Math.max(1, ms))} records/s`
  })
  if (failure !== undefined || s.delivered + s.failedOver !== s.written) return EXIT.lost
  return stop.exitCode ?? (s.failedOver > 0 ? (how.storedExit ?? EXIT.ok) : EXIT.ok)
}

/** Writes one record; when the sink is full, waits for room (or the stop request). */
export async function writeRecord (sink: HttpWritable, record: unknown, stop: AbortSignal): Promise<void> {
  if (!sink.write(record)) await room(sink, stop)
}

/** Resolves when the sink has room again ('drain'), is gone ('close'), or `stop` aborts. */
export async function room (sink: HttpWritable, stop: AbortSignal): Promise<void> {
  await eventOrAbort(sink, ['drain', 'close'], stop)
}
