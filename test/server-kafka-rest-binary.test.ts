/**
 * Kafka REST v2 binary embedded format and content negotiation, against both receivers. Requests and
 * answers follow Confluent's kafka-rest: `Versions.java` (content types), `v2/ProduceToTopicAction`
 * (@Consumes binary, json, avro, protobuf, jsonschema), `entities/v2/BinaryConsumerRecord` (topic,
 * key, value base64, partition, offset), `v2/ConsumersResource#readRecordBinary` (@Produces binary
 * and v2; a consumer of another format answers 406 / 40601, `Errors.CONSUMER_FORMAT_MISMATCH`), and
 * the quickstart of its docs (`{"records":[{"value":"S2Fma2E="}]}`, "Kafka" in base64). With the Kafka
 * receiver the bytes on the wire are the raw bytes, checked with Debian kcat.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { call, consumer, startServer, V2, V2_JSON, type Answer } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { missing, requireService } from './services/require-service.js'

const V2_BINARY = 'application/vnd.kafka.binary.v2+json'
const KCAT = '/usr/bin/kcat'
const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }
const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64')
/** Bytes that are no UTF-8 text at all. */
const RAW = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41])

interface Setup { url: string, brokers?: string[] }

/** A server on the memory receiver, or on the Kafka receiver over librdkafka's mock cluster (skipped when it cannot be built). */
async function setUp (t: TestContext, kind: 'memory' | 'kafka', topics: string[]): Promise<Setup | undefined> {
  if (kind === 'memory') return { url: (await startServer(t)).url }
  const kafka = await startKafkaMock(topics.map(name => `${name}:1`))
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
  const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
  t.after(() => kafka.stop())
  return { url, brokers: kafka.brokers }
}

/** Polls until `n` records came, or an answer is not 200 (the first Kafka poll waits for the group join). */
async function poll (url: string, path: string, n: number, accept: string): Promise<{ records: any[], last: Answer }> {
  const records: any[] = []
  let last: Answer | undefined
  for (let i = 0; i < 60 && records.length < n; i++) {
    last = await call(url, 'GET', `${path}/records?timeout=500`, { headers: { accept } })
    if (last.status !== 200) break
    records.push(...last.json)
  }
  return { records, last: last as Answer }
}

