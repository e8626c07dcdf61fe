import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Pool } from 'undici'
import { recordSource } from '../lib/records.js'
import { assertOk } from './loops.js'

const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' }

/** Records the Writable buffers while its callback waits: enough for two batches, so a _writev finds one ready. */
const HIGH_WATER_MARK = 1000

/**
 * The stream floor for batches: the same Readable source as the sink's, piped into the smallest
 * hand-written Writable that batches (stringify, join every `batchSize`) and POSTs with an undici
 * Pool, holding the write callback while `concurrency` requests are in flight. Tuned as a careful
 * author would: `highWaterMark` 1000 and `_writev`, so what piled up while it waited is taken in one
 * call. No retries, no failover, no byte limit: what any stream-fed batching sink pays at least.
 */
export async function ndjsonBatchWritable (url: string, records: number, concurrency: number, batchSize: number): Promise<void> {
  const { origin, pathname } = new URL(url)
  const pool = new Pool(origin, { connections: concurrency })
  let pieces: string[] = []
  let inFlight = 0
  let waiting: (() => void) | undefined
  let failure: Error | undefined
  const send = (): void => {
    const body = pieces.join('\n') + '\n'
    pieces = []
    inFlight++
    pool.request({ path: pathname, method: 'POST', headers: NDJSON_HEADERS, body }).then(async (res) => {
      await res.body.dump()
      assertOk(res.statusCode, 'ndjson batch writable')
    }).catch((err: Error) => { failure ??= err }).finally(() => {
      inFlight--
      const w = waiting
      waiting = undefined
      w?.()
    })
  }
  const whenRoom = (callback: (err?: Error) => void): void => {
    if (inFlight < concurrency) return callback(failure)
    waiting = () => whenRoom(callback)
  }
  const sink = new Writable({
    objectMode: true,
    highWaterMark: HIGH_WATER_MARK,
    write (record, _encoding, callback) {
      if (pieces.push(JSON.stringify(record)) < batchSize) return callback()
      send()
      whenRoom(callback)
    },
    writev (chunks, callback) {
      for (let i = 0; i < chunks.length; i++) {
        if (pieces.push(JSON.stringify(chunks[i]!.chunk)) === batchSize) send()
      }
      whenRoom(callback)
    },
    final (callback) {
      if (pieces.length > 0) send()
      const drained = (): void => { inFlight === 0 ? callback(failure) : (waiting = drained) }
      drained()
    }
  })
  try {
    await pipeline(recordSource(records), sink)
  } finally {
    await pool.close()
  }
}
