/**
 * The writable's `kafka-rest-v3` encoding: records go to `…/v3/clusters/{cluster_id}/topics/{topic}/records`
 * in Kafka REST v3's streaming mode (concatenated produce requests, one delivery report per record,
 * Confluent kafka-rest `resources/v3/ProduceAction.java`, `response/StreamingResponse.java`,
 * `entities/v3/ProduceResponse.java`), read record by record (`itemResults: 'kafka-rest-v3'`): into our
 * server on both receivers, batched and with `batch: false`, and against a real HTTP server answering
 * reports in Confluent's shape with retriable codes (rest-utils `KafkaExceptionMapper.java`: 50003).
 * Every record written is delivered or stored ("nothing lost"); duplicates are counted.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { createHttpWritable, type HttpWritableOptions } from '../lib/index.js'
import { assertNothingLost, readFailoverDir } from './helpers/ledger.js'
import { call, startServer } from './helpers/server-fixture.js'
import { feed, FAST, settled } from './helpers/writable-harness.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }
const V2_JSON = 'application/vnd.kafka.json.v2+json'

/** A sink failing over to a temp file store; both go when the test ends. */
async function sinkTo (t: TestContext, url: string, options: HttpWritableOptions): Promise<{ sink: ReturnType<typeof createHttpWritable>, dir: string }> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-v3-'))
  const dir = join(root, 'failover')
  const sink = createHttpWritable({ url, failover: `file:${dir}`, ...FAST, encoding: 'kafka-rest-v3', ...options })
  t.after(async () => {
    sink.destroy()
    await settled(sink)
    await rm(root, { recursive: true, force: true })
  })
  return { sink, dir }
}

/** Every value in a memory topic, read with a v2 json consumer. */
async function topicValues (url: string, topic: string): Promise<unknown[]> {
  const group = `read-${topic}`
  await call(url, 'POST', `/consumers/${group}`, { body: { name: 'c', format: 'json', 'auto.offset.reset': 'earliest' }, type: 'application/vnd.kafka.v2+json' })
  const path = `/consumers/${group}/instances/c`
  await call(url, 'POST', `${path}/subscription`, { body: { topics: [topic] }, type: 'application/vnd.kafka.v2+json' })
  const out: unknown[] = []
  for (;;) {
    const page = await call(url, 'GET', `${path}/records?timeout=200&max_bytes=8000000`, { headers: { accept: V2_JSON } })
    assert.equal(page.status, 200, page.text)
    if (page.json.length === 0) return out
    out.push(...page.json.map((m: { value: unknown }) => m.value))
  }
}

