/**
 * Per-item results (`itemResults`): after a 2xx batch answer, only the records the answer lists as
 * failed are retried (a smaller request) or stored (each with its own item error); the others
 * count as delivered, once. Against a real receiver answering in Kafka REST v2 and Elasticsearch
 * `_bulk` shapes (test/helpers/item-receiver.ts names the source files).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHttpWritable, type HttpWritableOptions } from '../lib/index.js'
import { LIMIT, TRANSPORTS } from './helpers/writable-harness.js'
import { runItems as run } from './helpers/item-receiver.js'

const records = (n: number): Array<{ id: number }> => Array.from({ length: n }, (_, id) => ({ id }))
const id = (r: unknown): number => (r as { id: number }).id
const sum = (lists: unknown[][]): number => lists.reduce((n, l) => n + l.length, 0)

describe('itemResults: kafka-rest (the default of that encoding)', LIMIT, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: stores only the records with a fatal error_code, retries only the 50003 ones, delivers the rest once`, async (t) => {
      // Batches of 2,000: each answer (~110 KB of offsets) is longer than the 64 KiB default body bound.
      const fatal = new Map([[7, 50002], [1500, 40301], [3999, 40101]])
      const retriable = new Set([3, 1001, 2500])
      const r = await run(t, {
        shape: 'kafka-rest',
        item: (record, arrival) => {
          const code = fatal.get(id(record))
          if (code !== undefined) return { code, message: `refused ${id(record)}` }
          if (retriable.has(id(record)) && arrival === 1) return { code: 50003, message: 'NOT_LEADER_OR_FOLLOWER' }
          return undefined
        }
      }, { transport, encoding: 'kafka-rest', batch: { maxRecords: 2000, lingerMs: 5 } }, records(4000), { path: '/topics/t' })
      t.diagnostic(`requests: ${JSON.stringify(r.receiver.requests.map((q) => q.records))}; stats ${JSON.stringify(r.stats)}`)
      assert.deepEqual(r.envelopes.map((e) => id(e.record)).sort((a, b) => a - b), [7, 1500, 3999])
      for (const e of r.envelopes) {
        const code = fatal.get(id(e.record))!
        assert.match(e.error ?? '', new RegExp(`error_code ${code}: refused ${id(e.record)}`))
        assert.equal(e.status, Math.floor(code / 100))
      }
      assert.equal(r.receiver.delivered.size, 3997)
      assert.equal(r.report.duplicates, 0)
      // The retry is one smaller request with only the 50003 records of its batch.
      const retries = r.receiver.requests.slice(2).map((q) => q.records).sort()
      assert.deepEqual(retries, [1, 2])
      assert.deepEqual({ delivered: r.stats.delivered, failedOver: r.stats.failedOver, retried: r.stats.retried }, { delivered: 3997, failedOver: 3, retried: 3 })
      assert.equal(sum(r.events.retry!.map((e) => (e as { records: unknown[] }).records)), 3)
      assert.equal(sum(r.events.failover as unknown[][]), 3)
    })
  }

  it('a 50003 that never clears goes to failover after the retries, alone, with its own error', async (t) => {
    const r = await run(t, {
      shape: 'kafka-rest',
      item: (record) => id(record) === 42 ? { code: 50003, message: 'still no leader' } : undefined
    }, { encoding: 'kafka-rest', retries: 2, batch: { maxRecords: 100, lingerMs: 5 } }, records(300))
    assert.deepEqual(r.envelopes.map((e) => ({ id: id(e.record), attempts: e.attempts, status: e.status })), [{ id: 42, attempts: 3, status: 500 }])
    assert.match(r.envelopes[0]!.error ?? '', /error_code 50003: still no leader/)
    assert.equal(r.receiver.delivered.size, 299)
    assert.equal(r.report.duplicates, 0)
  })

  it('itemResults: false reads only the status: a 200 counts all its records delivered, even those the proxy refused', async (t) => {
    const r = await run(t, {
      shape: 'kafka-rest',
      item: (record) => id(record) === 1 ? { code: 50002, message: 'boom' } : undefined
    }, { encoding: 'kafka-rest', itemResults: false, batch: { maxRecords: 10, lingerMs: 5 } }, records(10), { ledger: false })
    assert.equal(r.envelopes.length, 0)
    assert.equal(r.stats.delivered, 10)
  })
})

describe('itemResults: es-bulk', LIMIT, () => {
  /** An Elasticsearch `_bulk` body: an index action line before each document. */
  const bulk: HttpWritableOptions['encoding'] = (batch) => ({
    headers: { 'content-type': 'application/x-ndjson' },
    body: batch.map((doc) => `{"index":{}}\n${JSON.stringify(doc)}\n`).join('')
  })

  it('retries the 429 and 503 items, stores the 400 ones with their error, delivers the rest once', async (t) => {
    const r = await run(t, {
      shape: 'es-bulk',
      item: (record, arrival) => {
        const n = id(record)
        if (n % 250 === 17) return { code: 400, message: `failed to parse field [id] of ${n}` }
        if (n % 100 === 5 && arrival === 1) return { code: 429, message: 'rejected execution of coordinating operation' }
        if (n % 333 === 1 && arrival <= 2) return { code: 503, message: 'no shard available' }
        return undefined
      }
    }, { encoding: bulk, itemResults: 'es-bulk', batch: { maxRecords: 500, lingerMs: 5 } }, records(2000), { path: '/_bulk' })
    const bad = records(2000).map(id).filter((n) => n % 250 === 17)
    assert.deepEqual(r.envelopes.map((e) => id(e.record)).sort((a, b) => a - b), bad)
    for (const e of r.envelopes) {
      assert.equal(e.status, 400)
      assert.match(e.error ?? '', /Elasticsearch bulk index status 400: document_parsing_exception: failed to parse field/)
    }
    assert.equal(r.receiver.delivered.size, 2000 - bad.length)
    assert.equal(r.report.duplicates, 0)
    assert.equal(r.stats.delivered, 2000 - bad.length)
    assert.equal(r.stats.failedOver, bad.length)
  })
})

