/**
 * A reader killed (SIGKILL, mid-stream) and restarted in the same group loses nothing: every offset
 * maps to one value, there is no gap, and the only records read twice are the killed reader's tail
 * after its last commit. The same reader runs against the memory and the kafka receivers.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
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
