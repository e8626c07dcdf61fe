/**
 * /actions speaks spark-http-stream's protocol as its own client reads it. Requests and answers are
 * taken from bluejoe2008/spark-http-stream, src/main/scala/org/apache/spark/sql/execution/streaming/http/:
 * - HttpStreamClient.scala: sendRows reads res("rowsCount"), subscribe reads res("subscriberId") and
 *   res("schema"), fetchStream reads res("rows"), fetchSchema reads res("schema"), unsubscribe reads
 *   res("subscriberId"); executeRequest posts Kryo bytes as ContentType.APPLICATION_OCTET_STREAM.
 * - ActionsHandler.scala (handleSendStream): Map("rowsCount" -> rows.size); batchId is a Long.
 * - MemoryBufferAsReceiver.scala: handleSubscribe answers subscriberId, topic, schema; handleFetchStream
 *   answers rows and rowsCount and clears the subscriber's buffer (each fetch returns rows not returned before).
 * - HttpStreamSource.scala: the reader thread fetches forever and never acknowledges.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { call, startServer } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const act = async (url: string, body: Record<string, unknown>): Promise<{ status: number, json: any, text: string }> =>
  await call(url, 'POST', '/actions', { body, type: 'application/json' })

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

/**
 * A server on the memory receiver, or on the kafka receiver over librdkafka's mock cluster (skipped
 * when it cannot start; the server closes before the cluster stops).
 */
