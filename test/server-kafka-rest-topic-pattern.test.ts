/**
 * Kafka REST v2 pattern subscriptions: `POST …/subscription` with `{ "topic_pattern": "…" }`, as
 * Confluent's kafka-rest does it: resources/v2/ConsumersResource.java#subscribe (void: 204;
 * IllegalStateException → Errors.illegalStateException, 409 / 40903), v2/KafkaConsumerState.java#subscribe
 * (`consumer.subscribe(Pattern.compile(topicPattern), …)`), entities/v2/ConsumerSubscriptionRecord.java
 * (`topics`, `topic_pattern`), and `GET …/subscription` answering ConsumerSubscriptionResponse
 * `{ topics: state.subscription() }` (v2/KafkaConsumerManager.java#subscription): for a pattern, Kafka's
 * `KafkaConsumer#subscription()` is the set of topics it matched. Kafka's consumer matches the whole
 * topic name (ConsumerMetadata / SubscriptionState#matchesSubscribedPattern: `pattern.matcher(topic).matches()`),
 * leaves internal topics out, and picks up a matching topic created later at its next metadata refresh.
 * Mixing a topic list and a pattern is SubscriptionState#setSubscriptionType's IllegalStateException.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, produce, startServer, V2, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

/** SubscriptionState.SUBSCRIPTION_EXCEPTION_MESSAGE, prefixed by Confluent's Errors.ILLEGAL_STATE_MESSAGE. */
const EXCLUSIVE = 'Illegal state: Subscription to topics, partitions and pattern are mutually exclusive'

async function instance (url: string, group: string, name: string): Promise<string> {
  const created = await call(url, 'POST', `/consumers/${group}`, { body: { name, format: 'json', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' }, type: V2 })
  assert.equal(created.status, 200, created.text)
  return `/consumers/${group}/instances/${name}`
}

async function subscribe (url: string, path: string, body: unknown): Promise<{ status: number, json: any, text: string }> {
  return await call(url, 'POST', `${path}/subscription`, { body, type: V2 })
}

async function subscription (url: string, path: string): Promise<string[]> {
  const got = await call(url, 'GET', `${path}/subscription`)
  assert.equal(got.status, 200, got.text)
  return [...got.json.topics].sort()
}

describe('Kafka REST v2 topic_pattern: memory receiver', () => {
  it('subscribes to every topic whose whole name matches (204) and reports them (GET subscription)', async (t) => {
    const { url } = await startServer(t, { topics: ['orders', 'orders-eu', 'orders-us', 'xorders-eu', 'audit'] })
    await produce(url, 'orders-eu', [1, 2])
    await produce(url, 'orders-us', [3])
    await produce(url, 'xorders-eu', [99])
    await produce(url, 'audit', [98])
    const path = await instance(url, 'g', 'p')
    const sub = await subscribe(url, path, { topic_pattern: 'orders-.*' })
    assert.deepEqual([sub.status, sub.text], [204, ''])
    // Pattern.matcher(topic).matches(): "orders" and "xorders-eu" do not match "orders-.*".
    assert.deepEqual(await subscription(url, path), ['orders-eu', 'orders-us'])
    const read = await drain(url, path)
    assert.deepEqual(read.map(r => `${r.topic}:${r.value}`).sort(), ['orders-eu:1', 'orders-eu:2', 'orders-us:3'])
  })

  it('picks up a matching topic created after the subscription, also while a poll waits', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'logs-a', ['a0'])
    const path = await instance(url, 'g', 'p')
    assert.equal((await subscribe(url, path, { topic_pattern: 'logs-[a-z]+' })).status, 204)
    assert.deepEqual(await subscription(url, path), ['logs-a'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), ['a0'])
    // A poll waiting now is answered by a record on a topic created during its wait.
    const waiting = call(url, 'GET', `${path}/records?timeout=20000`, { headers: { accept: V2_JSON } })
    await new Promise(resolve => setTimeout(resolve, 100))
    await produce(url, 'logs-b', ['b0'])
    await produce(url, 'other', ['x'])
    const got = await waiting
    assert.equal(got.status, 200, got.text)
    assert.deepEqual(got.json.map((r: any) => [r.topic, r.value]), [['logs-b', 'b0']])
    await produce(url, 'logs-c', ['c0', 'c1'])
    assert.deepEqual(await subscription(url, path), ['logs-a', 'logs-b', 'logs-c'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), ['c0', 'c1'], 'a topic created later is read from its first record')
  })

  it('keeps the group\'s ownership: one instance per topic; a second subscriber takes the existing ones over', async (t) => {
    const { url } = await startServer(t, { topics: ['m-1', 'm-2'] })
    await produce(url, 'm-1', [1])
    const first = await instance(url, 'g', 'one')
    assert.equal((await subscribe(url, first, { topic_pattern: 'm-\\d' })).status, 204)
    const second = await instance(url, 'g', 'two')
    assert.equal((await subscribe(url, second, { topic_pattern: 'm-\\d' })).status, 204)
    await produce(url, 'm-1', [2])
    await produce(url, 'm-3', [3])
    const a = await drain(url, first)
    const b = await drain(url, second)
    t.diagnostic(`first read ${JSON.stringify(a.map(r => `${r.topic}:${r.value}`))}, second read ${JSON.stringify(b.map(r => `${r.topic}:${r.value}`))}`)
    const all = [...a, ...b].map(r => `${r.topic}:${r.value}`).sort()
    assert.deepEqual(all, ['m-1:1', 'm-1:2', 'm-3:3'], 'every record read once across the group')
    assert.deepEqual(b.filter(r => r.topic === 'm-1').map(r => r.value), [1, 2], 'the newest subscriber owns the existing topics')
  })

  it('answers an invalid pattern 422, and mixing a topic list with a pattern 409 / 40903', async (t) => {
    const { url } = await startServer(t, { topics: ['a', 'b'] })
    const path = await instance(url, 'g', 'p')
    // Pattern.compile throws PatternSyntaxException; Confluent lets it reach its catch-all mapper (500): ours is a bad entity.
    for (const bad of ['orders-(', 'a)|(b', 42]) {
      const r = await subscribe(url, path, { topic_pattern: bad })
      assert.deepEqual([r.status, r.json.error_code], [422, 422], `${JSON.stringify(bad)}: ${r.text}`)
    }
    const both = await subscribe(url, path, { topics: ['a'], topic_pattern: 'a' })
    assert.deepEqual([both.status, both.json.error_code], [409, 40903], both.text)
    assert.equal((await subscribe(url, path, { topic_pattern: 'a' })).status, 204)
    // subscribe(topics) after subscribe(Pattern) without unsubscribe: SubscriptionState#setSubscriptionType throws.
    const list = await subscribe(url, path, { topics: ['b'] })
    assert.deepEqual([list.status, list.json.error_code, list.json.message], [409, 40903, EXCLUSIVE])
    assert.deepEqual(await subscription(url, path), ['a'], 'the pattern subscription is kept')
    const assigned = await call(url, 'POST', `${path}/assignments`, { body: { partitions: [{ topic: 'b', partition: 0 }] }, type: V2 })
    assert.deepEqual([assigned.status, assigned.json.error_code], [409, 40903])
    assert.equal((await subscribe(url, path, { topic_pattern: 'b' })).status, 204, 'a new pattern replaces the old one')
    assert.deepEqual(await subscription(url, path), ['b'])
    assert.equal((await call(url, 'DELETE', `${path}/subscription`)).status, 204)
    assert.deepEqual(await subscription(url, path), [])
    await produce(url, 'b2', [1])
    assert.deepEqual(await subscription(url, path), [], 'an unsubscribed pattern picks up nothing')
    const topics = await consumer(url, 'g2', 'c', ['a'])
    const pattern = await subscribe(url, topics, { topic_pattern: 'a' })
    assert.deepEqual([pattern.status, pattern.json.error_code, pattern.json.message], [409, 40903, EXCLUSIVE])
  })

  it('a pattern matching nothing yet is a subscription: polls answer [] (not 409) until a topic matches', async (t) => {
    const { url } = await startServer(t)
    const path = await instance(url, 'g', 'p')
    assert.equal((await subscribe(url, path, { topic_pattern: 'later' })).status, 204)
    const empty = await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept: V2_JSON } })
    assert.deepEqual([empty.status, empty.json], [200, []])
    await produce(url, 'later', [7])
    assert.deepEqual((await drain(url, path)).map(r => r.value), [7])
  })
})

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

