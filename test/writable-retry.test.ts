/**
 * createHttpWritable retries: 5xx / 408 / 429 bursts recover with nothing lost; Retry-After in
 * seconds and HTTP-date form is honoured (the server sees the gap) and capped at backoff.max;
 * 'retry' events and stats() agree. Runs against both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { burst, firstRecord } from './helpers/receiver.js'
import type { ReceivedRequest, Reply } from './helpers/receiver.js'
import { account, countEvents, deliver, FAST, feed, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'

const RETRYABLE = [500, 502, 503, 504, 408, 429]

/** The requests carrying record `id`, in arrival order. */
const attemptsOf = (requests: ReceivedRequest[], id: number): ReceivedRequest[] => requests.filter((r) => firstRecord(r)?.id === id)

/** Answers the first attempt of each record with `first(id)`, later attempts with 200. */
function firstAttempt (first: (id: number) => Reply): (req: ReceivedRequest) => Reply | undefined {
  const seen = new Set<unknown>()
  return (req) => {
    const id = firstRecord(req)?.id
    if (typeof id !== 'number' || seen.has(id)) return undefined
    seen.add(id)
    return first(id)
  }
}

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable retries (${transport})`, () => {
    it('recovers from a burst of 500/502/503/504/408/429 with every record delivered', LIMIT, async (t) => {
      const r = await rig(t, { plan: burst(5, 35, (seq) => ({ status: RETRYABLE[seq % RETRYABLE.length]! })) })
      const { sink, events, report } = await deliver(t, r, { transport, numWriters: 4, retries: 50, ...FAST }, records(60))
      assert.equal(report.stored, 0, 'nothing needed failover')
      assert.equal(r.receiver.requests.length, 60 + 30, 'one extra request per failed answer, no more')
      assert.equal(events.retry.length, 30)
      assert.equal(events.failover.length, 0)
      assert.deepEqual(sink.stats(), { written: 60, delivered: 60, retried: 30, failedOver: 0, inFlight: 0, queued: 0 })
    })

    it('honours Retry-After in seconds and as an HTTP-date, for 429 and 503', LIMIT, async (t) => {
      /** Wall-clock ms before which record id must not come back (HTTP-date cases). */
      const notBefore = new Map<number, number>()
      const r = await rig(t, {
        plan: firstAttempt((id) => {
          const status = id % 2 === 0 ? 429 : 503
          if (id < 2) return { status, headers: { 'retry-after': '1' } }
          const at = Math.ceil((Date.now() + 1000) / 1000) * 1000
          notBefore.set(id, at)
          return { status, headers: { 'retry-after': new Date(at).toUTCString() } }
        })
      })
      const sink = r.sink({ transport, numWriters: 4, retries: 2, backoff: { base: 5, max: 5000 } })
      const events = countEvents(sink, 'retry')
      const retriedAt = new Map<number, number>()
      r.receiver.on('request', (req: ReceivedRequest) => {
        const id = firstRecord(req)?.id
        if (typeof id === 'number' && notBefore.has(id) && attemptsOf(r.receiver.requests, id).length === 2) retriedAt.set(id, Date.now())
      })
      const fed = await feed(sink, records(4))
      assert.equal(fed.error, undefined)
      const report = await account(t, r, fed)
      assert.equal(report.delivered, 4)
      assert.equal(events.retry!.length, 4)
      for (const id of [0, 1]) {
        const [first, second] = attemptsOf(r.receiver.requests, id)
        const gap = second!.arrivedAt - first!.answeredAt!
        t.diagnostic(`record ${id}: Retry-After: 1 → retried after ${gap.toFixed(0)} ms`)
        assert.ok(gap >= 900, `record ${id} came back ${gap} ms after Retry-After: 1`)
      }
      for (const id of [2, 3]) {
        const early = notBefore.get(id)! - retriedAt.get(id)!
        t.diagnostic(`record ${id}: HTTP-date → retried ${-early} ms after the date`)
        assert.ok(early <= 100, `record ${id} came back ${early} ms before its Retry-After date`)
      }
    })

    it('caps Retry-After at backoff.max', LIMIT, async (t) => {
      const hourLater = new Date(Date.now() + 3600_000).toUTCString()
      const r = await rig(t, {
        plan: firstAttempt((id) => ({ status: id === 0 ? 429 : 503, headers: { 'retry-after': id === 0 ? '3600' : hourLater } }))
      })
      const { report } = await deliver(t, r, { transport, numWriters: 2, retries: 1, backoff: { base: 5, max: 100 } }, records(2))
      assert.equal(report.delivered, 2)
      for (const id of [0, 1]) {
        const [first, second] = attemptsOf(r.receiver.requests, id)
        const gap = second!.arrivedAt - first!.answeredAt!
        t.diagnostic(`record ${id}: Retry-After of an hour, backoff.max 100 → retried after ${gap.toFixed(0)} ms`)
        assert.ok(gap < 5000, `waited ${gap} ms, more than backoff.max allows`)
      }
    })
  })
}
