/**
 * createHttpReadable: values in order, `from` (earliest, latest, offset, timestamp — only for a group
 * without commits), includeTimestamp / withMetadata, fetching only on demand (no fetch while the
 * buffer is full), commits of exactly what the consumer took, deleting its instance on destroy,
 * recovering an expired instance, and an unreachable server (options: http-readable-options.test.ts).
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { createHttpReadable, type HttpReadable } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import type { ConsumerOptions, ReceiverConsumer } from '../lib/server/receivers/receiver.js'
import { MemoryReceiver } from '../lib/server/receivers/memory.js'
import { call, startServer } from './helpers/server-fixture.js'

/** A memory receiver that counts polls: each poll is one fetch by a reader. */
class CountingReceiver extends MemoryReceiver {
  polls = 0
  override async createConsumer (options: ConsumerOptions): Promise<ReceiverConsumer> {
    const consumer = await super.createConsumer(options)
    const poll = consumer.poll.bind(consumer)
    consumer.poll = async (o) => {
      this.polls++
      return await poll(o)
    }
    return consumer
  }
}

async function seed (url: string, topic: string, values: unknown[]): Promise<void> {
  const c = new HttpStreamClient(url)
  await c.produce(topic, values)
  await c.close()
}

async function take (reader: HttpReadable, n: number): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const v of reader) {
    out.push(v)
    if (out.length >= n) break
  }
  return out
}

async function committed (url: string, group: string, topic: string): Promise<number | undefined> {
  const c = new HttpStreamClient(url)
  const sub = await c.subscribe([], { groupId: group })
  const got = await c.committed(sub, [{ topic, partition: 0 }])
  await c.unsubscribe(sub)
  await c.close()
  return got[0]?.offset
}

/** Waits (checking every 10 ms) until `cond` holds; the test's own timeout bounds it. */
async function until (cond: () => boolean): Promise<void> {
  while (!cond()) await delay(10)
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i)

