/**
 * The checkpoint guarantees of createHttpWritable: `await sink.flush()` resolves only when every
 * record written before it is delivered or durably in failover (and does not wait for later ones);
 * 'finish' fires only after every record is delivered or stored, with stats() settled.
 * Runs against both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { firstRecord, gate, recordKey } from './helpers/receiver.js'
import type { ReceivedRequest, Receiver, Reply } from './helpers/receiver.js'
import { readFailoverDir } from './helpers/ledger.js'
import { account, FAST, feed, LIMIT, mergeFeeds, records, rig, settled, TRANSPORTS } from './helpers/writable-harness.js'

const POISON = { id: 4, tag: 'a' }

/** Poison answers 400 at once; the rest waits for the gate of its tag. */
function gatedPlan (gates: Record<string, Promise<void>>): (req: ReceivedRequest) => Reply | undefined {
  return (req) => {
    const rec = firstRecord(req)
    if (rec?.id === POISON.id && rec.tag === POISON.tag) return { status: 400 }
    const until = gates[String(rec?.tag)]
    return until === undefined ? undefined : { status: 200, until }
  }
}

const tagged = (r: Receiver, tag: string): number => r.requests.filter((q) => firstRecord(q)?.tag === tag).length

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable flush and finish (${transport})`, () => {
    it('flush() resolves once the records written before it are delivered or stored, not later ones', LIMIT, async (t) => {
      const a = gate()
      const b = gate()
      const r = await rig(t, { plan: gatedPlan({ a: a.promise, b: b.promise }) })
      t.after(() => { a.open(); b.open() })
      const sink = r.sink({ transport, numWriters: 32, ...FAST })
      const before = await feed(sink, records(10, 'a'), { end: false })
      let flushed = false
      const flushing = sink.flush().then(() => { flushed = true })
      const after = await feed(sink, records(10, 'b'), { end: false })
      await r.receiver.waitFor(() => tagged(r.receiver, 'a') === 10 && tagged(r.receiver, 'b') === 10)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(flushed, false, 'flush() resolved while records written before it were held by the server')
      a.open()
      await flushing
      for (const rec of records(10, 'a')) {
        if (rec.id === POISON.id) continue
        assert.equal(r.receiver.delivered.get(recordKey(rec)), 1, `record ${rec.id} delivered before flush() resolved`)
      }
      assert.deepEqual(r.envelopes().map((e) => e.record), [POISON], 'the poison record is durably stored before flush() resolved')
      const answeredB = r.receiver.requests.filter((q) => q.outcome === 'answered' && firstRecord(q)?.tag === 'b')
      assert.equal(answeredB.length, 0, 'flush() did not wait for records written after it')
      b.open()
      const last = await feed(sink, [])
      const report = await account(t, r, mergeFeeds([before, after, last]))
      assert.equal(report.delivered, 19)
    })

    it("'finish' fires only after every record is delivered or stored", LIMIT, async (t) => {
      const a = gate()
      const r = await rig(t, { plan: gatedPlan({ a: a.promise }) })
      t.after(a.open)
      const sink = r.sink({ transport, numWriters: 16, ...FAST })
      let atFinish: { delivered: number, stored: number, stats: ReturnType<typeof sink.stats> } | undefined
      sink.on('finish', () => {
        atFinish = { delivered: r.receiver.deliveredCount, stored: readFailoverDir(r.dir).length, stats: sink.stats() }
      })
      const fed = await feed(sink, records(10, 'a'), { end: false })
      sink.end()
      await r.receiver.waitFor(() => r.receiver.requests.length === 10)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(atFinish, undefined, "'finish' fired while requests were still held")
      a.open()
      fed.error ??= await settled(sink)
      assert.equal(fed.error, undefined)
      assert.deepEqual(atFinish, {
        delivered: 9,
        stored: 1,
        stats: { written: 10, delivered: 9, retried: 0, failedOver: 1, inFlight: 0, queued: 0 }
      })
      await account(t, r, fed)
    })
  })
}
