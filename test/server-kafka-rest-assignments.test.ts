/**
 * Kafka REST v2 manual assignments: `POST …/assignments` (204) and `GET …/assignments`
 * (`{ partitions }`), as Confluent's kafka-rest does them (resources/v2/ConsumersResource.java,
 * v2/KafkaConsumerManager.java#assign/#assignment, v2/KafkaConsumerState.java#assign/#assignment,
 * entities/v2/ConsumerAssignmentRequest/ConsumerAssignmentResponse, Errors.java#illegalStateException),
 * over Kafka's consumer rules (KafkaConsumer#assign, SubscriptionState: subscribe and assign are
 * mutually exclusive, an empty assignment unsubscribes). Memory receiver fully; the Kafka receiver
 * reports the group's assignment and answers a manual one 501 (kafkajs has no assign()).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, produce, startServer, V2, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

/** Kafka's SubscriptionState message, prefixed by Confluent's Errors.ILLEGAL_STATE_MESSAGE. */
const EXCLUSIVE = 'Illegal state: Subscription to topics, partitions and pattern are mutually exclusive'
/** KafkaConsumer.poll's IllegalStateException text (SubscriptionState), with Confluent's prefix. */
const NOT_SUBSCRIBED = 'Illegal state: Consumer is not subscribed to any topics or assigned any partitions'

