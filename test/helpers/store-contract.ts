/**
 * The Store contract, checked the same way for every store: envelopes survive a put/read round trip
 * field for field; acked ones are never read again; retained ones come back with the updated
 * envelope; a pass after everything is acked reads nothing.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { FailoverEnvelope, Store, StoredRecord } from '../../lib/stores/store.js'
import { recordKey } from './receiver.js'

/** An envelope whose record carries text that breaks naive SQL, JSON or shell quoting. */
export function envelope (i: number, tag = 'r'): FailoverEnvelope {
  return {
    record: { i, tag, text: `it's "quoted" \\ back; DROP TABLE x; -- ünï ✓` },
    url: `http://127.0.0.1:9/ingest?i=${i}`,
    method: 'POST',
    attempts: 4,
    status: i % 3 === 0 ? null : 503,
    error: i % 3 === 0 ? 'connect ECONNREFUSED 127.0.0.1:9' : 'unexpected status 503',
    failedAt: 1_700_000_000_000 + i,
    // Some carry the key of their request, as envelopes of a sink with `idempotencyKey` do.
    ...(i % 4 === 0 ? { idempotencyKey: `key-${i}` } : {})
  }
}

export const envelopes = (n: number, tag = 'r', from = 0): FailoverEnvelope[] => Array.from({ length: n }, (_, k) => envelope(from + k, tag))

export type Settle = (batch: StoredRecord[]) => { ack: StoredRecord[], retain: StoredRecord[] }

/** One replay pass: reads every batch and settles it as `settle` says (default: ack nothing). */
export async function pass (store: Store, settle?: Settle, batchSize = 100): Promise<StoredRecord[]> {
  const seen: StoredRecord[] = []
  for await (const batch of store.read({ batchSize })) {
    assert.ok(batch.length > 0 && batch.length <= batchSize, `batch of ${batch.length} (batchSize ${batchSize})`)
    seen.push(...batch)
    if (settle === undefined) continue
    const { ack, retain } = settle(batch)
    await store.ack(ack.map((r) => r.id))
    await store.retain(retain)
  }
  return seen
}

/** Acks everything: the pass that empties a store. */
export const ackAll: Settle = (batch) => ({ ack: batch, retain: [] })

export const keyOf = (r: StoredRecord | FailoverEnvelope): string => recordKey('envelope' in r ? r.envelope.record : r.record)

/** Asserts every envelope put comes back once or more; returns the number of duplicates. */
export function assertHolds (stored: readonly StoredRecord[], expected: readonly FailoverEnvelope[]): number {
  const byKey = new Map<string, FailoverEnvelope>()
  for (const r of stored) byKey.set(keyOf(r), r.envelope)
  for (const e of expected) {
    const got = byKey.get(keyOf(e))
    assert.ok(got !== undefined, `envelope ${keyOf(e)} is missing from the store`)
    assert.deepEqual(got, e)
  }
  assert.equal(new Set(stored.map((r) => r.id)).size, stored.length, 'ids are unique')
  return stored.length - byKey.size
}

/** put → read → ack some, retain the others updated → read only the retained → ack → read nothing. */
export async function checkRoundTrip (t: TestContext, store: Store, n = 60): Promise<void> {
  const written = envelopes(n)
  await store.put(written.slice(0, n / 2))
  await store.put(written.slice(n / 2))
  await store.put([])
  const retainedKeys = new Set<string>()
  const updated = (r: StoredRecord): StoredRecord => ({
    id: r.id,
    envelope: { ...r.envelope, attempts: r.envelope.attempts + 1, status: 500, error: 'failed again on replay', failedAt: r.envelope.failedAt + 1 }
  })
  const first = await pass(store, (batch) => {
    const retain = batch.filter((r) => (r.envelope.record as { i: number }).i % 4 === 0)
    for (const r of retain) retainedKeys.add(keyOf(r))
    return { ack: batch.filter((r) => !retain.includes(r)), retain: retain.map(updated) }
  }, 16)
  const duplicates = assertHolds(first, written)
  t.diagnostic(`first pass: ${first.length} read, ${retainedKeys.size} retained, ${duplicates} duplicate(s)`)
  assert.equal(retainedKeys.size, Math.ceil(n / 4))

  const second = await pass(store, ackAll)
  assert.deepEqual(new Set(second.map(keyOf)), retainedKeys, 'only the retained envelopes come back')
  for (const r of second) {
    const original = written.find((e) => keyOf(e) === keyOf(r))!
    assert.deepEqual(r.envelope, { ...original, attempts: original.attempts + 1, status: 500, error: 'failed again on replay', failedAt: original.failedAt + 1 })
  }
  const third = await pass(store)
  assert.deepEqual(third, [], 'nothing is read again once acked')
}

/** How a test reaches a store's server-side replay lock directly. */
export interface LockAccess {
  plant: (content: string) => void
  exists: () => boolean
}

/**
 * The server-side replay lock: held while a read runs and gone after it; a live lock planted by
 * "another replayer" refuses read() with ERR_STORE_LOCKED naming it; an expired one (a replayer
 * that died) is taken over and the read goes on.
 */
export async function checkReplayLock (t: TestContext, store: Store, lock: LockAccess): Promise<void> {
  const written = envelopes(5, 'lock')
  await store.put(written)
  const seen: StoredRecord[] = []
  for await (const batch of store.read({ batchSize: 2 })) {
    assert.ok(lock.exists(), 'the lock is held while the read runs')
    seen.push(...batch)
  }
  assert.equal(seen.length, written.length)
  assert.ok(!lock.exists(), 'the lock is gone once the read ended')

  lock.plant(JSON.stringify({ owner: 'pid 4242@elsewhere', token: 'other', expiresAt: Date.now() + 60_000 }))
  await assert.rejects(pass(store), (err: Error & { code?: string }) => err.code === 'ERR_STORE_LOCKED' && err.message.includes('pid 4242@elsewhere'))
  assert.ok(lock.exists(), 'a refused read leaves the holder\'s lock alone')

  lock.plant(JSON.stringify({ owner: 'pid 4343@crashed', token: 'dead', expiresAt: Date.now() - 1 }))
  const after = await pass(store, ackAll)
  assertHolds(after, written)
  assert.ok(!lock.exists(), 'the taken-over lock is released at the end')
  t.diagnostic(`read ${seen.length} under the lock; live lock refused; expired lock taken over, ${after.length} read`)
}
