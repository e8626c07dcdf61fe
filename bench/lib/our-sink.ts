import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { recordSource } from './records.js'

/** Options of createHttpWritable the bench sets (the rest stay at their defaults). */
export type SinkOptions = Record<string, unknown>

/**
 * Streams `records` generated records through `createHttpWritable({ url, ...options })` with
 * stream.pipeline, failing over to a file store in a fresh temp dir (removed afterwards).
 * Resolves with the sink's stats() once 'finish' has fired.
 */
export async function sendThroughOurSink (url: string, records: number, options: SinkOptions = {}): Promise<unknown> {
  const { createHttpWritable } = await import('../../lib/index.js')
  const dir = await mkdtemp(join(tmpdir(), 'bench-failover-'))
  try {
    const sink = createHttpWritable({ url, failover: `file:${dir}`, ...options })
    await pipeline(recordSource(records), sink)
    return sink.stats()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
