/**
 * createHttpWritable holds the producer back: with a stalled endpoint write() returns false once
 * queueCapacity records are inside, the server never sees more than numWriters requests at once,
 * and an endpoint answering 503 again and again neither grows the records inside nor multiplies
 * requests. Runs against both transports. (Flat memory is measured by the bench, not here.)
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { burst, gate } from './helpers/receiver.js'
import type { Receiver } from './helpers/receiver.js'
import { account, feed, LIMIT, mergeFeeds, records, rig, TRANSPORTS } from './helpers/writable-harness.js'
import type { Sink } from './helpers/writable-harness.js'

/** Samples stats() at every request the server sees; returns the largest queued + inFlight. */
function watchInside (receiver: Receiver, sink: Sink): { max: number } {
  const seen = { max: 0 }
  receiver.on('request', () => {
    const s = sink.stats()
    seen.max = Math.max(seen.max, s.queued + s.inFlight)
  })
  return seen
}

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable backpressure (${transport})`, () => {
    it('write() returns false once queueCapacity records are inside a stalled sink', LIMIT, async (t) => {
      const held = gate()
      const r = await rig(t, { plan: () => ({ status: 200, until: held.promise }) })
      t.after(held.open)
      const numWriters = 2
      const queueCapacity = 10
      const sink = r.sink({ transport, numWriters, queueCapacity, timeout: 5000 })
      const inside = watchInside(r.receiver, sink)
      const all = records(200)
      let accepted = 0
      while (accepted < all.length && sink.write(all[accepted++]));
      const bound = queueCapacity + sink.writableHighWaterMark
      t.diagnostic(`write() returned false after ${accepted} records (queueCapacity ${queueCapacity}, writableHighWaterMark ${sink.writableHighWaterMark})`)
      assert.ok(accepted < all.length, 'write() returned false')
      assert.ok(accepted <= bound, `${accepted} records accepted before write() returned false, more than ${bound}`)
      await r.receiver.waitFor(() => r.receiver.active === numWriters)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(r.receiver.requests.length, numWriters, 'no request beyond numWriters while all are stalled')
      const s = sink.stats()
      assert.ok(s.inFlight <= numWriters, `inFlight ${s.inFlight}`)
      assert.ok(s.queued + s.inFlight <= queueCapacity, `inside ${s.queued + s.inFlight} > queueCapacity`)
      held.open()
      const rest = await feed(sink, all.slice(accepted))
      const fed = mergeFeeds([{ written: all.slice(0, accepted), rejected: [] }, rest])
      assert.equal(fed.error, undefined)
      const report = await account(t, r, fed)
      assert.equal(report.delivered, 200)
      assert.ok(r.receiver.maxActive <= numWriters, `server saw ${r.receiver.maxActive} concurrent requests`)
      assert.ok(inside.max <= queueCapacity, `stats showed ${inside.max} records inside`)
    })

    it('an endpoint answering 503 for long holds the producer within the same limits', LIMIT, async (t) => {
      const failures = 150
      const r = await rig(t, { plan: burst(0, failures, { status: 503 }) })
      const numWriters = 2
      const queueCapacity = 5
      const sink = r.sink({ transport, numWriters, queueCapacity, retries: 1000, backoff: { base: 1, max: 5 }, timeout: 5000 })
      const inside = watchInside(r.receiver, sink)
      const fed = await feed(sink, records(30))
      assert.equal(fed.error, undefined)
      const report = await account(t, r, fed)
      assert.equal(report.delivered, 30)
      assert.equal(r.receiver.requests.length, failures + 30, 'one request per answer received, none multiplied')
      assert.ok(r.receiver.maxActive <= numWriters, `server saw ${r.receiver.maxActive} concurrent requests`)
      assert.ok(inside.max <= queueCapacity, `stats showed ${inside.max} records inside`)
    })
  })
}