describe('Kafka REST v2 topic_pattern: kafka receiver', { timeout: 60_000 }, () => {
  it('subscribes to the topics matching at subscribe time (kafkajs matches once); a new subscribe picks up later ones', async (t) => {
    const kafka = await startKafkaMock(['tp-a:1', 'tp-b:1', 'xtp-a:1', 'other:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    for (const topic of ['tp-a', 'tp-b', 'xtp-a', 'other']) {
      const p = await produce(url, topic, [topic])
      assert.equal(p.status, 200, p.text)
    }
    const path = await instance(url, 'g', 'p')
    const sub = await subscribe(url, path, { topic_pattern: 'tp-.' })
    assert.deepEqual([sub.status, sub.text], [204, ''])
    assert.deepEqual(await subscription(url, path), ['tp-a', 'tp-b'], 'whole-name matches only')
    const read: any[] = []
    for (let i = 0; i < 60 && read.length < 2; i++) {
      const got = await call(url, 'GET', `${path}/records?timeout=250`, { headers: { accept: V2_JSON } })
      assert.equal(got.status, 200, got.text)
      read.push(...got.json)
    }
    t.diagnostic(`read ${JSON.stringify(read.map(r => r.topic))}`)
    assert.deepEqual(read.map(r => r.value).sort(), ['tp-a', 'tp-b'])
    const mixed = await subscribe(url, path, { topics: ['other'] })
    assert.deepEqual([mixed.status, mixed.json.error_code, mixed.json.message], [409, 40903, EXCLUSIVE])

    assert.equal((await produce(url, 'tp-c', ['tp-c'])).status, 200)
    assert.deepEqual(await subscription(url, path), ['tp-a', 'tp-b'], 'a topic created later is not matched until the instance subscribes again')
    assert.equal((await subscribe(url, path, { topic_pattern: 'tp-.' })).status, 204)
    assert.deepEqual(await subscription(url, path), ['tp-a', 'tp-b', 'tp-c'])
    const bad = await subscribe(url, path, { topic_pattern: '[' })
    assert.deepEqual([bad.status, bad.json.error_code], [422, 422], bad.text)
  })
})
