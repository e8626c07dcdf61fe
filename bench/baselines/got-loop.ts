import { Agent } from 'node:http'
import got from 'got'
import { makeRecord } from '../lib/records.js'
import { assertOk, runLoops } from './loops.js'

/**
 * Baseline for one record per request with got: `concurrency` loops over a keep-alive
 * http.Agent with as many sockets, no retries, the same JSON body per record.
 */
export async function gotLoop (url: string, records: number, concurrency: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const client = got.extend({
    agent: { http: agent },
    retry: { limit: 0 },
    throwHttpErrors: false,
    headers: { 'content-type': 'application/json' }
  })
  try {
    await runLoops(concurrency, records, async i => {
      const res = await client.post(url, { body: JSON.stringify(makeRecord(i)) })
      assertOk(res.statusCode, 'got loop')
    })
  } finally {
    agent.destroy()
  }
}
