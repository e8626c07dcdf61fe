/**
 * createHttpWritable failover: permanent 4xx and 501 go to the store at once (one attempt, no
 * retry); a poison record goes alone while the rest is delivered; a store that cannot store errors
 * the stream with ERR_FAILOVER_STORE and the records it did not store; `failover: false` errors
 * with ERR_DELIVERY_FAILED. Runs against both transports.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { poison } from './helpers/receiver.js'
import { account, assertEnvelopes, deliver, FAST, feed, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'

const isOdd = (r: Record<string, unknown>): boolean => Number(r.id) % 2 === 1

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable failover (${transport})`, () => {
    for (const status of [400, 404, 501]) {
      it(`sends records answered ${status} to failover at once: one attempt, no retry`, LIMIT, async (t) => {
        const r = await rig(t, { plan: () => ({ status, body: `{"why":"no ${status}"}` }) })
        const { sink, events, report } = await deliver(t, r, { transport, numWriters: 2, retries: 5, ...FAST }, records(5))
        assert.equal(report.stored, 5)
        assert.equal(r.receiver.requests.length, 5, 'no request was repeated')
        assert.equal(events.retry.length, 0)
        assert.ok(events.failover.length >= 1)
        assertEnvelopes(r, 5, { attempts: 1, status, error: new RegExp(`${status}.*no ${status}`) })
        assert.deepEqual(sink.stats(), { written: 5, delivered: 0, retried: 0, failedOver: 5, inFlight: 0, queued: 0 })
      })
    }

    it('fails over only the poison record and delivers the rest', LIMIT, async (t) => {
      const r = await rig(t, { plan: poison((rec) => rec.id === 7) })
      const { report } = await deliver(t, r, { transport, numWriters: 4, ...FAST }, records(20))
      assert.deepEqual(r.envelopes().map((e) => e.record), [{ id: 7, tag: 'r' }])
      assert.equal(report.delivered, 19)
      assert.equal(r.receiver.delivered.has(JSON.stringify({ id: 7, tag: 'r' })), false)
    })

    it('errors with ERR_FAILOVER_STORE and err.records when the store cannot store', LIMIT, async (t) => {
      const r = await rig(t, { plan: poison(isOdd) })
      const blocker = join(r.dir, '..', 'a-file')
      await writeFile(blocker, 'not a directory')
      const sink = r.sink({ transport, failover: `file:${join(blocker, 'failover')}`, numWriters: 4, ...FAST })
      const fed = await feed(sink, records(20))
      assert.equal(fed.error?.code, 'ERR_FAILOVER_STORE', `got ${String(fed.error)}`)
      assert.ok(Array.isArray(fed.error.records) && fed.error.records.length > 0, 'the error carries the records not stored')
      const report = await account(t, r, fed)
      const odd = fed.written.filter((rec) => isOdd(rec as Record<string, unknown>))
      const missing = odd.filter((rec) => !fed.error!.records!.some((e) => JSON.stringify(e) === JSON.stringify(rec)) &&
        !fed.rejected.includes(rec))
      assert.deepEqual(missing, [], 'every record the endpoint refused is in err.records (or was refused to the writer)')
      assert.equal(report.stored, 0)
    })

    it('errors with ERR_DELIVERY_FAILED and err.records when failover is false', LIMIT, async (t) => {
      const r = await rig(t, { plan: poison((rec) => rec.id === 3) })
      const sink = r.sink({ transport, failover: false, numWriters: 2, ...FAST })
      const fed = await feed(sink, records(10))
      assert.equal(fed.error?.code, 'ERR_DELIVERY_FAILED', `got ${String(fed.error)}`)
      assert.ok(fed.error.records?.some((rec) => JSON.stringify(rec) === JSON.stringify({ id: 3, tag: 'r' })), 'err.records holds the refused record')
      assert.match(fed.error.message, /400/)
      await account(t, r, fed)
    })
  })
}
