/**
 * `signal` on createHttpTransform and replay, as on the writable: aborting stops at once and loses
 * nothing. The transform is destroyed with ERR_STREAM_DESTROYED whose `err.records` holds every
 * record not answered (each record written is either answered or there); replay rejects with the
 * signal's reason, acks what was delivered and leaves every other record in the store.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { createHttpTransform, replay } from '../lib/index.js'
import { openStore } from '../lib/stores/open-store.js'
import { envelopes, pass } from './helpers/store-contract.js'
import { gate, startReceiver, type Receiver } from './helpers/receiver.js'
import { TRANSPORTS } from './helpers/writable-harness.js'

const LIMIT = { timeout: 20_000 }
const id = (r: unknown): number => (r as { id?: number, i?: number }).id ?? (r as { i: number }).i

/** A receiver answering the first `answered` requests at once and holding the rest until the test ends. */
async function holdingAfter (t: TestContext, answered: number): Promise<Receiver> {
  const held = gate()
  const receiver = await startReceiver({ plan: (q) => q.seq < answered ? undefined : { status: 200, until: held.promise } })
  t.after(async () => { held.open(); await receiver.close() })
  return receiver
}

describe('createHttpTransform signal', LIMIT, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: abort with requests in flight → ERR_STREAM_DESTROYED; every record answered or in err.records`, async (t) => {
      const receiver = await holdingAfter(t, 10)
      const controller = new AbortController()
      const transform = createHttpTransform({ url: `${receiver.url}/lookup`, transport, capacity: 8, ordered: false, signal: controller.signal })
      const answers: unknown[] = []
      transform.on('data', (d) => answers.push(d))
      const failed = new Promise<Error & { code?: string, records?: unknown[] }>((resolve) => transform.once('error', resolve))
      const written = Array.from({ length: 40 }, (_, i) => ({ id: i }))
      for (const r of written) transform.write(r)
      await receiver.waitFor(() => receiver.requests.length >= 10 + 8 && receiver.active === 8)
      await new Promise<void>((resolve) => setImmediate(resolve))
      controller.abort()
      const err = await failed
      assert.equal(err.code, 'ERR_STREAM_DESTROYED')
      assert.equal(transform.destroyed, true)
      const reported = new Set((err.records ?? []).map(id))
      const answered = new Set(receiver.requests.filter((q) => q.outcome === 'answered').flatMap((q) => q.records.map(id)))
      t.diagnostic(`answered ${answers.length}, reported ${reported.size}, written ${written.length}; ${err.message}`)
      assert.equal(answers.length, 10)
      assert.equal(answered.size, 10)
      assert.equal(answers.length + reported.size, written.length, 'each record is answered or reported, once')
      for (const r of written) assert.ok(answered.has(r.id) !== reported.has(r.id), `record ${r.id} is answered or reported`)
      assert.equal((err.cause as Error).name, 'AbortError')
    })
  }

  it('an already-aborted signal destroys it at once; a signal that is not one is refused', async (t) => {
    const receiver = await startReceiver()
    t.after(() => receiver.close())
    const transform = createHttpTransform({ url: receiver.url, signal: AbortSignal.abort() })
    const err = await new Promise<Error & { code?: string, records?: unknown[] }>((resolve) => transform.once('error', resolve))
    assert.deepEqual([err.code, err.records], ['ERR_STREAM_DESTROYED', []])
    assert.equal(receiver.requests.length, 0)
    assert.throws(() => createHttpTransform({ url: receiver.url, signal: {} as AbortSignal }), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION' && /signal/.test(e.message))
  })
})

describe('replay signal', LIMIT, () => {
  it('abort mid-replay → rejects with the reason; the delivered are acked, every other record stays in the store', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'hsc-replay-signal-'))
    t.after(() => rm(root, { recursive: true, force: true }))
    const uri = `file:${join(root, 'failover')}`
    const put = openStore(uri)
    const stored = envelopes(100, 'sig')
    await put.put(stored)
    await put.close()
    const receiver = await holdingAfter(t, 30)
    const controller = new AbortController()
    const replaying = replay(uri, { url: `${receiver.url}/in`, numWriters: 4, retries: 0, batchSize: 50, signal: controller.signal })
    await receiver.waitFor(() => receiver.deliveredCount >= 30 && receiver.active === 4)
    controller.abort(new Error('operator stop'))
    await assert.rejects(replaying, /operator stop/)
    const check = openStore(uri)
    const left = await pass(check)
    await check.close()
    const leftIds = new Set(left.map((r) => id(r.envelope.record)))
    const delivered = [...receiver.delivered.keys()].map((k) => id(JSON.parse(k)))
    t.diagnostic(`delivered ${delivered.length}, left in the store ${leftIds.size} of ${stored.length}`)
    for (const e of stored) assert.ok(leftIds.has(id(e.record)) || delivered.includes(id(e.record)), `record ${id(e.record)} is delivered or still stored`)
    assert.equal(leftIds.size, stored.length - 30, 'the 30 delivered were acked; the rest stay')
    for (const r of left) assert.equal(r.envelope.attempts, stored.find((e) => id(e.record) === id(r.envelope.record))!.attempts, 'left as it was')

    // The next replay sends only what was left.
    const up = await startReceiver()
    t.after(() => up.close())
    const again = await replay(uri, { url: `${up.url}/in`, retries: 0 })
    assert.deepEqual([again.read, again.delivered], [70, 70])
  })

  it('an already-aborted signal rejects before anything is sent', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'hsc-replay-signal-'))
    t.after(() => rm(root, { recursive: true, force: true }))
    const uri = `file:${join(root, 'failover')}`
    const put = openStore(uri)
    await put.put(envelopes(5))
    await put.close()
    const receiver = await startReceiver()
    t.after(() => receiver.close())
    await assert.rejects(replay(uri, { url: receiver.url, signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError')
    assert.equal(receiver.requests.length, 0)
    const check = openStore(uri)
    assert.equal((await pass(check)).length, 5)
    await check.close()
  })
})
