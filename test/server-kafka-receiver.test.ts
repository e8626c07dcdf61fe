/**
 * The kafka receiver (kafkajs) behind the server, on librdkafka's mock cluster: produce answers with
 * broker offsets only once the broker acked (a broker that is down gives a retriable 500, not a
 * false 200), topics and partitions, consumer instances reading, committing and seeking through the
 * Kafka REST API, 501 for schemas, and lag in /metrics.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, produce, startServer, V2, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

/** Polls records until `n` came (the first poll waits for the group join). */
async function records (url: string, path: string, n: number): Promise<any[]> {
  const out: any[] = []
  for (let i = 0; i < 60 && out.length < n; i++) {
    const got = await call(url, 'GET', `${path}/records?timeout=500`, { headers: { accept: V2_JSON } })
    assert.equal(got.status, 200, got.text)
    out.push(...got.json)
  }
  return out
}

describe('kafka receiver', { timeout: 120_000 }, () => {
  it('produces with broker offsets, lists and describes topics', async (t) => {
    const kafka = await startKafkaMock(['k1:1', 'k3:3'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    const a = await produce(url, 'k1', [{ n: 0 }, { n: 1 }, { n: 2 }])
    assert.equal(a.status, 200, a.text)
    assert.deepEqual(a.json.offsets.map((o: any) => [o.partition, o.offset]), [[0, 0], [0, 1], [0, 2]])
    const b = await call(url, 'POST', '/topics/k3', { body: { records: [{ value: 'x', partition: 2 }, { value: 'y', partition: 2 }, { value: 'z', partition: 1 }] } })
    assert.deepEqual(b.json.offsets.map((o: any) => [o.partition, o.offset]), [[2, 0], [2, 1], [1, 0]])
    const bulk = await call(url, 'POST', '/topics/k1', { body: '{"n":3}\n{"n":4}\n', type: 'application/x-ndjson' })
    assert.deepEqual([bulk.json.first_offset, bulk.json.last_offset], [3, 4])
    const topics = await call(url, 'GET', '/topics')
    assert.ok(topics.json.includes('k1') && topics.json.includes('k3'))
    const k3 = await call(url, 'GET', '/topics/k3')
    assert.deepEqual(k3.json.partitions.map((p: any) => p.partition), [0, 1, 2])
    assert.equal((await call(url, 'GET', '/topics/absent')).json.error_code, 40401)
    const schema = await call(url, 'GET', '/topics/k1/schema')
    assert.deepEqual([schema.status, schema.json.error_code], [501, 501])
    assert.match(schema.json.message, /kafka receiver does not support the 'schema' operation/)
  })

  // Confluent's AbstractProduceAction answers a failed record in its offsets entry (50003 for a RetriableException), with 200.
  it('answers each record 50003 (retriable Kafka error) while the broker is down, and offsets once it is back', async (t) => {
    const kafka = await startKafkaMock(['down:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    assert.equal((await produce(url, 'down', [1])).status, 200)
    await kafka.down()
    const refused = await produce(url, 'down', [2])
    assert.equal(refused.status, 200, refused.text)
    assert.deepEqual(refused.json.offsets.map((o: any) => [o.partition, o.offset, o.error_code]), [[null, null, 50003]])
    assert.match(refused.json.offsets[0].error, /^Retriable Kafka error/)
    await kafka.up()
    let back = refused
    for (let i = 0; i < 20 && back.json.offsets?.[0]?.error_code !== null; i++) back = await produce(url, 'down', [3])
    assert.deepEqual([back.status, back.json.offsets[0].error_code], [200, null])
  })

  it('reads, commits and seeks through consumer instances backed by kafkajs consumers', async (t) => {
    const kafka = await startKafkaMock(['kc:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    await produce(url, 'kc', ['a', 'b', 'c', 'd'])
    const path = await consumer(url, 'kg', 'one', ['kc'])
    const got = await records(url, path, 4)
    assert.deepEqual(got.map(r => [r.offset, r.value]), [[0, 'a'], [1, 'b'], [2, 'c'], [3, 'd']])
    assert.equal(typeof got[0].timestamp, 'number')
    const commit = await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'kc', partition: 0, offset: 1 }] }, type: V2 })
    assert.equal(commit.status, 200, commit.text)
    const committed = await call(url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: 'kc', partition: 0 }] }, type: V2 })
    assert.deepEqual(committed.json.offsets, [{ topic: 'kc', partition: 0, offset: 2, metadata: '' }])
    assert.equal((await call(url, 'POST', `${path}/positions`, { body: { offsets: [{ topic: 'kc', partition: 0, offset: 1 }] }, type: V2 })).status, 204)
    assert.deepEqual((await records(url, path, 3)).map(r => r.value), ['b', 'c', 'd'])
    const metrics = (await call(url, 'GET', '/metrics')).text
    assert.match(metrics, /^http_stream_consumer_lag\{group="kg",topic="kc",partition="0"\} 2$/m)
    assert.equal((await call(url, 'DELETE', path)).status, 204)
    const next = await consumer(url, 'kg', 'two', ['kc'])
    assert.deepEqual((await records(url, next, 2)).map(r => r.value), ['c', 'd'], 'the group resumes from its commit')
  })
})