async function instance (url: string, group: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await call(url, 'POST', `/consumers/${group}`, { body: { name, format: 'json', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false', ...extra }, type: V2 })
  assert.equal(created.status, 200, created.text)
  return `/consumers/${group}/instances/${name}`
}

async function assign (url: string, path: string, partitions: unknown): Promise<{ status: number, json: any, text: string }> {
  return await call(url, 'POST', `${path}/assignments`, { body: { partitions }, type: V2 })
}

async function assignment (url: string, path: string): Promise<any> {
  const got = await call(url, 'GET', `${path}/assignments`)
  assert.equal(got.status, 200, got.text)
  assert.equal(got.headers['content-type'], V2)
  return got.json
}

describe('Kafka REST v2 assignments: memory receiver', () => {
  // ConsumersResource#assign is void (204); #assignment answers ConsumerAssignmentResponse { partitions: [{ topic, partition }] }.
  it('assigns manually (204), reports the assignment, reads from the group\'s committed offset and commits to the group', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'a', [0, 1, 2, 3, 4])
    const first = await consumer(url, 'g', 'sub', ['a'])
    assert.deepEqual((await drain(url, first)).map(r => r.value), [0, 1, 2, 3, 4])
    assert.equal((await call(url, 'POST', `${first}/offsets`, { body: { offsets: [{ topic: 'a', partition: 0, offset: 1 }] }, type: V2 })).status, 200)
    assert.equal((await call(url, 'DELETE', first)).status, 204)

    const path = await instance(url, 'g', 'manual')
    assert.deepEqual(await assignment(url, path), { partitions: [] }, 'a fresh instance holds nothing')
    const a = await assign(url, path, [{ topic: 'a', partition: 0 }])
    assert.equal(a.status, 204, a.text)
    assert.equal(a.text, '')
    assert.deepEqual(await assignment(url, path), { partitions: [{ topic: 'a', partition: 0 }] })
    // Kafka's consumer.subscription() is empty for a manual assignment (SubscriptionState.assignFromUser).
    assert.deepEqual((await call(url, 'GET', `${path}/subscription`)).json, { topics: [] })
    const read = await drain(url, path)
    assert.deepEqual(read.map(r => [r.topic, r.partition, r.offset, r.value]), [['a', 0, 2, 2], ['a', 0, 3, 3], ['a', 0, 4, 4]], 'starts at the committed offset (2)')
    const committed = await call(url, 'POST', `${path}/offsets`, { type: V2 })
    assert.equal(committed.status, 200, committed.text)
    const offsets = await call(url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: 'a', partition: 0 }] }, type: V2 })
    assert.deepEqual(offsets.json.offsets.map((o: any) => [o.topic, o.partition, o.offset]), [['a', 0, 5]], 'the commit went to the group')
    await call(url, 'DELETE', path)
    const next = await consumer(url, 'g', 'after', ['a'])
    await produce(url, 'a', [5])
    assert.deepEqual((await drain(url, next)).map(r => r.offset), [5], 'a subscriber of the group resumes after the manual commit')
  })

  // KafkaConsumerState#assign → KafkaConsumer#assign: IllegalStateException → Errors.illegalStateException, 409 / 40903.
  it('refuses an assignment while subscribed and a subscription while assigned (409 / 40903); [] and DELETE subscription release', async (t) => {
    const { url } = await startServer(t, { topics: ['a', 'b'] })
    const path = await consumer(url, 'g', 'c', ['a'])
    const refused = await assign(url, path, [{ topic: 'b', partition: 0 }])
    assert.deepEqual([refused.status, refused.json.error_code, refused.json.message], [409, 40903, EXCLUSIVE])
    assert.deepEqual(await assignment(url, path), { partitions: [{ topic: 'a', partition: 0 }] }, 'the group\'s assignment is reported and kept')
    // KafkaConsumer#assign with an empty collection unsubscribes.
    assert.equal((await assign(url, path, [])).status, 204)
    assert.deepEqual((await call(url, 'GET', `${path}/subscription`)).json, { topics: [] })
    assert.deepEqual(await assignment(url, path), { partitions: [] })
    assert.equal((await assign(url, path, [{ topic: 'b', partition: 0 }])).status, 204)
    const sub = await call(url, 'POST', `${path}/subscription`, { body: { topics: ['a'] }, type: V2 })
    assert.deepEqual([sub.status, sub.json.error_code, sub.json.message], [409, 40903, EXCLUSIVE])
    assert.deepEqual(await assignment(url, path), { partitions: [{ topic: 'b', partition: 0 }] })
    assert.equal((await call(url, 'DELETE', `${path}/subscription`)).status, 204)
    assert.deepEqual(await assignment(url, path), { partitions: [] }, 'unsubscribe drops a manual assignment (KafkaConsumer#unsubscribe)')
    assert.equal((await call(url, 'POST', `${path}/subscription`, { body: { topics: ['a'] }, type: V2 })).status, 204)
  })

  it('is outside the group protocol: a subscriber keeps its partition; seeks work on assigned partitions only; a re-assignment keeps kept positions', async (t) => {
    const { url } = await startServer(t, { topics: ['a', 'b'] })
    await produce(url, 'a', [0, 1, 2])
    await produce(url, 'b', ['x', 'y'])
    const sub = await consumer(url, 'g', 'sub', ['a'])
    const manual = await instance(url, 'g', 'manual')
    assert.equal((await assign(url, manual, [{ topic: 'a', partition: 0 }])).status, 204)
    assert.deepEqual(await assignment(url, sub), { partitions: [{ topic: 'a', partition: 0 }] }, 'no rebalance: the subscriber still holds a-0')
    assert.deepEqual((await drain(url, sub)).map(r => r.offset), [0, 1, 2])
    assert.deepEqual((await drain(url, manual)).map(r => r.offset), [0, 1, 2], 'both read a-0')

    // Seeks (KafkaConsumer#seek): an assigned partition moves; one not assigned is Kafka's illegal state.
    const seek = await call(url, 'POST', `${manual}/positions`, { body: { offsets: [{ topic: 'a', partition: 0, offset: 1 }] }, type: V2 })
    assert.equal(seek.status, 204, seek.text)
    const other = await call(url, 'POST', `${manual}/positions`, { body: { offsets: [{ topic: 'b', partition: 0, offset: 0 }] }, type: V2 })
    assert.deepEqual([other.status, other.json.error_code], [409, 40903])
    // Re-assigning replaces the assignment; a partition kept keeps its position (SubscriptionState.assignFromUser).
    assert.equal((await assign(url, manual, [{ topic: 'b', partition: 0 }, { topic: 'a', partition: 0 }])).status, 204)
    assert.deepEqual(await assignment(url, manual), { partitions: [{ topic: 'b', partition: 0 }, { topic: 'a', partition: 0 }] })
    const both = await drain(url, manual)
    assert.deepEqual(both.filter(r => r.topic === 'a').map(r => r.offset), [1, 2], 'a-0 resumes at its sought position')
    assert.deepEqual(both.filter(r => r.topic === 'b').map(r => r.value), ['x', 'y'], 'b-0 starts per auto.offset.reset (earliest)')
    const end = await call(url, 'POST', `${manual}/positions/beginning`, { body: { partitions: [{ topic: 'b', partition: 0 }] }, type: V2 })
    assert.equal(end.status, 204)
    assert.deepEqual((await drain(url, manual)).map(r => r.value), ['x', 'y'])
  })

  it('reads a binary instance and auto-commits like a subscribed one; starts at the end with auto.offset.reset latest', async (t) => {
    const { url } = await startServer(t, { topics: ['a'] })
    await produce(url, 'a', ['old'])
    const path = await instance(url, 'g', 'bin', { format: 'binary', 'auto.offset.reset': 'latest', 'auto.commit.enable': 'true' })
    assert.equal((await assign(url, path, [{ topic: 'a', partition: 0 }])).status, 204)
    await produce(url, 'a', ['new'])
    const got = await call(url, 'GET', `${path}/records?timeout=200`, { headers: { accept: 'application/vnd.kafka.binary.v2+json' } })
    assert.equal(got.status, 200, got.text)
    assert.deepEqual(got.json.map((r: any) => [r.offset, Buffer.from(r.value, 'base64').toString()]), [[1, '"new"']])
    await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept: 'application/vnd.kafka.binary.v2+json' } })
    const offsets = await call(url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: 'a', partition: 0 }] }, type: V2 })
    assert.deepEqual(offsets.json.offsets.map((o: any) => o.offset), [2], 'the next poll auto-committed what the previous returned')
  })

  // ConsumerAssignmentRequest takes entities/v2/TopicPartition (@NotEmpty topic, @PositiveOrZero partition): 422 otherwise.
  it('records before a subscription or an assignment answer 409 / 40903, as Kafka\'s poll throws and Confluent maps it', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'a', [0])
    const path = await instance(url, 'g', 'early')
    const early = await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept: V2_JSON } })
    assert.deepEqual([early.status, early.json.error_code, early.json.message], [409, 40903, NOT_SUBSCRIBED])
    assert.equal((await assign(url, path, [{ topic: 'a', partition: 0 }])).status, 204)
    assert.deepEqual((await drain(url, path)).map(r => r.value), [0], 'an assigned instance reads')
  })

  it('validates the body (422), answers an unknown instance 404 / 40403, and holds an unknown partition as Kafka does', async (t) => {
    const { url } = await startServer(t, { topics: ['a'] })
    const path = await instance(url, 'g', 'c')
    for (const body of [{}, { partitions: 'a' }, { partitions: [{ topic: 'a', partition: -1 }] }, { partitions: [{ partition: 0 }] }, { partitions: [{ topic: 'a' }] }]) {
      const bad = await call(url, 'POST', `${path}/assignments`, { body, type: V2 })
      assert.equal(bad.status, 422, JSON.stringify(body))
    }
    assert.deepEqual(await assignment(url, path), { partitions: [] }, 'a refused body assigned nothing')
    const missing = await assign(url, '/consumers/g/instances/nobody', [{ topic: 'a', partition: 0 }])
    assert.deepEqual([missing.status, missing.json.error_code], [404, 40403])
    assert.equal((await call(url, 'GET', '/consumers/g/instances/nobody/assignments')).json.error_code, 40403)
    const wrong = await call(url, 'PUT', `${path}/assignments`, { body: { partitions: [] }, type: V2 })
    assert.equal(wrong.status, 405)
    // KafkaConsumer#assign does not check partitions exist: a-7 is held, never read.
    assert.equal((await assign(url, path, [{ topic: 'a', partition: 7 }, { topic: 'a', partition: 7 }])).status, 204)
    assert.deepEqual(await assignment(url, path), { partitions: [{ topic: 'a', partition: 7 }] })
    await produce(url, 'a', [1])
    assert.deepEqual(await drain(url, path), [])
  })
})

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

