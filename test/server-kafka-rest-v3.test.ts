/**
 * Kafka REST v3: clusters, topics and produce (single record and streaming), against both receivers.
 * Expected answers come from Confluent's kafka-rest (each test names its source file):
 * `resources/v3/ClustersResource.java`, `resources/v3/TopicsResource.java`, `resources/v3/ProduceAction.java`,
 * `response/StreamingResponse.java` + `response/ChunkedOutputFactory.java` (reports separated by CRLF),
 * `entities/v3/{ClusterData,TopicData,ProduceRequest,ProduceResponse}.java`,
 * `controllers/{Entities,ClusterManagerImpl,TopicManagerImpl,NoSchemaRecordSerializer,SchemaManagerThrowing}.java`,
 * `Errors.java`, rest-utils `KafkaExceptionMapper.java`, and the integration tests
 * `integration/v3/{ProduceActionIntegrationTest,TopicsResourceIntegrationTest,ClustersResourceIntegrationTest}.java`.
 */
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { gzipSync } from 'node:zlib'
import { describe, it, type TestContext } from 'node:test'
import { call, consumer, startServer, V2 } from './helpers/server-fixture.js'

const V2_BINARY = 'application/vnd.kafka.binary.v2+json'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }
const JSON_TYPE = 'application/json'
const b64 = (s: string): string => Buffer.from(s).toString('base64')

interface SetUp { url: string, partitions: number, kind: 'memory' | 'kafka' }

/** A server on the memory receiver (topic `p`, one partition) or on the Kafka mock cluster (topic `p`, three partitions). */
async function setUp (t: TestContext, kind: 'memory' | 'kafka'): Promise<SetUp | undefined> {
  if (kind === 'memory') return { url: (await startServer(t, { topics: ['p'] })).url, partitions: 1, kind }
  const kafka = await startKafkaMock(['p:3'])
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
  const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
  t.after(() => kafka.stop())
  return { url, partitions: 3, kind }
}

/** The delivery reports of a v3 produce answer (concatenated JSON, CRLF after each). */
function reports (text: string): any[] {
  assert.ok(text === '' || text.endsWith('\r\n'), `each report ends with CRLF: ${JSON.stringify(text.slice(-20))}`)
  return text.split('\r\n').filter((l) => l !== '').map((l) => JSON.parse(l))
}

async function clusterId (url: string): Promise<string> {
  return (await call(url, 'GET', '/v3/clusters')).json.data[0].cluster_id
}

async function produce (url: string, cluster: string, topic: string, body: string): Promise<{ status: number, list: any[], text: string, type: unknown }> {
  const a = await call(url, 'POST', `/v3/clusters/${cluster}/topics/${topic}/records`, { body, type: JSON_TYPE })
  return { status: a.status, list: a.status === 200 ? reports(a.text) : [], text: a.text, type: a.headers['content-type'] }
}