describe('itemResults: a function', LIMIT, () => {
  /** The receiver's body says nothing per item here; the function decides from the records. */
  it('retries and stores what the function says, by record', async (t) => {
    let calls = 0
    const r = await run(t, { shape: 'kafka-rest' }, {
      encoding: 'kafka-rest',
      batch: { maxRecords: 50, lingerMs: 5 },
      itemResults: (response, batch) => {
        calls++
        assert.equal(response.status, 200)
        return batch.map((rec) => id(rec) === 13 ? 'fail' : 'ok')
      }
    }, records(100))
    assert.deepEqual(r.envelopes.map((e) => id(e.record)), [13])
    assert.match(r.envelopes[0]!.error ?? '', /item 13 of 50: 'fail' by the itemResults function/)
    assert.equal(r.stats.delivered, 99)
    assert.equal(calls, 2)
  })

  it('a result of the wrong length fails the whole batch with a clear error', async (t) => {
    const r = await run(t, { shape: 'kafka-rest' }, {
      encoding: 'kafka-rest',
      batch: { maxRecords: 20, lingerMs: 5 },
      itemResults: () => ['ok']
    }, records(20))
    assert.equal(r.envelopes.length, 20)
    for (const e of r.envelopes) assert.match(e.error ?? '', /ERR_ITEM_RESULTS: the answer has 1 verdicts from the itemResults function for 20 records/)
  })

  it('rejects an itemResults that is not a known name or a function', () => {
    assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', encoding: 'ndjson', itemResults: 'solr' as 'es-bulk', failover: false }), { code: 'ERR_INVALID_OPTION', message: /itemResults/ })
    assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', encoding: 'ndjson', onReject: 'drop' as 'bisect', failover: false }), { code: 'ERR_INVALID_OPTION', message: /onReject/ })
  })
})
