/**
 * The Kafka store against a real Kafka wire protocol server: librdkafka's mock cluster (3 brokers),
 * compiled and started by test/services/kafka-mock.ts. Round trip through a consumer group,
 * StreamPark's message shape, and the brokers going down in the middle of a run.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { KafkaStore } from '../lib/stores/kafka.js'
import { openStore } from '../lib/stores/open-store.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { ackAll, assertHolds, checkRoundTrip, envelope, envelopes, keyOf, pass } from './helpers/store-contract.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { requireService, type Missing } from './services/require-service.js'

let kafka: KafkaMock | Missing | undefined
const WHAT = 'Kafka (librdkafka mock cluster: needs cc, pkg-config and librdkafka-dev)'

before(async () => { kafka = await startKafkaMock(['roundtrip:3', 'streampark:1', 'faults:2', 'interrupted:2'], 3) })
after(async () => { if (kafka !== undefined && !('missing' in kafka)) await kafka.stop() })

// sessionTimeout: the mock only lets a consumer group rebalance after the old member's session ends.
const uri = (k: KafkaMock, topic: string, query = ''): string => `kafka://${k.brokers.join(',')}/${topic}?sessionTimeout=4000&timeout=5000${query}`

test('kafka: put, read in a group, ack, retain (re-produced with the update), read again', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const store = openStore(uri(kafka, 'roundtrip'))
  t.after(() => store.close())
  await checkRoundTrip(t, store)
})

test('kafka: shape=streampark writes {"values":[record],"timestamp":ms} and reads the envelope back', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const store = openStore(uri(kafka, 'streampark', '&shape=streampark')) as KafkaStore
  t.after(() => store.close())
  const written = [envelope(1), { ...envelope(2), record: 'http://127.0.0.1:8080?userId=2&siteId=7' }]
  await store.put(written)

  // What any Kafka consumer sees on the topic: StreamPark's value, the other fields in a header.
  // (Read alongside the store's own pass: each consumer group join costs the mock ~3 s.)
  const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING })
  const consumer = client.consumer({ groupId: 'raw-reader', sessionTimeout: 4000, rebalanceTimeout: 4000, heartbeatInterval: 400, maxWaitTimeInMs: 100 })
  t.after(() => consumer.disconnect())
  await consumer.connect()
  await consumer.subscribe({ topic: 'streampark', fromBeginning: true })
  const rawRead = new Promise<Array<{ value: string, header: string }>>((resolve) => {
    const seen: Array<{ value: string, header: string }> = []
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ value: message.value!.toString(), header: String(message.headers?.['failover-envelope']) })
        if (seen.length === written.length) resolve(seen)
      }
    })
  })
  const [raw, stored] = await Promise.all([rawRead, pass(store, ackAll)])
  assert.deepEqual(raw.map((m) => JSON.parse(m.value)), written.map((e) => ({ values: [e.record], timestamp: e.failedAt })))
  assert.deepEqual(JSON.parse(raw[0]!.header), { url: written[0]!.url, method: 'POST', attempts: 4, status: 503, error: 'unexpected status 503', failedAt: written[0]!.failedAt })
  assertHolds(stored, written)
})

test('kafka: brokers down mid-run: put rejects, nothing it resolved is missing, and puts work again once they are up', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const mock = kafka
  const store = openStore(uri(mock, 'faults', '&retries=1&timeout=1000'))
  t.after(async () => { await mock.up(); await store.close() })
  const resolved: FailoverEnvelope[] = []
  const rejected: FailoverEnvelope[] = []
  const put = async (batch: FailoverEnvelope[]): Promise<void> => {
    await store.put(batch).then(() => { resolved.push(...batch) }, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_STORE')
      rejected.push(...batch)
    })
  }
  let i = 0
  const next = (): FailoverEnvelope[] => envelopes(10, 'fault', (i++) * 10)
  for (let k = 0; k < 5; k++) await put(next())
  const inFlight = [put(next()), put(next())] // racing the brokers going down
  await mock.down()
  await Promise.all(inFlight)
  for (let k = 0; k < 3; k++) await put(next())
  assert.ok(rejected.length >= 30, `puts while every broker is down must reject (${rejected.length} rejected)`)
  await mock.up()
  for (let k = 0; k < 5; k++) await put(next())
  assert.ok(resolved.length >= 100, `puts work again after the brokers are back (${resolved.length} resolved)`)

  const stored = await pass(store, ackAll, 500)
  const duplicates = assertHolds(stored, resolved)
  const storedKeys = new Set(stored.map(keyOf))
  const rejectedButStored = rejected.filter((e) => storedKeys.has(keyOf(e))).length
  t.diagnostic(`resolved ${resolved.length}, rejected ${rejected.length} (of which ${rejectedButStored} reached the topic anyway), stored ${stored.length}, duplicates ${duplicates}`)
})

test('kafka: a pass interrupted with gaps (every other record acked) never yields an acked record again', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const written = envelopes(40, 'gap')
  const first = openStore(uri(kafka, 'interrupted'))
  await first.put(written)
  const acked = new Set<string>()
  for await (const batch of first.read({ batchSize: 10 })) {
    const some = batch.filter((_, k) => k % 2 === 1)
    await first.ack(some.map((r) => r.id))
    for (const r of some) acked.add(keyOf(r))
    break // the replay stops here: the other half of this batch is neither acked nor retained
  }
  await first.close()
  assert.equal(acked.size, 5)

  const second = openStore(uri(kafka, 'interrupted'))
  t.after(() => second.close())
  const again = await pass(second, ackAll)
  const againKeys = again.map(keyOf)
  assert.deepEqual(againKeys.filter((k) => acked.has(k)), [], 'no acked record is read again')
  assert.deepEqual(new Set(againKeys), new Set(written.map(keyOf).filter((k) => !acked.has(k))))
  assert.deepEqual(await pass(second), [])
})