for (const kind of ['memory', 'kafka'] as const) {
  describe(`Kafka REST v3 (${kind} receiver)`, { timeout: 120_000 }, () => {
    it('lists clusters and gets one as ClusterData; a wrong cluster id is 404 (ClustersResource, Entities.checkEntityExists)', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url } = set
      const list = await call(url, 'GET', '/v3/clusters')
      assert.deepEqual([list.status, list.headers['content-type']], [200, JSON_TYPE], list.text)
      assert.equal(list.json.kind, 'KafkaClusterList')
      assert.deepEqual(list.json.metadata, { self: `${url}/v3/clusters`, next: null })
      assert.equal(list.json.data.length, 1)
      const c = list.json.data[0]
      const id = c.cluster_id
      assert.ok(typeof id === 'string' && id !== '')
      if (kind === 'memory') assert.equal(id, 'memory', 'the memory receiver\'s stable cluster id')
      const self = `${url}/v3/clusters/${id}`
      assert.equal(c.kind, 'KafkaCluster')
      assert.deepEqual(c.metadata, { self, resource_name: `crn:///kafka=${id}` })
      for (const [field, path] of [['acls', 'acls'], ['brokers', 'brokers'], ['broker_configs', 'broker-configs'], ['consumer_groups', 'consumer-groups'], ['topics', 'topics'], ['partition_reassignments', 'topics/-/partitions/-/reassignment']]) {
        assert.deepEqual(c[field as string], { related: `${self}/${path as string}` }, field)
      }
      const one = await call(url, 'GET', `/v3/clusters/${id}`)
      assert.deepEqual([one.status, one.json], [200, c])
      const wrong = await call(url, 'GET', '/v3/clusters/foobar')
      assert.deepEqual([wrong.status, wrong.json.error_code], [404, 404], wrong.text)
      const topics = await call(url, 'GET', '/v3/clusters/foobar/topics')
      assert.deepEqual([topics.status, topics.json], [404, { error_code: 404, message: 'Cluster foobar cannot be found.' }])
      assert.equal((await call(url, 'GET', '/v3/clusters/foobar/topics/p')).status, 404)
      assert.equal((await call(url, 'GET', '/v3/clusters', { headers: { accept: 'text/html' } })).status, 406)
      assert.equal((await call(url, 'DELETE', `/v3/clusters/${id}`)).status, 405)
      assert.equal((await call(url, 'GET', `/v3/clusters/${id}/acls`)).status, 404)
      t.diagnostic(`${kind}: cluster_id ${JSON.stringify(id)}`)
    })

    it('lists topics and gets one as TopicData; an unknown topic is 404 / 40403 (TopicsResource, KafkaExceptionMapper)', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url, partitions } = set
      const id = await clusterId(url)
      await produce(url, id, 'a-second', '{"value":{"type":"JSON","data":1}}')
      const list = await call(url, 'GET', `/v3/clusters/${id}/topics`)
      assert.deepEqual([list.status, list.json.kind], [200, 'KafkaTopicList'], list.text)
      assert.deepEqual(list.json.metadata, { self: `${url}/v3/clusters/${id}/topics`, next: null })
      assert.deepEqual(list.json.data.map((d: any) => d.topic_name), ['a-second', 'p'], 'sorted by name')
      const p = await call(url, 'GET', `/v3/clusters/${id}/topics/p`)
      const self = `${url}/v3/clusters/${id}/topics/p`
      assert.deepEqual(p.json, {
        kind: 'KafkaTopic',
        metadata: { self, resource_name: `crn:///kafka=${id}/topic=p` },
        cluster_id: id,
        topic_name: 'p',
        is_internal: false,
        replication_factor: 1,
        partitions_count: partitions,
        partitions: { related: `${self}/partitions` },
        configs: { related: `${self}/configs` },
        partition_reassignments: { related: `${self}/partitions/-/reassignment` },
        authorized_operations: []
      })
      const absent = await call(url, 'GET', `/v3/clusters/${id}/topics/nope`)
      assert.deepEqual([absent.status, absent.json.error_code], [404, 40403], absent.text)
    })

    it('produces one record of each type and reports partition, offset, timestamp, sizes and types (ProduceAction, ProduceResponse)', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url } = set
      const id = await clusterId(url)
      const before = Date.now()
      // The openapi `binary_and_json` example (partition 0 here), then STRING, then produceNothing's `{}`.
      const body = JSON.stringify({ partition_id: 0, headers: [{ name: 'Header-1', value: 'SGVhZGVyLTE=' }], key: { type: 'BINARY', data: 'Zm9vYmFy' }, value: { type: 'JSON', data: { foo: 'bar' } }, timestamp: '2021-02-05T19:14:42Z' })
      const one = await produce(url, id, 'p', body)
      assert.deepEqual([one.status, one.type], [200, JSON_TYPE], one.text)
      assert.equal(one.list.length, 1)
      const r = one.list[0]
      assert.deepEqual(Object.keys(r), ['error_code', 'cluster_id', 'topic_name', 'partition_id', 'offset', 'timestamp', 'key', 'value'])
      assert.deepEqual([r.error_code, r.cluster_id, r.topic_name, r.partition_id, r.offset], [200, id, 'p', 0, 0])
      assert.deepEqual([r.key, r.value], [{ type: 'BINARY', size: 6 }, { type: 'JSON', size: 13 }])
      assert.ok(Date.parse(r.timestamp) >= before - 1000, 'the stored time (the request\'s timestamp is not kept)')
      const str = await produce(url, id, 'p', '{"partition_id":0,"key":{"type":"STRING","data":"k1"},"value":{"type":"STRING","data":"héllo"}}{"partition_id":0}')
      assert.deepEqual(str.list.map((x) => [x.error_code, x.offset, x.key, x.value]), [
        [200, 1, { type: 'STRING', size: 2 }, { type: 'STRING', size: 6 }],
        [200, 2, undefined, undefined]
      ])
      // Read the bytes back with a v2 binary consumer: Kafka's view of what was stored.
      const path = await consumer(url, `g-${kind}`, 'c', ['p'], { format: 'binary' })
      const got: any[] = []
      for (let i = 0; i < 50 && got.length < 3; i++) {
        const page = await call(url, 'GET', `${path}/records?timeout=500`, { headers: { accept: V2_BINARY } })
        assert.equal(page.status, 200, page.text)
        got.push(...page.json.filter((m: any) => m.partition === 0))
      }
      assert.deepEqual(got.map((m) => [m.offset, m.key, m.value]), [
        [0, b64('foobar'), b64('{"foo":"bar"}')],
        [1, b64('k1'), b64('héllo')],
        [2, null, null]
      ])
    })

    it('streams: concatenated requests get one report each, in order, errors per record (ProduceActionIntegrationTest, NoSchemaRecordSerializer, Errors)', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url, partitions } = set
      const id = await clusterId(url)
      const good = Array.from({ length: 100 }, (_, i) => JSON.stringify({ key: { type: 'JSON', data: `key-${i}` }, value: { type: 'JSON', data: `value-${i}` } }))
      const bad = [
        ['{"value":{"type":"BINARY","data":1}}', 400, 'Bad Request: data=1 is not a base64 string.'], // produceBinaryBatchWithInvalidData
        ['{ "records": {"subject": "foobar" } }', 400, undefined], // produceWithInvalidData_throwsBadRequest: unknown field
        ['{"key":{"type":"BINARY","subject":"foobar"}}', 400, undefined], // produceBinaryWithSchemaSubject_returnsBadRequest
        ['{"value":{"data":1000}}', 42206, 'Payload error. Schema Registry must be configured when using schemas.'], // latest_schema, no registry
        ['{"partition_id":-1,"value":{"type":"JSON","data":1}}', 40402, 'Partition not found.'],
        [`{"partition_id":${partitions},"value":{"type":"JSON","data":1}}`, kind === 'kafka' ? 50002 : 40402, undefined]
      ] as const
      // Good records, then the bad ones interleaved, with no separator at all (`}{`) as Confluent's test writes them.
      const body = [...good.slice(0, 50), ...bad.map((b) => b[0]), ...good.slice(50)].join('')
      const a = await produce(url, id, 'p', body)
      assert.equal(a.status, 200, a.text)
      assert.equal(a.list.length, good.length + bad.length)
      const errors = a.list.slice(50, 50 + bad.length)
      for (let i = 0; i < bad.length; i++) {
        const [, code, message] = bad[i]!
        assert.equal(errors[i].error_code, code, `${bad[i]![0]} → ${JSON.stringify(errors[i])}`)
        assert.deepEqual(Object.keys(errors[i]), ['error_code', 'message'])
        if (message !== undefined) assert.equal(errors[i].message, message)
      }
      const stored = [...a.list.slice(0, 50), ...a.list.slice(50 + bad.length)]
      stored.forEach((r, i) => assert.deepEqual([r.error_code, r.key, r.value], [200, { type: 'JSON', size: JSON.stringify(`key-${i}`).length }, { type: 'JSON', size: JSON.stringify(`value-${i}`).length }]))
      const perPartition = new Map<number, number[]>()
      for (const r of stored) perPartition.set(r.partition_id, [...perPartition.get(r.partition_id) ?? [], r.offset])
      for (const offsets of perPartition.values()) assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), 'offsets rise in request order')
      assert.equal(new Set(stored.map((r) => `${r.partition_id}:${r.offset}`)).size, 100, 'every good record has its own offset')
      t.diagnostic(`${kind}: 100 stored across ${perPartition.size} partition(s), ${bad.length} refused per record: ${errors.map((e) => e.error_code).join(' ')}`)
    })

    it('answers as it reads: a report comes back before the request body ends (full duplex, examples/produce_v3/javascript/main.js)', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url } = set
      const id = await clusterId(url)
      const target = new URL(`${url}/v3/clusters/${id}/topics/p/records`)
      const got: any[] = []
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': JSON_TYPE, 'transfer-encoding': 'chunked' } }, (res) => {
          assert.equal(res.statusCode, 200)
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => {
            text += chunk
            const done = text.split('\r\n')
            text = done.pop() as string
            for (const line of done) {
              if (line === '') continue
              got.push(JSON.parse(line))
              // The next record is written only once this one's report came: the server must answer mid-request.
              if (got.length < 5) req.write(JSON.stringify({ value: { type: 'JSON', data: { foo: got.length + 1 } } }))
              else req.end()
            }
          })
          res.on('end', resolve)
          res.on('error', reject)
        })
        req.on('error', reject)
        req.write(JSON.stringify({ value: { type: 'JSON', data: { foo: 1 } } }))
      })
      assert.deepEqual(got.map((r) => r.error_code), [200, 200, 200, 200, 200])
    })

    it('refuses whole requests before the first report: empty 42206, not JSON content 415, bad charset 400, wrong cluster 404; bad JSON ends the stream with 400', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url } = set
      const id = await clusterId(url)
      const empty = await produce(url, id, 'p', '')
      assert.deepEqual([empty.status, JSON.parse(empty.text)], [422, { error_code: 42206, message: 'Payload error. Request body is empty. Data is required.' }])
      const v2 = await call(url, 'POST', `/v3/clusters/${id}/topics/p/records`, { body: '{}', type: V2 })
      assert.equal(v2.status, 415)
      const latin = await call(url, 'POST', `/v3/clusters/${id}/topics/p/records`, { body: '{}', type: 'application/json; charset=utf-16' })
      assert.equal(latin.status, 400)
      const wrong = await produce(url, 'foobar', 'p', '{}')
      assert.deepEqual([wrong.status, JSON.parse(wrong.text).error_code], [404, 404])
      assert.equal((await call(url, 'GET', `/v3/clusters/${id}/topics/p/records`)).status, 405)
      const cut = await produce(url, id, 'p', '{"value":{"type":"JSON","data":1}}{"value":{"type":')
      assert.equal(cut.status, 200)
      assert.deepEqual(cut.list.map((r) => r.error_code), [200, 400], 'StreamingResponse: a parse error is the last report')
      const garbage = await produce(url, id, 'p', '{"value":{"type":"JSON","data":1}} nope {"value":{"type":"JSON","data":2}}')
      assert.deepEqual(garbage.list.map((r) => r.error_code), [200, 400])
    })
  })
}

