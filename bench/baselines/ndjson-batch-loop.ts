import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { Pool } from 'undici'
import { makeRecord } from '../lib/records.js'
import { assertOk, runLoops } from './loops.js'

const NDJSON_HEADERS = { 'content-type': 'application/x-ndjson' }
const GZIP_HEADERS = { ...NDJSON_HEADERS, 'content-encoding': 'gzip' }
const gzipAsync = promisify(gzip)

export interface BatchLoopOptions {
  /** More Pool options (e.g. `connect: { ca }` for an HTTPS receiver). */
  pool?: Pool.Options
  /** Compress each body with zlib's gzip (default level, on the thread pool) and say so in Content-Encoding. */
  gzip?: boolean
}

/**
 * Baseline for batches: `concurrency` loops, each building an NDJSON body of `batchSize`
 * records (one JSON.stringify per record, '\n' after each) and POSTing it with an undici Pool.
 */
export async function ndjsonBatchLoop (url: string, records: number, concurrency: number, batchSize: number, options: BatchLoopOptions = {}): Promise<void> {
  const { origin, pathname } = new URL(url)
  const pool = new Pool(origin, { ...options.pool, connections: concurrency })
  const compress = options.gzip === true
  try {
    await runLoops(concurrency, Math.ceil(records / batchSize), async b => {
      const end = Math.min(records, (b + 1) * batchSize)
      let body = ''
      for (let i = b * batchSize; i < end; i++) body += JSON.stringify(makeRecord(i)) + '\n'
      const res = compress
        ? await pool.request({ path: pathname, method: 'POST', headers: GZIP_HEADERS, body: await gzipAsync(body) })
        : await pool.request({ path: pathname, method: 'POST', headers: NDJSON_HEADERS, body })
      await res.body.dump()
      assertOk(res.statusCode, 'ndjson batch loop')
    })
  } finally {
    await pool.close()
  }
}
