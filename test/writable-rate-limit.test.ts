import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHttpWritable } from '../lib/index.js'
import { writableOptions } from '../lib/cli/writable-flags.js'
import type { ReceivedRequest } from './helpers/receiver.js'
import { FAST, TRANSPORTS, account, feed, records, rig } from './helpers/writable-harness.js'

const SLOW = { timeout: 30_000 } as const

interface Windows {
  /** Arrivals that came sooner than the bucket allows since the sink was made (burst + refill so far). */
  early: number
  /** Weight per fixed window after the first, counted from when the sink was made. */
  later: number[]
}

/**
 * What the receiver saw against a bucket of `burst` per `windowMs` made at `start`. A request
 * arrives after it is let go, so by any arrival at most `burst + burst * elapsed / windowMs` can
 * have arrived (no slack needed); fixed windows after the first hold about `burst` each.
 */
function windows (requests: ReceivedRequest[], start: number, burst: number, windowMs: number, weight: (r: ReceivedRequest) => number): Windows {
  const sorted = [...requests].sort((a, b) => a.arrivedAt - b.arrivedAt)
  let early = 0
  let sum = 0
  const later: number[] = []
  for (const r of sorted) {
    sum += weight(r)
    // Each cost here is at most the bucket's size, so tokens never go below zero.
    if (sum > burst + burst * (r.arrivedAt - start) / windowMs + 1e-6) early++
    const k = Math.floor((r.arrivedAt - start) / windowMs)
    if (k > 0) later[k - 1] = (later[k - 1] ?? 0) + weight(r)
  }
  return { early, later: Array.from(later, (x) => x ?? 0) }
}

for (const transport of TRANSPORTS) {
  test(`${transport}: rateLimit.requests 20 per 1000 ms: no 1-s window at the receiver holds more than the bucket allows, and all is delivered`, SLOW, async (t) => {
    const r = await rig(t)
    const start = performance.now()
    const sink = r.sink({ ...FAST, transport, numWriters: 8, rateLimit: { requests: 20, perMs: 1000 } })
    const fed = await feed(sink, records(70))
    assert.equal(fed.error, undefined)
    const report = await account(t, r, fed)
    const w = windows(r.receiver.requests, start, 20, 1000, () => 1)
    t.diagnostic(`requests ${r.receiver.requests.length}; arrived sooner than the bucket allows ${w.early}; per 1-s window after the first ${JSON.stringify(w.later)}`)
    assert.equal(report.delivered, 70)
    assert.equal(report.lost, 0)
    assert.equal(w.early, 0)
    // A window's allowance is a full bucket plus one period's refill (a stalled event loop lets tokens pile up to the burst); a
    // little slack for arrival jitter: a request let go at the end of a window may arrive in the next.
    for (const n of w.later) assert.ok(n <= 40 + 2, `${n} requests in a later 1-s window`)
    assert.ok(w.later.length >= 2, 'the run was spread over the refills')
  })
}

test('rateLimit.records with batches: no 500-ms window holds more records than the bucket allows', SLOW, async (t) => {
  const r = await rig(t)
  const start = performance.now()
  const sink = r.sink({ ...FAST, encoding: 'ndjson', batch: { maxRecords: 10, lingerMs: 5 }, rateLimit: { records: 50, perMs: 500 } })
  const fed = await feed(sink, records(200))
  assert.equal(fed.error, undefined)
  const report = await account(t, r, fed)
  const w = windows(r.receiver.requests, start, 50, 500, (q) => q.records.length)
  t.diagnostic(`requests ${r.receiver.requests.length}; arrived sooner than the bucket allows ${w.early}; records per 500-ms window after the first ${JSON.stringify(w.later)}`)
  assert.equal(report.delivered, 200)
  assert.equal(w.early, 0)
  for (const n of w.later) assert.ok(n <= 100 + 10, `${n} records in a later window`)
})

test('records waiting for tokens count as inside: write() returns false at queueCapacity and memory stays bounded', SLOW, async (t) => {
  const r = await rig(t)
  const queueCapacity = 5
  const sink = r.sink({ ...FAST, queueCapacity, rateLimit: { requests: 10, perMs: 200 } })
  const all = records(200)
  let accepted = 0
  while (accepted < all.length && sink.write(all[accepted++]));
  const bound = queueCapacity + sink.writableHighWaterMark
  t.diagnostic(`write() returned false after ${accepted} records (queueCapacity ${queueCapacity})`)
  assert.ok(accepted < all.length, 'write() returned false')
  assert.ok(accepted <= bound, `${accepted} accepted before write() returned false`)
  let maxInside = 0
  const watch = setInterval(() => {
    const s = sink.stats()
    maxInside = Math.max(maxInside, s.queued + s.inFlight)
  }, 5)
  t.after(() => clearInterval(watch))
  const rest = await feed(sink, all.slice(accepted))
  clearInterval(watch)
  assert.equal(rest.error, undefined)
  const report = await account(t, r, { written: all, rejected: rest.rejected })
  t.diagnostic(`most records inside ${maxInside}`)
  assert.equal(report.delivered, 200)
  assert.ok(maxInside <= queueCapacity, `${maxInside} records inside`)
})

test('rateLimit is checked at construction', () => {
  for (const rateLimit of [{ requests: 0 }, {}, { perMs: 1000 }, { records: 1.5 }, { bytes: -1 }, { requests: 1, perMs: 0 }, { request: 5 }]) {
    assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, rateLimit: rateLimit as never }), (err: Error & { code?: string, field?: string }) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION', JSON.stringify(rateLimit))
      assert.match(err.field ?? '', /^rateLimit/, JSON.stringify(rateLimit))
      return true
    })
  }
})

test('--rate-requests, --rate-records, --rate-bytes and --rate-per-ms become rateLimit', () => {
  assert.deepEqual(writableOptions({ 'rate-requests': '20', 'rate-bytes': '65536', 'rate-per-ms': '500' }).rateLimit, { requests: 20, bytes: 65536, perMs: 500 })
  assert.deepEqual(writableOptions({ 'rate-records': '100' }).rateLimit, { records: 100 })
  assert.equal(writableOptions({}).rateLimit, undefined)
})
