/**
 * Batch encodings `ndjson` and `json-array` with `batch: { maxRecords, maxBytes, lingerMs }`:
 * no request body exceeds maxBytes nor holds more than maxRecords; a record larger than maxBytes
 * alone goes to failover with a clear error; lingerMs (and flush()) send a partial batch.
 * Runs against both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { account, deliver, FAST, feed, LIMIT, mergeFeeds, rig, TRANSPORTS } from './helpers/writable-harness.js'

const ENCODINGS = [
  { encoding: 'ndjson', contentType: 'application/x-ndjson' },
  { encoding: 'json-array', contentType: 'application/json' }
] as const

const padded = (n: number, pad = 8): Array<{ id: number, pad: string }> => Array.from({ length: n }, (_, id) => ({ id, pad: 'x'.repeat(pad) }))

for (const transport of TRANSPORTS) {
  for (const { encoding, contentType } of ENCODINGS) {
    describe(`createHttpWritable ${encoding} batches (${transport})`, () => {
      it('keeps every request within maxRecords and maxBytes and delivers all', LIMIT, async (t) => {
        const r = await rig(t)
        const batch = { maxRecords: 10, maxBytes: 200, lingerMs: 5 }
        const small = padded(50, 0)
        const large = padded(45, 20).map((x) => ({ ...x, id: x.id + 50 }))
        const { sink, report } = await deliver(t, r, { encoding, batch, transport, numWriters: 4, ...FAST }, [...small, ...large])
        assert.equal(report.delivered, 95)
        assert.equal(report.stored, 0)
        const sizes = r.receiver.requests.map((q) => Buffer.byteLength(q.body))
        t.diagnostic(`${sizes.length} requests, largest body ${Math.max(...sizes)} bytes, most records ${Math.max(...r.receiver.requests.map((q) => q.records.length))}`)
        for (const q of r.receiver.requests) {
          assert.ok(Buffer.byteLength(q.body) <= batch.maxBytes, `a body of ${Buffer.byteLength(q.body)} bytes`)
          assert.ok(q.records.length <= batch.maxRecords, `a request of ${q.records.length} records`)
          assert.equal(q.headers['content-type'], contentType)
        }
        assert.equal(Math.max(...r.receiver.requests.map((q) => q.records.length)), batch.maxRecords, 'small records fill batches up to maxRecords')
        assert.deepEqual(sink.stats(), { written: 95, delivered: 95, retried: 0, failedOver: 0, inFlight: 0, queued: 0 })
      })

      it('sends a record larger than maxBytes to failover with a clear error, and the rest', LIMIT, async (t) => {
        const r = await rig(t)
        const big = { id: 999, pad: 'y'.repeat(500) }
        const items = [...padded(5), big, ...padded(5).map((x) => ({ ...x, id: x.id + 5 }))]
        const { report } = await deliver(t, r, { encoding, batch: { maxRecords: 10, maxBytes: 200, lingerMs: 5 }, transport, ...FAST }, items)
        const envelopes = r.envelopes()
        assert.deepEqual(envelopes.map((e) => e.record), [big])
        assert.match(envelopes[0]?.error ?? '', /maxBytes|too large|exceeds/i)
        assert.equal(envelopes[0]?.attempts, 0, 'never sent')
        assert.equal(report.delivered, 10)
      })

      it('sends a partial batch after lingerMs without end(), and on flush()', LIMIT, async (t) => {
        const r = await rig(t)
        const lingering = r.sink({ url: `${r.receiver.url}/linger`, encoding, batch: { maxRecords: 100, maxBytes: 100_000, lingerMs: 20 }, transport, ...FAST })
        const parts = [await feed(lingering, padded(3), { end: false })]
        await r.receiver.waitFor(() => r.receiver.deliveredCount === 3)
        assert.deepEqual(r.receiver.requests.map((q) => q.records.length), [3], 'one request carried the partial batch')
        parts.push(await feed(lingering, []))
        const flushing = r.sink({ url: `${r.receiver.url}/flush`, encoding, batch: { maxRecords: 100, maxBytes: 100_000, lingerMs: 600_000 }, transport, ...FAST })
        const more = padded(4).map((x) => ({ ...x, id: x.id + 100 }))
        parts.push(await feed(flushing, more, { end: false }))
        await flushing.flush()
        assert.equal(r.receiver.deliveredCount, 7, 'flush() sent the partial batch without waiting for lingerMs')
        parts.push(await feed(flushing, []))
        await account(t, r, mergeFeeds(parts))
      })
    })
  }
}