/** Every message of a one-partition topic as kcat sees its bytes (`-f '%K:%k%S:%s'`): key and value, null when absent. */
function kcatRaw (brokers: string[], topic: string): Array<{ key: Buffer | null, value: Buffer | null }> {
  const out = execFileSync(KCAT, ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%K:%k%S:%s'], { timeout: 30_000 })
  const messages: Array<{ key: Buffer | null, value: Buffer | null }> = []
  let at = 0
  const part = (): Buffer | null => {
    const colon = out.indexOf(0x3a, at)
    const size = Number(out.toString('latin1', at, colon))
    at = colon + 1
    if (size < 0) return null
    const bytes = out.subarray(at, at + size)
    at += size
    return bytes
  }
  while (at < out.length) messages.push({ key: part(), value: part() })
  return messages
}

for (const kind of ['memory', 'kafka'] as const) {
  describe(`Kafka REST v2 binary embedded format (${kind} receiver)`, { timeout: 180_000 }, () => {
    it('produces base64 keys and values and a binary consumer reads the same bytes back (Confluent quickstart)', async (t) => {
      const set = await setUp(t, kind, ['binarytest'])
      if (set === undefined) return
      const { url } = set
      const records = [{ value: 'S2Fma2E=' }, { key: b64('key'), value: b64(RAW) }, { key: b64(RAW), value: null }]
      const produced = await call(url, 'POST', '/topics/binarytest', { body: { records }, type: V2_BINARY })
      assert.equal(produced.status, 200, produced.text)
      assert.equal(produced.headers['content-type'], V2)
      assert.deepEqual(produced.json, {
        key_schema_id: null,
        value_schema_id: null,
        offsets: [0, 1, 2].map(offset => ({ partition: 0, offset, error_code: null, error: null }))
      })
      const path = await consumer(url, 'bin', 'my_consumer_instance', ['binarytest'], { format: 'binary' })
      const got = await poll(url, path, 3, V2_BINARY)
      assert.equal(got.last.status, 200, got.last.text)
      assert.equal(got.last.headers['content-type'], V2_BINARY)
      assert.deepEqual(got.records.map(r => ({ topic: r.topic, key: r.key, value: r.value, partition: r.partition, offset: r.offset })), [
        { topic: 'binarytest', key: null, value: 'S2Fma2E=', partition: 0, offset: 0 },
        { topic: 'binarytest', key: b64('key'), value: b64(RAW), partition: 0, offset: 1 },
        { topic: 'binarytest', key: b64(RAW), value: null, partition: 0, offset: 2 }
      ])
      assert.equal(Buffer.from(got.records[0].value, 'base64').toString(), 'Kafka')
      if (set.brokers !== undefined && existsSync(KCAT)) {
        const wire = kcatRaw(set.brokers, 'binarytest')
        assert.deepEqual(wire, [
          { key: null, value: Buffer.from('Kafka') },
          { key: Buffer.from('key'), value: RAW },
          { key: RAW, value: null }
        ], 'the raw bytes are on the wire (not their base64, not JSON texts)')
        t.diagnostic(`kcat read ${wire.length} messages byte for byte`)
      } else if (set.brokers !== undefined) {
        requireService(t, missing(`${KCAT} not found (apt-get install kcat)`), 'kcat')
      }
    })

    it('a consumer created without "format" is binary, as Confluent\'s (ConsumersResource: EmbeddedFormat.BINARY by default)', async (t) => {
      const set = await setUp(t, kind, ['nofmt'])
      if (set === undefined) return
      const { url } = set
      assert.equal((await call(url, 'POST', '/topics/nofmt', { body: { records: [{ value: { a: 1 } }] }, type: V2_JSON })).status, 200)
      const created = await call(url, 'POST', '/consumers/nofmt', { body: { name: 'plain', 'auto.offset.reset': 'earliest' }, type: V2 })
      assert.equal(created.status, 200, created.text)
      const path = '/consumers/nofmt/instances/plain'
      assert.equal((await call(url, 'POST', `${path}/subscription`, { body: { topics: ['nofmt'] }, type: V2 })).status, 204)
      const asJson = await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept: V2_JSON } })
      assert.deepEqual([asJson.status, asJson.json.error_code], [406, 40601], asJson.text)
      const got = await poll(url, path, 1, V2_BINARY)
      assert.equal(got.last.status, 200, got.last.text)
      assert.deepEqual(got.records.map(r => r.value), [b64('{"a":1}')])
    })

    it('crosses formats as Kafka bytes do: JSON texts read as their bytes, JSON bytes read as JSON, other bytes answer 500 / 50002 at their offset', async (t) => {
      const set = await setUp(t, kind, ['cross'])
      if (set === undefined) return
      const { url } = set
      assert.equal((await call(url, 'POST', '/topics/cross', { body: { records: [{ key: 'k', value: { a: 1 } }] }, type: V2_JSON })).status, 200)
      assert.equal((await call(url, 'POST', '/topics/cross', { body: { records: [{ key: b64('7'), value: b64('{"b":2}') }, { value: b64(RAW) }] }, type: V2_BINARY })).status, 200)
      const bin = await consumer(url, 'cross-bin', 'one', ['cross'], { format: 'binary' })
      const asBinary = await poll(url, bin, 3, V2_BINARY)
      assert.deepEqual(asBinary.records.map(r => [r.key, r.value]), [[b64('"k"'), b64('{"a":1}')], [b64('7'), b64('{"b":2}')], [null, b64(RAW)]])
      const json = await consumer(url, 'cross-json', 'one', ['cross'])
      const asJson = await poll(url, json, 3, V2_JSON)
      assert.deepEqual(asJson.records.map(r => [r.offset, r.key, r.value]), [[0, 'k', { a: 1 }], [1, 7, { b: 2 }]])
      assert.deepEqual([asJson.last.status, asJson.last.json.error_code], [500, 50002], asJson.last.text)
      assert.match(asJson.last.json.message, /offset 2: its value is not JSON \(5 bytes, not UTF-8\)/)
      const again = await call(url, 'GET', `${json}/records?timeout=0`, { headers: { accept: V2_JSON } })
      assert.deepEqual([again.status, again.json.error_code], [500, 50002], 'it stays at that offset until a seek')
      t.diagnostic(`binary consumer read ${asBinary.records.length}, json consumer ${asJson.records.length} then 50002`)
    })

    it('negotiates as Confluent does: Content-Type picks the produce format, Accept must match the consumer format', async (t) => {
      const set = await setUp(t, kind, ['neg'])
      if (set === undefined) return
      const { url } = set
      for (const type of ['application/vnd.kafka.avro.v2+json', 'application/vnd.kafka.protobuf.v2+json', 'application/vnd.kafka.jsonschema.v2+json']) {
        const refused = await call(url, 'POST', '/topics/neg', { body: { records: [{ value: 'AA==' }] }, type })
        assert.deepEqual([refused.status, refused.json.error_code], [415, 415], type)
        assert.match(refused.json.message, /needs a schema registry.*application\/vnd\.kafka\.binary\.v2\+json \(binary\), application\/vnd\.kafka\.json\.v2\+json \(json\)/)
      }
      assert.deepEqual((await call(url, 'POST', '/topics/neg', { body: { records: [{ value: 'not base64!' }] }, type: V2_BINARY })).json.error_code, 42203)
      const html = await call(url, 'POST', '/topics/neg', { body: { records: [{ value: 'AA==' }] }, type: V2_BINARY, headers: { accept: 'text/html' } })
      assert.deepEqual([html.status, html.json.error_code], [406, 406])
      // The Accept checks are the route's; a Kafka consumer that never joins its group slows the teardown.
      if (kind === 'kafka') return
      const bin = await consumer(url, 'neg-bin', 'one', ['neg'], { format: 'binary' })
      const json = await consumer(url, 'neg-json', 'one', ['neg'])
      // readRecordBinary @Produces binary and v2; readRecordJson @Produces json.
      for (const [path, accept, status, code] of [
        [bin, V2_JSON, 406, 40601], [bin, V2, 200, undefined], [bin, '*/*', 200, undefined], [bin, 'text/html', 406, 406],
        [json, V2_BINARY, 406, 40601], [json, V2, 406, 40601], [json, 'application/json', 200, undefined],
        [json, `text/html, ${V2_JSON};q=0.1`, 200, undefined], [json, `${V2_JSON};q=0`, 406, 406]
      ] as const) {
        const a = await call(url, 'GET', `${path}/records?timeout=0`, { headers: { accept } })
        assert.deepEqual([a.status, a.json?.error_code], [status, code], `${path} Accept: ${accept} ${a.text}`)
      }
      const avro = await call(url, 'POST', '/consumers/neg-avro', { body: { format: 'avro' }, type: V2 })
      assert.deepEqual([avro.status, avro.json.error_code], [422, 42204])
      assert.match(avro.json.message, /schema registry/)
    })
  })
}