describe('error codes beside Confluent\'s (Errors.java)', () => {
  it('42206 is Confluent\'s "Payload error" only: maxTopics answers 42220 (ours); a bad /actions ack is 422 / 422, not Confluent\'s 42202 ("value schema missing")', async (t) => {
    const { url } = await startServer(t, { maxTopics: 1, topics: ['only'] })
    const past = await call(url, 'POST', '/topics/another', { body: { records: [{ value: 1 }] } })
    assert.deepEqual([past.status, past.json.error_code], [422, 42220], past.text)
    const v3 = await produce(url, 'memory', 'another', '{"value":{"type":"JSON","data":1}}')
    assert.deepEqual(v3.list.map((r) => r.error_code), [42220], 'per record in v3')
    const act = async (body: object): Promise<any> => await call(url, 'POST', '/actions', { body, type: JSON_TYPE })
    const id = (await act({ action: 'actionSubscribe', topic: 'only', from: 'earliest', delivery: 'at-least-once' })).json.subscriberId
    for (const ack of [-1, 'x', { only: -5 }, {}]) {
      const bad = await act({ action: 'actionFetchStream', subscriberId: id, ack })
      assert.deepEqual([bad.status, bad.json.error_code], [422, 422], `ack ${JSON.stringify(ack)}: ${JSON.stringify(bad.json)}`)
    }
  })
})

describe('v3 produce read whole: gzip bodies and Idempotency-Key (dedup.ts)', () => {
  it('a gzip body is answered record by record; a repeated Idempotency-Key gets the first answer back and stores nothing again', async (t) => {
    const { url } = await startServer(t)
    const body = '{"value":{"type":"JSON","data":1}}{"value":{"type":"STRING","data":"two"}}'
    const gz = await call(url, 'POST', '/v3/clusters/memory/topics/z/records', { body: gzipSync(body), type: JSON_TYPE, headers: { 'content-encoding': 'gzip' } })
    assert.deepEqual(reports(gz.text).map((r) => [r.error_code, r.offset]), [[200, 0], [200, 1]])
    const keyed = { body, type: JSON_TYPE, headers: { 'idempotency-key': 'k-1' } }
    const first = await call(url, 'POST', '/v3/clusters/memory/topics/z/records', keyed)
    const again = await call(url, 'POST', '/v3/clusters/memory/topics/z/records', keyed)
    assert.deepEqual(reports(first.text).map((r) => r.offset), [2, 3])
    assert.equal(again.text, first.text)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal((await call(url, 'GET', '/topics/z/partitions/0/offsets')).json.end_offset, 4, 'the replayed request stored nothing')
  })
})