describe('Kafka REST v2 assignments: kafka receiver', { timeout: 60_000 }, () => {
  it('reports the group\'s assignment; a manual one is 501 (kafkajs has no assign()), 409 while subscribed, [] unsubscribes', async (t) => {
    const kafka = await startKafkaMock(['k3:3'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    const path = await instance(url, 'g', 'c')
    assert.deepEqual(await assignment(url, path), { partitions: [] })
    const early = await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept: V2_JSON } })
    assert.deepEqual([early.status, early.json.error_code, early.json.message], [409, 40903, NOT_SUBSCRIBED], 'records before a subscription')
    const unsupported = await assign(url, path, [{ topic: 'k3', partition: 0 }])
    assert.deepEqual([unsupported.status, unsupported.json.error_code], [501, 501], unsupported.text)
    assert.match(unsupported.json.message, /kafka receiver does not support manual partition assignment: its Kafka client \(kafkajs\) has no assign\(\)/)

    assert.equal((await call(url, 'POST', `${path}/subscription`, { body: { topics: ['k3'] }, type: V2 })).status, 204)
    let held: any = { partitions: [] }
    for (let i = 0; i < 40 && held.partitions.length < 3; i++) {
      await call(url, 'GET', `${path}/records?timeout=250`, { headers: { accept: V2_JSON } })
      held = await assignment(url, path)
    }
    t.diagnostic(`group assignment: ${JSON.stringify(held)}`)
    assert.deepEqual(held.partitions.sort((x: any, y: any) => x.partition - y.partition), [0, 1, 2].map(partition => ({ topic: 'k3', partition })), 'the one member holds all three')
    const refused = await assign(url, path, [{ topic: 'k3', partition: 0 }])
    assert.deepEqual([refused.status, refused.json.error_code, refused.json.message], [409, 40903, EXCLUSIVE])
    assert.equal((await assign(url, path, [])).status, 204)
    assert.deepEqual((await call(url, 'GET', `${path}/subscription`)).json, { topics: [] })
    assert.deepEqual(await assignment(url, path), { partitions: [] })
  })
})
