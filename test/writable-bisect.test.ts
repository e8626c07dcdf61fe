/**
 * Bisecting rejected batches (`onReject: 'bisect'`, the default for batches): a batch answered
 * 400/422/other 4xx (not 408/429) is split in two and each half sent again, down to single
 * records; only a record rejected alone goes to failover, with its own answer. A 413 always splits
 * and lowers the batch size for a while. Against a real NDJSON receiver on 127.0.0.1 that rejects
 * a whole request when it holds a poison record (or is too large).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { replay } from '../lib/index.js'
import { FAST, TRANSPORTS } from './helpers/writable-harness.js'
import { runItems as run, startItemReceiver, type ItemReceiverOptions } from './helpers/item-receiver.js'

const SLOW_LIMIT = { timeout: 60_000 }

const records = (n: number): Array<{ id: number }> => Array.from({ length: n }, (_, id) => ({ id }))
const id = (r: unknown): number => (r as { id: number }).id

/** 400 for a request holding any of `poison`, with a body naming the first. */
const rejecting = (poison: Set<number>, status = 400): ItemReceiverOptions => ({
  shape: 'ndjson',
  request: (batch) => {
    const bad = batch.find((r) => poison.has(id(r)))
    return bad === undefined ? undefined : { status, body: JSON.stringify({ error: 'schema violation', id: id(bad), records: batch.length }) }
  }
})

describe('onReject: bisect', SLOW_LIMIT, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: 1 poison record in 10,000 (batches of 500) → exactly 1 in failover, 9,999 delivered`, async (t) => {
      const r = await run(t, rejecting(new Set([4321])), { transport, encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 } }, records(10_000))
      const extra = r.receiver.requests.length - 20
      t.diagnostic(`requests ${r.receiver.requests.length} (20 batches + ${extra} extra; bound 2·⌈log2 500⌉ = 18); rejected: ${r.receiver.requests.filter((q) => q.status === 400).map((q) => q.records).join(',')}`)
      assert.deepEqual(r.envelopes.map((e) => id(e.record)), [4321])
      const e = r.envelopes[0]!
      assert.equal(e.status, 400)
      // The body of its own answer, as a batch of 1.
      assert.match(e.error ?? '', /unexpected status 400: \{"error":"schema violation","id":4321,"records":1\}/)
      assert.equal(r.receiver.delivered.size, 9999)
      assert.equal(r.report.duplicates, 0)
      assert.ok(extra > 0 && extra <= 18, `extra requests ${extra}`)
      assert.deepEqual({ delivered: r.stats.delivered, failedOver: r.stats.failedOver }, { delivered: 9999, failedOver: 1 })
    })
  }

  it('5 poison records in one batch of 500 (422): each alone in failover, at most 5·2·⌈log2 500⌉ extra requests', async (t) => {
    const poison = new Set([0, 101, 102, 250, 499])
    const r = await run(t, rejecting(poison, 422), { encoding: 'json-array', batch: { maxRecords: 500, lingerMs: 5 } }, records(500))
    const extra = r.receiver.requests.length - 1
    t.diagnostic(`requests ${r.receiver.requests.length} (1 batch + ${extra} extra; bound ${5 * 18})`)
    assert.deepEqual(r.envelopes.map((e) => id(e.record)).sort((a, b) => a - b), [...poison])
    for (const e of r.envelopes) assert.equal(e.status, 422)
    assert.equal(r.receiver.delivered.size, 495)
    assert.ok(extra <= 5 * 18, `extra requests ${extra}`)
  })

  it('does not split a retryable answer (429, 503): that is retried whole', async (t) => {
    let first = true
    const r = await run(t, {
      shape: 'ndjson',
      request: (batch) => {
        if (!first) return undefined
        first = false
        return { status: 503, body: `busy (${batch.length})` }
      }
    }, { encoding: 'ndjson', batch: { maxRecords: 100, lingerMs: 5 } }, records(100))
    assert.deepEqual(r.receiver.requests.map((q) => q.records), [100, 100])
    assert.equal(r.envelopes.length, 0)
  })

  it("onReject: 'failover' stores the rejected batch whole, without extra requests", async (t) => {
    const r = await run(t, rejecting(new Set([42])), { encoding: 'ndjson', onReject: 'failover', batch: { maxRecords: 100, lingerMs: 5 } }, records(300))
    assert.equal(r.receiver.requests.length, 3)
    assert.equal(r.envelopes.length, 100)
    assert.equal(r.receiver.delivered.size, 200)
  })
})

describe('replay bisects too', SLOW_LIMIT, () => {
  it('a stored batch replayed to an endpoint that rejects one record: the others are acked, that one stays', async (t) => {
    const rejectAll: ItemReceiverOptions = { shape: 'ndjson', request: () => ({ status: 400, body: 'closed for maintenance' }) }
    const first = await run(t, rejectAll, { encoding: 'ndjson', onReject: 'failover', batch: { maxRecords: 250, lingerMs: 5 } }, records(1000))
    assert.equal(first.envelopes.length, 1000)
    const receiver = await startItemReceiver(rejecting(new Set([777])))
    t.after(async () => await receiver.close())
    const summary = await replay(`file:${first.dir}`, { url: `${receiver.url}/in`, encoding: 'ndjson', batch: { maxRecords: 250, lingerMs: 5 }, ...FAST })
    t.diagnostic(`replay ${JSON.stringify(summary)}; requests ${receiver.requests.length}`)
    assert.deepEqual({ delivered: summary.delivered, failedAgain: summary.failedAgain }, { delivered: 999, failedAgain: 1 })
    assert.equal(receiver.delivered.size, 999)
  })
})

describe('413: always split, and smaller batches for a while', SLOW_LIMIT, () => {
  it('a receiver that takes at most 100 records per request gets all 10,000, and few 413s', async (t) => {
    const r = await run(t, {
      shape: 'ndjson',
      request: (batch) => batch.length > 100 ? { status: 413, body: 'payload too large' } : undefined
    }, { encoding: 'ndjson', onReject: 'failover', numWriters: 2, queueCapacity: 1000, batch: { maxRecords: 500, lingerMs: 5 } }, records(10_000))
    const tooLarge = r.receiver.requests.filter((q) => q.status === 413).length
    // Without the shrink each of the 20 batches costs 7 answers of 413 (500 → 250 → 125 → 63): 140.
    t.diagnostic(`requests ${r.receiver.requests.length}, 413s ${tooLarge} (140 without lowering maxRecords); last sizes ${r.receiver.requests.slice(-5).map((q) => q.records).join(',')}`)
    assert.equal(r.envelopes.length, 0)
    assert.equal(r.receiver.delivered.size, 10_000)
    assert.equal(r.report.duplicates, 0)
    assert.ok(tooLarge < 70, `413s ${tooLarge}`)
    assert.ok(r.receiver.requests.slice(-5).every((q) => q.records <= 100))
  })

  it('a single record too large for the receiver goes to failover with its 413', async (t) => {
    const r = await run(t, {
      shape: 'ndjson',
      request: (batch) => batch.some((rec) => id(rec) === 7) ? { status: 413, body: 'too large' } : undefined
    }, { encoding: 'ndjson', batch: { maxRecords: 16, lingerMs: 5 } }, records(16))
    assert.deepEqual(r.envelopes.map((e) => [id(e.record), e.status]), [[7, 413]])
    assert.equal(r.receiver.delivered.size, 15)
  })
})
