/**
 * `signal`: aborting destroys the sink as destroy() does: every written record is delivered or in
 * the failover store (nothing lost); a signal already aborted at construction destroys at once; a
 * value that is not an AbortSignal is refused. Both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHttpWritable } from '../lib/index.js'
import { gate } from './helpers/receiver.js'
import { account, feed, LIMIT, records, rig, settled, TRANSPORTS } from './helpers/writable-harness.js'

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable signal (${transport})`, () => {
    it('abort mid-stream: every record delivered or stored', LIMIT, async (t) => {
      const held = gate()
      const r = await rig(t, { plan: (req) => req.seq < 10 ? undefined : { status: 200, until: held.promise } })
      t.after(held.open)
      const controller = new AbortController()
      const sink = r.sink({ transport, numWriters: 4, timeout: 2000, backoff: { base: 5, max: 50 }, signal: controller.signal })
      const fed = await feed(sink, records(200), { end: false })
      await r.receiver.waitFor(() => r.receiver.deliveredCount >= 10 && r.receiver.active === 4)
      const inside = sink.stats()
      assert.ok(inside.inFlight + inside.queued > 0, 'records were inside the sink when the signal fired')
      controller.abort()
      assert.equal(sink.destroyed, true)
      // As destroy(): 'close' without 'error' (finished() calls that a premature close).
      assert.equal((await settled(sink) as { code?: string } | undefined)?.code, 'ERR_STREAM_PREMATURE_CLOSE')
      held.open()
      const report = await account(t, r, fed)
      t.diagnostic(`at abort: ${JSON.stringify(inside)}; after: ${JSON.stringify(sink.stats())}`)
      assert.equal(fed.error, undefined)
      assert.equal(report.lost, 0)
      assert.equal(report.delivered + report.stored >= 200, true)
      assert.ok(report.stored >= inside.inFlight + inside.queued - 4, 'the records inside went to failover')
      assert.ok(r.envelopes().every((e) => /stream destroyed before delivery/.test(e.error ?? '')))
    })

    it('an already-aborted signal destroys the sink at once', LIMIT, async (t) => {
      const r = await rig(t)
      const sink = r.sink({ transport, signal: AbortSignal.abort() })
      assert.equal(sink.destroyed, true)
      const fed = await feed(sink, records(3))
      assert.equal(fed.written.length, 0)
      assert.equal((await settled(sink) as { code?: string } | undefined)?.code, 'ERR_STREAM_PREMATURE_CLOSE')
      assert.equal(fed.error, undefined)
      assert.equal(r.receiver.requests.length, 0)
    })

    it('after a normal end, aborting does nothing', LIMIT, async (t) => {
      const r = await rig(t)
      const controller = new AbortController()
      const sink = r.sink({ transport, signal: controller.signal })
      const fed = await feed(sink, records(20))
      controller.abort()
      assert.equal((await account(t, r, fed)).delivered, 20)
      assert.equal(r.envelopes().length, 0)
    })
  })
}

describe('createHttpWritable signal option', () => {
  it('refuses what is not an AbortSignal', () => {
    for (const signal of [{}, 'abort', new AbortController()]) {
      assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, signal: signal as AbortSignal }), (err: Error & { code?: string, field?: string }) => {
        assert.equal(err.code, 'ERR_INVALID_OPTION')
        assert.equal(err.field, 'signal')
        return true
      })
    }
  })
})
