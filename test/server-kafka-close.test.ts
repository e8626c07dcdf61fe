/**
 * A Kafka-receiver consumer instance that subscribed but never polled long enough to join its group
 * (kafkajs is still in its first join when the server closes). kafkajs' disconnect does not stop a
 * join under way: the member used to join anyway and stay in the group for good, holding partitions
 * nobody read (and keeping the process alive). Now close finishes within a bounded time, the member
 * leaves as soon as its join ends, nothing is committed, and a new member gets every partition and
 * reads every record from the start.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { call, consumer, produce, startServer, V2_JSON } from './helpers/server-fixture.js'
import { createHttpStreamServer } from '../lib/server/server.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 1000, requestTimeout: 5000 }
const TOPIC = 'kclose'
const N = 20

describe('kafka receiver: close while an instance is still joining its group', () => {
  it('closes within a bounded time and leaves the group: a new member reads every record, none committed', { timeout: 60_000 }, async (t) => {
    const kafka = await startKafkaMock([`${TOPIC}:2`])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    const receiver = `kafka://${kafka.brokers.join(',')}`
    const first = createHttpStreamServer({ receiver, kafka: KAFKA })
    await first.listen()
    const produced = await produce(first.url, TOPIC, Array.from({ length: N }, (_, i) => ({ i })))
    assert.equal(produced.status, 200, produced.text)
    const partitions = new Set(produced.json.offsets.map((o: { partition: number }) => o.partition))
    assert.equal(partitions.size, 2, 'the records are spread over both partitions')
    await consumer(first.url, 'closing-group', 'early', [TOPIC])
    // No poll: the instance's kafkajs member is in its first join when the server closes.
    const started = Date.now()
    const closed = await Promise.race([first.close().then(() => true), delay(20_000).then(() => false)])
    const closeMs = Date.now() - started
    assert.ok(closed, 'server.close() finished within 20 s')

    const second = await startServer(t, { receiver, kafka: KAFKA })
    const path = await consumer(second.url, 'closing-group', 'late', [TOPIC])
    const committed = await call(second.url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: TOPIC, partition: 0 }, { topic: TOPIC, partition: 1 }] }, type: 'application/vnd.kafka.v2+json' })
    assert.deepEqual(committed.json.offsets, [], 'the closed instance committed nothing')
    const seen = new Map<number, number>()
    const waitStarted = Date.now()
    // The new member joins once the old one has left (the mock stalls each rebalance about a session timeout).
    while (seen.size < N && Date.now() - waitStarted < 40_000) {
      const got = await call(second.url, 'GET', `${path}/records?timeout=500`, { headers: { accept: V2_JSON } })
      assert.equal(got.status, 200, got.text)
      for (const r of got.json as Array<{ value: { i: number } }>) seen.set(r.value.i, (seen.get(r.value.i) ?? 0) + 1)
    }
    t.diagnostic(`close took ${closeMs} ms with a member still joining; the next member read ${seen.size}/${N} records in ${Date.now() - waitStarted} ms`)
    assert.equal(seen.size, N, 'the new member got every partition: the closed instance left the group')
  })
})