describe('encoding kafka-rest-v3', { timeout: 60_000 }, () => {
  for (const batch of [{ maxRecords: 500, lingerMs: 5 }, false] as const) {
    it(`into the memory receiver (${batch === false ? 'batch: false, one record per request' : 'batches of 500'}): per-record refusals fail over, the rest is in the topic once`, async (t) => {
      // The topic's JSON Schema refuses records with ok: false (422 / 42203, one record at a time in v3).
      const server = await startServer(t, { schemas: { orders: { type: 'object', properties: { ok: { const: true } } } } })
      const n = batch === false ? 300 : 3000
      const written = Array.from({ length: n }, (_, id) => ({ id, ok: id % 97 !== 5 }))
      const { sink, dir } = await sinkTo(t, `${server.url}/v3/clusters/memory/topics/orders/records`, { batch })
      const fed = await feed(sink, written)
      assert.equal(fed.error, undefined)
      const envelopes = readFailoverDir(dir)
      const delivered = await topicValues(server.url, 'orders')
      const report = assertNothingLost({ written: fed.written, delivered, stored: envelopes.map((e) => e.record) })
      const bad = written.filter((r) => !r.ok)
      assert.deepEqual(envelopes.map((e) => e.record).sort((a: any, b: any) => a.id - b.id), bad)
      assert.ok(envelopes.every((e) => e.status === 422 && /error_code 42203/.test(e.error ?? '')), String(envelopes[0]?.error))
      assert.deepEqual([delivered.length, report.duplicates], [n - bad.length, 0])
      const requests = server.metrics.requests.get('kafka-rest-v3 200') ?? 0
      if (batch === false) assert.equal(requests, n, 'one record per request')
      else assert.ok(requests <= n / 100, `batched: ${requests} requests`)
      t.diagnostic(`written ${n}, in topic ${delivered.length}, stored ${envelopes.length} (42203), duplicates ${report.duplicates}, requests ${requests}; stats ${JSON.stringify(sink.stats())}`)
    })
  }

  it('against a server answering Confluent-shaped reports: 50003 retries that record only, 40401 fails it, a short answer retries the rest', async (t) => {
    const arrivals = new Map<number, number>()
    const delivered: unknown[] = []
    let requests = 0
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        requests++
        assert.equal(req.headers['content-type'], 'application/json')
        const ids = Buffer.concat(chunks).toString().split('\n').map((l) => (JSON.parse(l) as { value: { type: string, data: { id: number } } }).value.data.id)
        res.writeHead(200, { 'content-type': 'application/json' })
        for (const [i, id] of ids.entries()) {
          // The first request's answer stops after 3 reports (StreamingResponse closing a stream open too long).
          if (requests === 1 && i === 3) break
          const arrival = (arrivals.get(id) ?? 0) + 1
          arrivals.set(id, arrival)
          if (id % 10 === 3 && arrival === 1) res.write(JSON.stringify({ error_code: 50003, message: 'Retriable Kafka error: NOT_LEADER_OR_FOLLOWER' }) + '\r\n')
          else if (id === 17) res.write(JSON.stringify({ error_code: 40401, message: 'Topic t not present in metadata after 60000 ms.' }) + '\r\n')
          else {
            delivered.push({ id })
            res.write(JSON.stringify({ error_code: 200, cluster_id: 'lkc-1', topic_name: 't', partition_id: 0, offset: delivered.length - 1, timestamp: '2021-02-05T19:14:42Z', value: { type: 'JSON', size: 8 } }) + '\r\n')
          }
        }
        res.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/clusters/lkc-1/topics/t/records`
    const { sink, dir } = await sinkTo(t, url, { batch: { maxRecords: 50, lingerMs: 5 } })
    const written = Array.from({ length: 200 }, (_, id) => ({ id }))
    const fed = await feed(sink, written)
    assert.equal(fed.error, undefined)
    const envelopes = readFailoverDir(dir)
    const report = assertNothingLost({ written: fed.written, delivered, stored: envelopes.map((e) => e.record) })
    assert.deepEqual(envelopes.map((e) => e.record), [{ id: 17 }])
    assert.match(envelopes[0]!.error ?? '', /error_code 40401: Topic t not present/)
    assert.equal(envelopes[0]!.status, 404)
    assert.deepEqual([delivered.length, report.duplicates], [199, 0])
    const retried = [...arrivals].filter(([id, k]) => id % 10 === 3 && k === 2).length
    assert.equal(retried, 20, 'each 50003 record was sent twice, no other was')
    assert.ok([...arrivals].every(([id, k]) => k === (id % 10 === 3 ? 2 : 1)), 'records past a short answer were answered once, when sent again')
    assert.equal(arrivals.size, 200)
    t.diagnostic(`requests ${requests}, delivered ${delivered.length}, stored ${envelopes.length}, retried (50003) ${retried}, stats ${JSON.stringify(sink.stats())}`)
  })

  it('into the Kafka receiver (librdkafka mock): every record is in Kafka once', async (t) => {
    const kafka = await startKafkaMock(['k:3'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    const server = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    const cluster = (await call(server.url, 'GET', '/v3/clusters')).json.data[0].cluster_id as string
    const { sink, dir } = await sinkTo(t, `${server.url}/v3/clusters/${cluster}/topics/k/records`, { batch: { maxRecords: 200, lingerMs: 5 } })
    const n = 2000
    const fed = await feed(sink, Array.from({ length: n }, (_, id) => ({ id })))
    assert.equal(fed.error, undefined)
    assert.deepEqual(readFailoverDir(dir), [])
    let total = 0
    for (const p of [0, 1, 2]) total += (await call(server.url, 'GET', `/topics/k/partitions/${p}/offsets`)).json.end_offset as number
    assert.deepEqual([sink.stats().delivered, total], [n, n])
    t.diagnostic(`cluster ${cluster}: delivered ${n}, end offsets sum ${total}`)
  })

  it('a wrong cluster id in the url is a 404 for the whole request: records fail over, none is stored twice', async (t) => {
    const server = await startServer(t)
    const { sink, dir } = await sinkTo(t, `${server.url}/v3/clusters/nope/topics/t/records`, { batch: { maxRecords: 10, lingerMs: 5 } })
    const fed = await feed(sink, Array.from({ length: 25 }, (_, id) => ({ id })))
    assert.equal(fed.error, undefined)
    const envelopes = readFailoverDir(dir)
    assert.equal(envelopes.length, 25)
    assert.ok(envelopes.every((e) => e.status === 404))
  })
})
