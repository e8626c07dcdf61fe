/**
 * A reader killed (SIGKILL, mid-stream) and restarted in the same group loses nothing: every offset
 * maps to one value, there is no gap, and the only records read twice are the killed reader's tail
 * after its last commit. The same reader runs against the memory and the kafka receivers.
 * A memory server killed and restarted under a reader has lost its topics and the group's offsets:
 * the reader neither hangs nor starts over, it errors with ERR_POSITION_LOST naming what happened.
 * (The kafka receiver's server restart, where offsets survive: http-readable-kafka-restart.test.ts.)
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { createHttpReadable, type HttpReadable } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { startServerProcess } from './helpers/server-process.js'
import { startServer } from './helpers/server-fixture.js'
import { killAndRestart, type RestartRun } from './helpers/server-restart.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const TOTAL = 300
const KILL_AFTER = 120

function check (t: TestContext, run: RestartRun): void {
  const seen = new Map<number, unknown>()
  for (const [offset, value] of [...run.first, ...run.second]) {
    if (seen.has(offset)) assert.deepEqual(value, seen.get(offset), `offset ${offset} maps to one value`)
    seen.set(offset, value)
    assert.deepEqual(value, { i: offset }, 'offsets follow the produce order')
  }
  assert.deepEqual([...seen.keys()].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i), 'no gap: every offset was read')
  const firstOffsets = run.first.map(([o]) => o)
  assert.deepEqual(firstOffsets, Array.from({ length: firstOffsets.length }, (_, i) => i), 'the first reader read in order from 0')
  const restartAt = run.second[0]?.[0] as number
  assert.equal(restartAt, run.committedAfterKill, 'the restarted reader starts at the committed offset')
  assert.ok(restartAt <= firstOffsets.length, 'the commit never ran ahead of what the reader had taken')
  const secondOffsets = run.second.map(([o]) => o)
  assert.deepEqual(secondOffsets, Array.from({ length: TOTAL - restartAt }, (_, i) => restartAt + i), 'the restarted reader reads on in order')
  const repeated = firstOffsets.length - restartAt
  t.diagnostic(`killed after ${firstOffsets.length} records; committed ${run.committedAfterKill}; ${repeated} read twice (the uncommitted tail)`)
}

async function produceAll (url: string, topic: string): Promise<void> {
  const client = new HttpStreamClient(url)
  try {
    for (let i = 0; i < TOTAL; i += 50) await client.produce(topic, Array.from({ length: 50 }, (_, k) => ({ i: i + k })))
  } finally {
    await client.close()
  }
}

describe('reader killed and restarted', () => {
  it('loses nothing on the memory receiver', async (t) => {
    const { url } = await startServer(t)
    await produceAll(url, 'restart')
    check(t, await killAndRestart(url, 'restart', 'readers', TOTAL, KILL_AFTER))
  })

  it('loses nothing on the kafka receiver', { timeout: 120_000 }, async (t) => {
    const kafka = await startKafkaMock(['restart:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, {
      receiver: `kafka://${kafka.brokers.join(',')}`,
      instanceTimeoutMs: 1000,
      kafka: { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500 }
    })
    t.after(() => kafka.stop()) // after hooks run in order: the server (and its kafkajs clients) close first
    await produceAll(url, 'restart')
    check(t, await killAndRestart(url, 'restart', 'readers', TOTAL, KILL_AFTER))
  })
})

/** Takes `n` records (metadata) without ending the reader. */
async function take (reader: HttpReadable, n: number): Promise<number[]> {
  const offsets: number[] = []
  while (offsets.length < n) {
    const r = reader.read() as { offset: number } | null
    if (r !== null) offsets.push(r.offset)
    else await Promise.race([once(reader, 'readable'), once(reader, 'error')])
  }
  return offsets
}

/** The reader's error, or a failure when none came within `ms` (a hang); and the records read meanwhile. */
async function errorWithin (reader: HttpReadable, ms: number): Promise<{ err: Error & { code?: string, reason?: string }, after: Array<{ offset: number, value: unknown }> }> {
  const after: Array<{ offset: number, value: unknown }> = []
  reader.on('data', (r: { offset: number, value: unknown }) => { after.push(r) })
  const timer = delay(ms).then(() => { throw new Error(`no error within ${ms} ms: the reader hangs (read ${after.length} records meanwhile)`) })
  const [err] = await Promise.race([once(reader, 'error'), timer]) as [Error]
  return { err, after }
}

describe('memory server killed and restarted under a reader', () => {
  // The reader takes 51 records over many small fetches, committing what it took before each one.
  // Its buffer then fills and it stops fetching, so the restart happens while it waits; taking its
  // buffered records makes it fetch again, from the new server.
  async function readThenRestart (t: TestContext, produceAfter: boolean): Promise<Error & { code?: string, reason?: string }> {
    const server = await startServerProcess(t)
    const client = new HttpStreamClient(server.url)
    t.after(() => client.close())
    await client.produce('lost', Array.from({ length: 60 }, (_, i) => ({ i })))
    const reader = createHttpReadable(server.url, { topic: 'lost', groupId: 'g', withMetadata: true, maxBytes: 64, highWaterMark: 4, pollTimeout: 200, reconnectMs: 20_000 })
    t.after(() => { reader.destroy() })
    assert.deepEqual(await take(reader, 51), Array.from({ length: 51 }, (_, i) => i))
    while (reader.readableLength < 4) await delay(10)
    await server.kill()
    await server.start()
    if (produceAfter) await client.produce('lost', Array.from({ length: 10 }, (_, i) => ({ fresh: i })))
    const { err, after } = await errorWithin(reader, 25_000)
    t.diagnostic(`${after.length} buffered records read after the restart (offsets ${after[0]?.offset}..${after.at(-1)?.offset}); then ${err.code}: ${err.message}`)
    for (const r of after) assert.deepEqual(r.value, { i: r.offset }, 'only records the reader had from the first server: no start over')
    assert.ok(after.length >= 4 && after[0]?.offset === 51, 'the buffered records were still delivered')
    if (!reader.closed) await once(reader, 'close')
    // The reader committed nothing to the restarted server's group (it would skip the new records).
    const probe = await client.subscribe([], { groupId: 'g' })
    assert.deepEqual(await client.committed(probe, [{ topic: 'lost', partition: 0 }]), [], 'no commit reached the new server')
    await client.unsubscribe(probe)
    return err
  }

  it('errors with ERR_POSITION_LOST (topic-gone) when the topic is gone', { timeout: 60_000 }, async (t) => {
    const err = await readThenRestart(t, false)
    assert.equal(err.code, 'ERR_POSITION_LOST', err.message)
    assert.equal(err.reason, 'topic-gone')
  })

  it('errors with ERR_POSITION_LOST (offsets-lost) when the topic was re-made but the offsets are gone', { timeout: 60_000 }, async (t) => {
    const err = await readThenRestart(t, true)
    assert.equal(err.code, 'ERR_POSITION_LOST', err.message)
    assert.equal(err.reason, 'offsets-lost')
    const { committed, serverCommitted } = err as { committed?: number, serverCommitted?: number }
    assert.ok(committed !== undefined && committed > 0 && committed <= 51, `the reader's commit is named (${committed})`)
    assert.equal(serverCommitted, undefined, 'the restarted server has no offset for the group')
  })
})