const RECEIVERS: Array<[string, (t: TestContext) => Promise<string | undefined>]> = [
  ['memory', async (t) => (await startServer(t)).url],
  ['kafka', async (t) => {
    const kafka = await startKafkaMock(['spark:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    return url
  }]
]

/** Fetches as HttpStreamSource's reader thread does (no ack), until `n` rows came or `tries` fetches passed. */
async function fetchAll (url: string, subscriberId: string, n: number, extra: Record<string, unknown> = {}, tries = 200): Promise<{ rows: any[], fetches: number }> {
  const rows: any[] = []
  let fetches = 0
  while (rows.length < n && fetches < tries) {
    const got = await act(url, { action: 'actionFetchStream', subscriberId, timeout: 200, ...extra })
    assert.equal(got.status, 200, got.text)
    assert.equal(got.json.rowsCount, got.json.rows.length, 'rowsCount counts the rows of this answer')
    rows.push(...got.json.rows)
    fetches++
  }
  return { rows, fetches }
}

describe('/actions as spark-http-stream speaks it', { timeout: 120_000 }, () => {
  for (const [kind, serve] of RECEIVERS) {
    it(`${kind}: sendStream answers rowsCount and batchId as sent; subscribe answers subscriberId, topic, schema`, async (t) => {
      const url = await serve(t)
      if (url === undefined) return
      // HttpStreamClient.subscribe: Map("action" -> "actionSubscribe", "topic" -> topic)
      const sub = await act(url, { action: 'actionSubscribe', topic: 'spark', from: 'earliest' })
      assert.equal(sub.status, 200, sub.text)
      assert.equal(typeof sub.json.subscriberId, 'string')
      assert.equal(sub.json.topic, 'spark')
      assert.ok('schema' in sub.json, 'schema is answered (null when the topic has none)')
      assert.equal(sub.json.delivery, 'at-most-once', 'the default follows the original')
      // HttpStreamClient.sendRows: Map("action" -> "actionSendStream", "topic", "batchId" -> Long, "rows")
      const sent = await act(url, { action: 'actionSendStream', topic: 'spark', batchId: 42, rows: [['a', 1], ['b', 2], ['c', 3]] })
      assert.equal(sent.status, 200, sent.text)
      assert.equal(sent.json.rowsCount, 3)
      assert.equal(sent.json.batchId, 42, 'a number stays a number')
      const { rows } = await fetchAll(url, sub.json.subscriberId, 3)
      assert.deepEqual(rows.map(r => [r.batchId, r.offsetInBatch, r.row]), [[42, 0, ['a', 1]], [42, 1, ['b', 2]], [42, 2, ['c', 3]]])
      // HttpStreamClient.unsubscribe reads res("subscriberId")
      const bye = await act(url, { action: 'actionUnsubscribe', subscriberId: sub.json.subscriberId })
      assert.equal(bye.json.subscriberId, sub.json.subscriberId)
    })

    it(`${kind}: a client that never acks gets each row once, and does not stall past maxBytes`, async (t) => {
      const url = await serve(t)
      if (url === undefined) return
      const id = (await act(url, { action: 'actionSubscribe', topic: 'spark', from: 'earliest' })).json.subscriberId
      const total = 300
      for (let b = 0; b < 3; b++) {
        const sent = await act(url, { action: 'actionSendStream', topic: 'spark', batchId: b, rows: Array.from({ length: 100 }, (_, i) => `row-${b}-${i}-${'x'.repeat(40)}`) })
        assert.equal(sent.json.rowsCount, 100)
      }
      // maxBytes far below what is pending: the original would hand out everything; we page, advancing.
      const { rows, fetches } = await fetchAll(url, id, total, { maxBytes: 1000 })
      const seen = rows.map(r => r.row)
      const unique = new Set(seen)
      t.diagnostic(`${kind}: ${rows.length} rows in ${fetches} fetches, ${seen.length - unique.size} duplicates`)
      assert.equal(unique.size, total, 'every row arrived')
      assert.equal(seen.length, total, 'no row came twice')
      const after = await act(url, { action: 'actionFetchStream', subscriberId: id })
      assert.deepEqual([after.json.rowsCount, after.json.rows], [0, []], 'nothing is returned again')
    })
  }

  it('fetchSchema answers schema (HttpStreamClient.fetchSchema reads res("schema"))', async (t) => {
    // Ours are JSON Schemas (the original's is a Spark StructType): the key is the same.
    const schema = { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] }
    const { url } = await startServer(t, { schemas: { typed: schema } })
    assert.deepEqual((await act(url, { action: 'actionFetchSchema', topic: 'typed' })).json.schema, schema)
    assert.deepEqual((await act(url, { action: 'actionSubscribe', topic: 'typed' })).json.schema, schema)
  })

  it('at-least-once stays available as an explicit option of actionSubscribe', async (t) => {
    const { url } = await startServer(t)
    const id = (await act(url, { action: 'actionSubscribe', topic: 'alo', from: 'earliest', delivery: 'at-least-once' })).json.subscriberId
    await act(url, { action: 'actionSendStream', topic: 'alo', batchId: 0, rows: [1, 2, 3] })
    const first = await act(url, { action: 'actionFetchStream', subscriberId: id })
    const again = await act(url, { action: 'actionFetchStream', subscriberId: id })
    assert.deepEqual([first.json.rowsCount, again.json.rows.map((r: any) => r.row)], [3, [1, 2, 3]], 'rows stay until acked')
    const acked = await act(url, { action: 'actionFetchStream', subscriberId: id, ack: first.json.rows[2].offset })
    assert.deepEqual([acked.json.rowsCount, acked.json.rows], [0, []])
    const bad = await act(url, { action: 'actionSubscribe', topic: 'alo', delivery: 'exactly-once' })
    assert.deepEqual([bad.status, bad.json.error_code], [422, 422])
    assert.match(bad.json.message, /at-least-once/)
    const plain = (await act(url, { action: 'actionSubscribe', topic: 'alo' })).json.subscriberId
    const misuse = await act(url, { action: 'actionFetchStream', subscriberId: plain, ack: 0 })
    assert.equal(misuse.status, 422, 'ack on an advancing subscriber is refused, not silently ignored')
  })

  it("answers a Kryo body (HttpStreamClient's application/octet-stream, or application/x-kryo) with 415 naming JSON", async (t) => {
    const { url } = await startServer(t)
    // Kryo's writeClassAndObject of an unregistered class starts with 0x01 and the class name (scala.collection.immutable.Map$Map2).
    const kryo = Buffer.concat([Buffer.from([0x01]), Buffer.from('scala.collection.immutable.Map$Map2', 'latin1'), Buffer.from([0x03, 0x01, 0x61, 0x63, 0x74, 0x69, 0x6f, 0xee])])
    for (const type of ['application/octet-stream', 'application/x-kryo']) {
      const a = await call(url, 'POST', '/actions', { body: kryo, type })
      assert.deepEqual([a.status, a.json?.error_code], [415, 415], type)
      assert.match(a.json.message, /JSON/)
      assert.match(a.json.message, /Kryo/)
    }
    const json = await act(url, { action: 'actionFetchSchema', topic: 'still-fine' })
    assert.equal(json.status, 200, 'JSON on the same connection pool still works')
  })
})
