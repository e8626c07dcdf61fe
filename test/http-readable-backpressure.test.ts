/**
 * End to end backpressure: a writable fills a topic to its retention limit, the server answers 429
 * with Retry-After, the writable backs off and retries; once a reader drains (and commits) the topic
 * everything arrives, each record once, and nothing went to failover.
 */
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { createHttpWritable } from '../lib/sink/http-writable.js'
import { createHttpReadable } from '../lib/source/http-readable.js'
import { call, startServer } from './helpers/server-fixture.js'

const TOTAL = 500

async function throttled (url: string): Promise<number> {
  const text = (await call(url, 'GET', '/metrics')).text
  return Number(/^http_stream_throttled_total\{topic="bp"\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

describe('full server → 429 → writable backs off → reader drains', () => {
  for (const encoding of ['ndjson', 'kafka-rest'] as const) {
    it(`delivers every record once (${encoding} batches)`, { timeout: 60_000 }, async (t) => {
      const { url } = await startServer(t, { retention: { records: 50 } })
      const sink = createHttpWritable({
        url: `${url}/topics/bp`,
        encoding,
        batch: { maxRecords: 20, lingerMs: 1 },
        retries: 10_000,
        backoff: { base: 5, max: 50 },
        failover: false
      })
      const retries: number[] = []
      sink.on('retry', (e: { status?: number | null }) => { retries.push(e.status ?? 0) })
      const writing = pipeline(Readable.from(Array.from({ length: TOTAL }, (_, id) => ({ id }))), sink)
      writing.catch(() => {})
      while (await throttled(url) === 0) await delay(20)
      const reader = createHttpReadable(url, { topic: 'bp', groupId: 'drain', pollTimeout: 200 })
      const seen = new Map<number, number>()
      for await (const record of reader as AsyncIterable<{ id: number }>) {
        seen.set(record.id, (seen.get(record.id) ?? 0) + 1)
        if (seen.size === TOTAL) break
      }
      await writing
      const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0)
      t.diagnostic(`429s: ${await throttled(url)}; writable retries: ${retries.length}; duplicates: ${duplicates}`)
      assert.deepEqual([...seen.keys()].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i), 'every record arrived')
      assert.equal(duplicates, 0, 'a refused batch is refused whole, so retries add no duplicates')
      assert.ok(retries.length > 0 && retries.every(s => s === 429), 'the writable retried the 429s')
      const stats = sink.stats()
      assert.equal(stats.delivered, TOTAL)
      assert.equal(stats.failedOver, 0)
    })
  }
})
