/**
 * The Kafka REST Proxy v2 surface on the memory receiver: produce (JSON embedded format and NDJSON
 * bulk), topics, the consumer-instance lifecycle (subscription, records, offsets, positions, delete,
 * expiry), with the published content types, status codes and `{ error_code, message }` bodies.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { call, consumer, drain, NDJSON, produce, startServer, V2, V2_JSON } from './helpers/server-fixture.js'

describe('Kafka REST v2: produce and topics', () => {
  it('produces JSON-embedded records and answers with one offset per record', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'POST', '/topics/orders', { body: { records: [{ value: { id: 1 } }, { key: 'k', value: [2] }, { value: null, partition: 0 }] } })
    assert.equal(a.status, 200)
    assert.equal(a.headers['content-type'], V2)
    assert.deepEqual(a.json, {
      key_schema_id: null,
      value_schema_id: null,
      offsets: [0, 1, 2].map(offset => ({ partition: 0, offset, error_code: null, error: null }))
    })
    const b = await produce(url, 'orders', ['x'])
    assert.equal(b.json.offsets[0].offset, 3, 'offsets continue across requests')
  })

  it('takes an NDJSON bulk body (CRLF, blank lines) and answers with the offset range', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'POST', '/topics/bulk', { body: '{"i":0}\r\n{"i":1}\n\n{"i":2}', type: NDJSON })
    assert.equal(a.status, 200)
    assert.deepEqual(a.json, { count: 3, first_offset: 0, last_offset: 2, offsets: [{ partition: 0, first: 0, last: 2 }] })
    const path = await consumer(url, 'g', 'c', ['bulk'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), [{ i: 0 }, { i: 1 }, { i: 2 }])
  })

  it('refuses unsupported embedded formats with 415 and bad records with 422, storing nothing', async (t) => {
    const { url } = await startServer(t)
    // ProduceToTopicAction @Consumes binary, json, avro, protobuf, jsonschema: the schema-registry ones and others are 415 here.
    for (const type of ['application/vnd.kafka.avro.v2+json', 'application/vnd.kafka.protobuf.v2+json', 'application/vnd.kafka.jsonschema.v2+json', 'application/vnd.kafka.v2+json', 'text/plain']) {
      const a = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }] }, type })
      assert.equal(a.status, 415, type)
      assert.equal(a.json.error_code, 415)
      assert.match(a.json.message, /application\/vnd\.kafka\.binary\.v2\+json \(binary\), application\/vnd\.kafka\.json\.v2\+json \(json\)/)
    }
    const notBase64 = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }] }, type: 'application/vnd.kafka.binary.v2+json' })
    assert.deepEqual([notBase64.status, notBase64.json.error_code], [422, 42203], 'a binary value must be base64')
    const bad = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }, 'nope'] } })
    assert.equal(bad.status, 422)
    assert.equal(bad.json.error_code, 422)
    const badPartition = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1, partition: -1 }] } })
    // 42202 is Confluent's "value schema missing" (Errors.java): a bad partition is the generic 422.
    assert.deepEqual([badPartition.status, badPartition.json.error_code], [422, 422])
    const missingPartition = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }, { value: 2, partition: 3 }] } })
    assert.deepEqual([missingPartition.status, missingPartition.json.error_code], [404, 40402])
    const listed = await call(url, 'GET', '/topics')
    assert.deepEqual(listed.json, ['t'], 'the topic was created by the partition check at most')
    const path = await consumer(url, 'g', 'c', ['t'])
    assert.deepEqual(await drain(url, path), [], 'no record of any refused request was stored')
  })

  it('lists and describes topics; an unknown topic is 404 40401', async (t) => {
    const { url } = await startServer(t, { topics: ['a', 'b'] })
    const list = await call(url, 'GET', '/topics')
    assert.deepEqual([list.status, list.headers['content-type'], list.json], [200, V2, ['a', 'b']])
    const a = await call(url, 'GET', '/topics/a')
    assert.equal(a.json.name, 'a')
    assert.deepEqual(a.json.partitions, [{ partition: 0, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] }])
    const missing = await call(url, 'GET', '/topics/zzz')
    assert.equal(missing.status, 404)
    assert.deepEqual(Object.keys(missing.json).sort(), ['error_code', 'message'])
    assert.equal(missing.json.error_code, 40401)
  })

  it('with autoCreateTopics false, producing to an unknown topic is 404 40401', async (t) => {
    const { url } = await startServer(t, { autoCreateTopics: false, topics: ['known'] })
    const a = await produce(url, 'unknown', [1])
    assert.deepEqual([a.status, a.json.error_code], [404, 40401])
    assert.equal((await produce(url, 'known', [1])).status, 200)
  })

  it('answers 405 with Allow for a wrong method and 404 for unknown paths', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'DELETE', '/topics')
    assert.equal(a.status, 405)
    assert.equal(a.headers.allow, 'GET')
    assert.equal((await call(url, 'GET', '/nowhere')).json.error_code, 404)
    assert.equal((await call(url, 'GET', '/topics/a/b/c')).status, 404)
  })
})

describe('Kafka REST v2: consumer instances', () => {
  it('creates an instance with instance_id and base_uri; a second with the same name is 409 40902', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'POST', '/consumers/grp', { body: { name: 'me', format: 'json', 'auto.offset.reset': 'earliest' }, type: V2 })
    assert.equal(a.status, 200)
    assert.deepEqual(a.json, { instance_id: 'me', base_uri: `${url}/consumers/grp/instances/me` })
    const again = await call(url, 'POST', '/consumers/grp', { body: { name: 'me' }, type: V2 })
    assert.deepEqual([again.status, again.json.error_code], [409, 40902])
    const unnamed = await call(url, 'POST', '/consumers/grp', { body: {}, type: V2 })
    assert.match(unnamed.json.instance_id, /^rest-consumer-/)
  })

  it('refuses bad consumer configuration with 422 42204', async (t) => {
    const { url } = await startServer(t)
    for (const body of [{ format: 'avro' }, { format: 'protobuf' }, { format: 'xml' }, { 'auto.offset.reset': 'middle' }, { 'auto.commit.enable': 'maybe' }]) {
      const a = await call(url, 'POST', '/consumers/g', { body, type: V2 })
      assert.deepEqual([a.status, a.json.error_code], [422, 42204], JSON.stringify(body))
    }
  })

  it('reads after subscribing, commits offset+1 and resumes from the commit in a new instance', async (t) => {
    const { url } = await startServer(t)
    await call(url, 'POST', '/topics/events', { body: '0\n1\n2\n3\n4\n', type: NDJSON })
    const path = await consumer(url, 'readers', 'one', ['events'])
    const sub = await call(url, 'GET', `${path}/subscription`)
    assert.deepEqual(sub.json, { topics: ['events'] })
    const first = await call(url, 'GET', `${path}/records?timeout=100&max_bytes=3`, { headers: { accept: V2_JSON } })
    assert.equal(first.headers['content-type'], V2_JSON)
    assert.equal(first.json.length, 3, 'max_bytes bounds the answer (values are 1 byte each)')
    assert.deepEqual(first.json[0], { topic: 'events', key: null, value: 0, partition: 0, offset: 0, timestamp: first.json[0].timestamp })
    assert.equal(typeof first.json[0].timestamp, 'number')
    const commit = await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'events', partition: 0, offset: 2 }] }, type: V2 })
    assert.equal(commit.status, 200)
    const committed = await call(url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: 'events', partition: 0 }] }, type: V2 })
    assert.deepEqual(committed.json, { offsets: [{ topic: 'events', partition: 0, offset: 3, metadata: '' }] })
    assert.equal((await call(url, 'DELETE', path)).status, 204)
    assert.equal((await call(url, 'GET', `${path}/records`)).json.error_code, 40403)
    const next = await consumer(url, 'readers', 'two', ['events'])
    assert.deepEqual((await drain(url, next)).map(r => r.offset), [3, 4])
  })

  it('commits everything fetched when POST offsets has no body', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'e', [1, 2, 3])
    const path = await consumer(url, 'g', 'c', ['e'])
    await drain(url, path)
    assert.equal((await call(url, 'POST', `${path}/offsets`)).status, 200)
    const committed = await call(url, 'GET', `${path}/offsets?topic=e&partition=0`)
    assert.equal(committed.json.offsets[0].offset, 3)
  })

  it('auto.commit.enable commits what earlier fetches returned at the next fetch', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'e', [1, 2])
    const path = await consumer(url, 'g', 'c', ['e'], { 'auto.commit.enable': 'true' })
    assert.equal((await drain(url, path)).length, 2)
    const committed = await call(url, 'GET', `${path}/offsets`, { body: { partitions: [{ topic: 'e', partition: 0 }] }, type: V2 })
    assert.equal(committed.json.offsets[0].offset, 2)
  })

  it('seeks with positions, positions/beginning, positions/end and timestamps', async (t) => {
    const { url } = await startServer(t)
    await produce(url, 'p', [0, 1, 2, 3])
    const path = await consumer(url, 'g', 'c', ['p'])
    const part = [{ topic: 'p', partition: 0 }]
    assert.equal((await call(url, 'POST', `${path}/positions`, { body: { offsets: [{ topic: 'p', partition: 0, offset: 2 }] }, type: V2 })).status, 204)
    assert.deepEqual((await drain(url, path)).map(r => r.offset), [2, 3])
    assert.equal((await call(url, 'POST', `${path}/positions/beginning`, { body: { partitions: part }, type: V2 })).status, 204)
    assert.deepEqual((await drain(url, path)).map(r => r.offset), [0, 1, 2, 3])
    const before = Date.now()
    await delay(5)
    await produce(url, 'p', [4])
    assert.equal((await call(url, 'POST', `${path}/positions`, { body: { timestamps: [{ topic: 'p', partition: 0, timestamp: new Date(before + 1).toISOString() }] }, type: V2 })).status, 204)
    assert.deepEqual((await drain(url, path)).map(r => r.offset), [4])
    assert.equal((await call(url, 'POST', `${path}/positions/end`, { body: { partitions: part }, type: V2 })).status, 204)
    await produce(url, 'p', [5])
    assert.deepEqual((await drain(url, path)).map(r => r.offset), [5])
    const unassigned = await call(url, 'POST', `${path}/positions`, { body: { offsets: [{ topic: 'other', partition: 0, offset: 0 }] }, type: V2 })
    assert.deepEqual([unassigned.status, unassigned.json.error_code], [404, 40401])
    await produce(url, 'other', [1])
    const notMine = await call(url, 'POST', `${path}/positions`, { body: { offsets: [{ topic: 'other', partition: 0, offset: 0 }] }, type: V2 })
    assert.deepEqual([notMine.status, notMine.json.error_code], [409, 40903])
  })

  it('answers 406 40601 when Accept asks for another embedded format', async (t) => {
    const { url } = await startServer(t)
    const path = await consumer(url, 'g', 'c', ['x'])
    const a = await call(url, 'GET', `${path}/records`, { headers: { accept: 'application/vnd.kafka.binary.v2+json' } })
    assert.deepEqual([a.status, a.json.error_code], [406, 40601])
    const b = await call(url, 'GET', `${path}/records`, { headers: { accept: 'text/html' } })
    assert.deepEqual([b.status, b.json.error_code], [406, 406])
  })

  it('unknown instances are 404 40403 on every instance endpoint', async (t) => {
    const { url } = await startServer(t)
    const base = '/consumers/g/instances/ghost'
    const cases: Array<[string, string, unknown]> = [
      ['GET', '/records', undefined], ['POST', '/subscription', { topics: ['a'] }], ['GET', '/subscription', undefined],
      ['DELETE', '/subscription', undefined], ['POST', '/offsets', undefined], ['GET', '/offsets', { partitions: [] }],
      ['POST', '/positions', { offsets: [] }], ['POST', '/positions/beginning', { partitions: [] }],
      ['POST', '/positions/end', { partitions: [] }], ['DELETE', '', undefined]
    ]
    for (const [method, rest, body] of cases) {
      const a = await call(url, method, base + rest, { body, type: V2 })
      assert.deepEqual([a.status, a.json?.error_code], [404, 40403], `${method} ${rest}`)
      assert.equal(a.json.message, 'Consumer instance not found.')
    }
  })

  it('a topic_pattern together with topics is 409 40903; unsubscribe empties the subscription', async (t) => {
    const { url } = await startServer(t)
    const path = await consumer(url, 'g', 'c', ['a'])
    const both = await call(url, 'POST', `${path}/subscription`, { body: { topics: ['a'], topic_pattern: 'a.*' }, type: V2 })
    assert.deepEqual([both.status, both.json.error_code], [409, 40903])
    assert.equal((await call(url, 'DELETE', `${path}/subscription`)).status, 204)
    assert.deepEqual((await call(url, 'GET', `${path}/subscription`)).json, { topics: [] })
  })

  it('a long poll returns as soon as a record arrives', async (t) => {
    const { url } = await startServer(t)
    const path = await consumer(url, 'g', 'c', ['late'])
    const polling = call(url, 'GET', `${path}/records?timeout=20000`)
    await delay(50)
    await produce(url, 'late', ['hello'])
    const got = await polling
    assert.deepEqual(got.json.map((r: { value: unknown }) => r.value), ['hello'])
  })

  it('idle instances expire after instanceTimeoutMs; the group keeps its commits', async (t) => {
    const { url } = await startServer(t, { instanceTimeoutMs: 100 })
    await produce(url, 'e', [1, 2])
    const path = await consumer(url, 'g', 'c', ['e'])
    await drain(url, path, 1)
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'e', partition: 0, offset: 0 }] }, type: V2 })
    // /healthz counts instances without touching them (any instance request would refresh its expiry).
    for (let i = 0; i < 200 && (await call(url, 'GET', '/healthz')).json.consumers > 0; i++) await delay(25)
    assert.equal((await call(url, 'GET', `${path}/subscription`)).json.error_code, 40403, 'the instance expired')
    const again = await consumer(url, 'g', 'c2', ['e'])
    assert.deepEqual((await drain(url, again)).map(r => r.value), [2])
  })
})
