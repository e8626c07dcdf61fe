/**
 * createHttpWritable under network faults: connections reset mid-request, a server that never
 * answers (per-attempt timeout, then failover), and a server that goes down and comes back on the
 * same port (stale keep-alive sockets, refused connections). Every written record ends up delivered
 * or stored. Runs against both transports.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { account, assertEnvelopes, countEvents, deliver, FAST, feed, LIMIT, mergeFeeds, records, rig, TRANSPORTS } from './helpers/writable-harness.js'

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable network faults (${transport})`, () => {
    it('retries requests whose connection is reset mid-request; nothing lost', LIMIT, async (t) => {
      const r = await rig(t, { plan: (req) => req.seq % 3 === 1 && req.seq < 60 ? { reset: true } : undefined })
      const { events, report } = await deliver(t, r, { transport, numWriters: 4, retries: 20, ...FAST }, records(40))
      const resets = r.receiver.requests.filter((q) => q.outcome === 'reset').length
      t.diagnostic(`${resets} connection resets, ${events.retry.length} retries`)
      assert.ok(resets >= 10, 'the fault plan reset connections')
      assert.equal(report.stored, 0)
      assert.equal(report.delivered - report.duplicates, 40)
      assert.ok(events.retry.length >= resets, 'each reset request was retried')
    })

    it('times out a server that never answers, retries, then fails over with a timeout error', LIMIT, async (t) => {
      const r = await rig(t, { plan: () => ({ hang: true }) })
      const { sink, events, report } = await deliver(t, r, { transport, numWriters: 3, retries: 2, timeout: 300, backoff: { base: 5, max: 20 } }, records(3))
      assert.equal(report.stored, 3)
      assert.equal(r.receiver.requests.length, 9, 'three attempts per record')
      assert.equal(events.retry.length, 6)
      assert.ok(events.failover.length >= 1)
      assertEnvelopes(r, 3, { attempts: 3, status: null, error: /time/i })
      assert.deepEqual(r.envelopes().map((e) => `${e.method} ${e.url}`), Array(3).fill(`POST ${r.receiver.url}/in`))
      assert.deepEqual(sink.stats(), { written: 3, delivered: 0, retried: 6, failedOver: 3, inFlight: 0, queued: 0 })
    })

    it('delivers records written while the server is down once it comes back', LIMIT, async (t) => {
      const r = await rig(t)
      const sink = r.sink({ transport, numWriters: 4, retries: 200, ...FAST })
      const events = countEvents(sink, 'retry')
      const parts = [await feed(sink, records(10, 'before'), { end: false })]
      await r.receiver.waitFor(() => r.receiver.deliveredCount === 10)
      await r.receiver.down()
      parts.push(await feed(sink, records(20, 'during'), { end: false }))
      while (events.retry!.length < 4) await once(sink, 'retry')
      const requestsWhileDown = r.receiver.requests.length
      await r.receiver.up()
      parts.push(await feed(sink, records(10, 'after')))
      const fed = mergeFeeds(parts)
      assert.equal(fed.error, undefined)
      assert.equal(requestsWhileDown, 10, 'no request reached the server while it was down')
      const report = await account(t, r, fed)
      assert.equal(report.stored, 0)
      assert.equal(report.delivered - report.duplicates, 40)
    })
  })
}