describe('createHttpReadable', () => {
  it('reads values in order; a second reader of the group resumes after what the first took', async (t) => {
    const { url } = await startServer(t)
    await seed(url, 'r', range(30))
    assert.deepEqual(await take(createHttpReadable(url, { topic: 'r', groupId: 'g', maxBytes: 8 }), 12), range(12))
    assert.equal(await committed(url, 'g', 'r'), 12, 'committed exactly what was taken')
    assert.deepEqual(await take(createHttpReadable(url, { topic: 'r', groupId: 'g' }), 18), range(18, 12))
  })

  it("honours from 'latest', { offset } and { timestamp } for a group without commits only", async (t) => {
    const { url } = await startServer(t)
    await seed(url, 'f', range(5))
    const latest = createHttpReadable(url, { topic: 'f', groupId: 'late', from: 'latest' })
    const reading = take(latest, 2)
    await delay(100)
    await seed(url, 'f', [5, 6])
    assert.deepEqual(await reading, [5, 6])
    assert.deepEqual(await take(createHttpReadable(url, { topic: 'f', groupId: 'off', from: { offset: 3 } }), 2), [3, 4])
    assert.deepEqual(await take(createHttpReadable(url, { topic: 'f', groupId: 'off', from: { offset: 0 } }), 1), [5], 'a commit wins over from')
    const before = Date.now()
    await delay(5)
    await seed(url, 'f', [7])
    assert.deepEqual(await take(createHttpReadable(url, { topic: 'f', groupId: 'ts', from: { timestamp: new Date(before + 1) } }), 1), [7])
  })

  it('adds the timestamp under timestampField, or emits records with metadata', async (t) => {
    const { url } = await startServer(t)
    await seed(url, 'm', [{ a: 1 }, 'text'])
    const stamped = await take(createHttpReadable(url, { topic: 'm', groupId: 'a', includeTimestamp: true, timestampField: 'ts' }), 2) as Array<Record<string, unknown>>
    assert.equal(stamped[0]?.a, 1)
    assert.equal(typeof stamped[0]?.ts, 'number')
    assert.deepEqual(Object.keys(stamped[1] ?? {}), ['value', 'ts'])
    const [meta] = await take(createHttpReadable(url, { topic: 'm', groupId: 'b', withMetadata: true }), 1) as Array<Record<string, unknown>>
    assert.deepEqual({ ...meta, timestamp: 0 }, { topic: 'm', partition: 0, offset: 0, key: null, value: { a: 1 }, timestamp: 0 })
  })

  it('fetches only when the consumer wants more: none while its buffer is full', async (t) => {
    const receiver = new CountingReceiver()
    t.after(() => receiver.close())
    const { url } = await startServer(t, { receiver })
    await seed(url, 'bp', range(50))
    const reader = createHttpReadable(url, { topic: 'bp', groupId: 'g', highWaterMark: 5, maxBytes: 1, pollTimeout: 50 })
    t.after(() => { reader.destroy() })
    assert.equal(receiver.polls, 0, 'nothing is fetched before anyone reads')
    reader.read(0)
    await until(() => reader.readableLength >= 5)
    await delay(300)
    assert.equal(receiver.polls, 5, 'one fetch per buffered record (max_bytes 1), then none while full')
    assert.equal(reader.readableLength, 5)
    for (let i = 0; i < 3; i++) reader.read()
    await until(() => receiver.polls > 5)
    assert.ok(receiver.polls > 5, 'taking records resumed fetching')
  })

  it('commits only what the consumer took, not what sits in its buffer, and deletes its instance on destroy', async (t) => {
    const { url } = await startServer(t)
    await seed(url, 'c', range(40))
    const reader = createHttpReadable(url, { topic: 'c', groupId: 'g', highWaterMark: 20 })
    reader.read(0)
    await until(() => reader.readableLength >= 20)
    for (let i = 0; i < 7; i++) assert.equal(reader.read(), i)
    assert.equal((await call(url, 'GET', '/healthz')).json.consumers, 1)
    reader.destroy()
    await once(reader, 'close')
    assert.equal(await committed(url, 'g', 'c'), 7)
    assert.equal((await call(url, 'GET', '/healthz')).json.consumers, 0, 'the consumer instance was deleted')
  })

  it('with autoCommit false commits only on commit()', async (t) => {
    const { url } = await startServer(t)
    await seed(url, 'm', range(5))
    const reader = createHttpReadable(url, { topic: 'm', groupId: 'manual', autoCommit: false, highWaterMark: 2 })
    reader.read(0)
    await until(() => reader.readableLength >= 2)
    reader.read()
    reader.read()
    await reader.commit()
    reader.read()
    reader.destroy()
    await once(reader, 'close')
    assert.equal(await committed(url, 'manual', 'm'), 2)
  })

  it('recreates its consumer instance when the server expired it, without a gap', async (t) => {
    const { url } = await startServer(t, { instanceTimeoutMs: 100 })
    await seed(url, 'x', range(10))
    const reader = createHttpReadable(url, { topic: 'x', groupId: 'g', highWaterMark: 3, maxBytes: 1 })
    const got: unknown[] = []
    for await (const v of reader) {
      got.push(v)
      if (got.length === 4) {
        for (let i = 0; i < 200 && (await call(url, 'GET', '/healthz')).json.consumers > 0; i++) await delay(25)
      }
      if (v === 9) break
    }
    const unique = [...new Set(got)]
    assert.deepEqual(unique, range(10), 'every value, in order (a repeat of uncommitted ones is allowed)')
    t.diagnostic(`${got.length - unique.length} value(s) read twice after the instance expired`)
  })

  it('retries an unreachable server with backoff for reconnectMs, then errors saying so', async (t) => {
    const reader = createHttpReadable('http://127.0.0.1:1', { topic: 't', reconnectMs: 600 })
    const waits: number[] = []
    reader.on('reconnect', (e: { delayMs: number }) => { waits.push(e.delayMs) })
    const [err] = await once(reader, 'error') as [Error & { code: string, status: number | null }]
    t.diagnostic(`${waits.length} retries (waits ${waits.join(', ')} ms), then: ${err.message}`)
    assert.equal(err.code, 'ERR_STREAM_SERVER')
    assert.equal(err.status, null)
    assert.ok(waits.length >= 1, 'it retried before giving up')
    assert.match(err.message, /still failing after \d+ attempts over reconnectMs 600 ms/)
  })

  it('errors at once on a refusal that retrying cannot help (401)', async (t) => {
    const { url } = await startServer(t, { auth: { token: 'secret' } })
    const reader = createHttpReadable(url, { topic: 't' })
    let retries = 0
    reader.on('reconnect', () => { retries++ })
    const [err] = await once(reader, 'error') as [Error & { status: number }]
    assert.deepEqual([err.status, retries], [401, 0])
  })

  it('errors when the server cannot be reached (reconnectMs 0: no retry)', async () => {
    const reader = createHttpReadable('http://127.0.0.1:1', { topic: 't', reconnectMs: 0 })
    const [err] = await once(reader, 'error') as [Error & { code: string }]
    assert.equal(err.code, 'ERR_STREAM_SERVER')
  })
})
