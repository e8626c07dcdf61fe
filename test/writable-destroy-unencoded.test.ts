/**
 * The batcher takes records before it encodes them (in runs). destroy() while it still holds a run,
 * one of whose records JSON cannot hold: every record lands in the real FileStore exactly once (the
 * bad one as its JSON-safe copy, its envelope naming both the destroy and the encoding error), none
 * is sent, none is stored twice.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LIMIT, records, rig, settled } from './helpers/writable-harness.js'

test('destroy() with unencoded records in the batcher, one of them unencodable: each stored once, none sent', LIMIT, async (t) => {
  const r = await rig(t)
  // lingerMs and maxRecords far away, and fewer records than a run: nothing is encoded before destroy().
  const sink = r.sink({ encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 60_000 } })
  const good = records(60)
  for (const record of good.slice(0, 30)) sink.write(record)
  sink.write({ id: 'bad', n: 10n })
  for (const record of good.slice(30)) sink.write(record)
  assert.equal(sink.stats().inFlight, 0)
  assert.equal(sink.stats().queued, 61, 'all 61 records are inside, none sent')
  sink.destroy()
  await settled(sink)
  assert.equal(sink.errored, null, 'destroyed without an error: everything was stored')

  const envelopes = r.envelopes()
  const ids = envelopes.map((e) => (e.record as { id: number | string }).id)
  t.diagnostic(`stored ${envelopes.length}, sent ${r.receiver.deliveredCount}`)
  assert.equal(r.receiver.deliveredCount, 0)
  assert.equal(envelopes.length, 61, 'each record stored once')
  assert.equal(new Set(ids).size, 61, 'no record stored twice')
  assert.deepEqual(ids.filter((id) => id !== 'bad').sort((a, b) => Number(a) - Number(b)), good.map((g) => g.id))
  const bad = envelopes.find((e) => (e.record as { id: unknown }).id === 'bad')!
  assert.deepEqual(bad.record, { id: 'bad', n: '10' }, 'the BigInt kept as its digits')
  assert.match(bad.error ?? '', /^stream destroyed before delivery \(last: .*BigInt cannot be encoded as JSON/)
  assert.equal(sink.stats().failedOver, 61)
})
