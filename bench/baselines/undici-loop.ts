import { Pool } from 'undici'
import { makeRecord } from '../lib/records.js'
import { assertOk, runLoops } from './loops.js'

const JSON_HEADERS = { 'content-type': 'application/json' }

/**
 * Baseline for one record per request: an undici Pool with `concurrency` keep-alive connections
 * and `concurrency` loops, each POSTing JSON.stringify(record) and draining the answer.
 * `pool`: more Pool options (e.g. `connect: { ca }` for an HTTPS receiver).
 */
export async function undiciLoop (url: string, records: number, concurrency: number, pool: Pool.Options = {}): Promise<void> {
  const { origin, pathname } = new URL(url)
  const client = new Pool(origin, { ...pool, connections: concurrency })
  try {
    await runLoops(concurrency, records, async i => {
      const res = await client.request({ path: pathname, method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(makeRecord(i)) })
      await res.body.dump()
      assertOk(res.statusCode, 'undici loop')
    })
  } finally {
    await client.close()
  }
}
