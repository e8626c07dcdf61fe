/**
 * The memory receiver behind the server: retention by records and bytes, 429 with a Retry-After
 * that grows with how far over the limit a request would go, eviction of what every group has
 * committed, counted drops with onFull 'drop-oldest', JSON Schema per topic (a bad record refuses the
 * whole request with the ajv path), and /metrics + /healthz.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryReceiver } from '../lib/server/receivers/memory.js'
import { call, consumer, drain, NDJSON, produce, startServer, V2 } from './helpers/server-fixture.js'

const values = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i)

describe('memory receiver: retention and backpressure', () => {
  it('answers 429 with Retry-After when a topic is full, and accepts again once a group commits', async (t) => {
    const { url } = await startServer(t, { retention: { records: 10 } })
    const path = await consumer(url, 'g', 'c', ['q'])
    assert.equal((await produce(url, 'q', values(0, 10))).status, 200)
    const full = await produce(url, 'q', values(10, 1))
    assert.equal(full.status, 429)
    assert.equal(full.json.error_code, 42901)
    assert.equal(full.headers['retry-after'], '1', 'one record over the limit: the shortest wait')
    const far = await produce(url, 'q', values(10, 10))
    assert.equal(far.headers['retry-after'], '10', 'a whole topic over the limit: a longer wait')
    const got = await drain(url, path)
    assert.deepEqual(got.map(r => r.value), values(0, 10), 'nothing of the refused requests was stored')
    assert.equal((await produce(url, 'q', values(10, 1))).status, 429, 'fetched but not committed is still needed')
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'q', partition: 0, offset: 4 }] }, type: V2 })
    assert.equal((await produce(url, 'q', values(10, 5))).status, 200, 'the 5 committed records made room')
    assert.equal((await produce(url, 'q', values(15, 1))).status, 429)
    const metrics = (await call(url, 'GET', '/metrics')).text
    assert.match(metrics, /^http_stream_throttled_total\{topic="q"\} 4$/m)
  })

  it('limits by bytes too, and refuses a request larger than the retention with 413', async (t) => {
    const { url } = await startServer(t, { retention: { records: 1000, bytes: 100 } })
    await consumer(url, 'g', 'c', ['b'])
    const line = `"${'x'.repeat(38)}"\n`
    assert.equal((await call(url, 'POST', '/topics/b', { body: line + line, type: NDJSON })).status, 200, 'two 40-byte values fit in 100 bytes')
    assert.equal((await call(url, 'POST', '/topics/b', { body: line, type: NDJSON })).status, 429)
    const huge = await produce(url, 'b', ['y'.repeat(200)])
    assert.deepEqual([huge.status, huge.json.error_code], [413, 41301])
  })

  it('charges Kafka REST records the bytes of their own JSON text, not a share of the request', async (t) => {
    const { url } = await startServer(t, { retention: { records: 1000, bytes: 100 } })
    await consumer(url, 'g', 'c', ['r'])
    const value = 'x'.repeat(38)
    assert.equal((await produce(url, 'r', [value, value])).status, 200, 'two values of 40 bytes of JSON fit in 100 bytes')
    const third = await produce(url, 'r', [value])
    assert.deepEqual([third.status, third.json.error_code], [429, 42901])
  })

  it('without any group the topic keeps everything until full (nothing is evicted unread)', async (t) => {
    const { url } = await startServer(t, { retention: { records: 3 } })
    assert.equal((await produce(url, 'lonely', [1, 2, 3])).status, 200)
    assert.equal((await produce(url, 'lonely', [4])).status, 429)
    const path = await consumer(url, 'late', 'c', ['lonely'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), [1, 2, 3])
  })

  it("with onFull 'drop-oldest' evicts and counts every unconsumed record dropped", async (t) => {
    const { url } = await startServer(t, { retention: { records: 5 }, onFull: 'drop-oldest' })
    const path = await consumer(url, 'g', 'c', ['d'])
    await produce(url, 'd', values(0, 5))
    await drain(url, path, 2)
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'd', partition: 0, offset: 1 }] }, type: V2 })
    assert.equal((await produce(url, 'd', values(5, 4))).status, 200)
    const metrics = (await call(url, 'GET', '/metrics')).text
    assert.match(metrics, /^http_stream_records_dropped_total\{topic="d"\} 2$/m, 'offsets 2 and 3 were evicted unconsumed; 0 and 1 were committed')
    const fresh = await consumer(url, 'g2', 'c', ['d'])
    assert.deepEqual((await drain(url, fresh)).map(r => r.offset), [4, 5, 6, 7, 8])
  })

  it('computes lag per group and reports records and bytes in and out', async (t) => {
    const { url } = await startServer(t)
    const path = await consumer(url, 'lagging', 'c', ['m'])
    await call(url, 'POST', '/topics/m', { body: '"ab"\n"cd"\n"ef"\n', type: NDJSON })
    await drain(url, path, 3)
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'm', partition: 0, offset: 0 }] }, type: V2 })
    const m = await call(url, 'GET', '/metrics')
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/)
    assert.match(m.text, /^http_stream_records_in_total\{topic="m"\} 3$/m)
    assert.match(m.text, /^http_stream_bytes_in_total\{topic="m"\} 12$/m)
    assert.match(m.text, /^http_stream_records_out_total\{topic="m"\} 3$/m)
    assert.match(m.text, /^http_stream_consumer_lag\{group="lagging",topic="m",partition="0"\} 2$/m)
    assert.match(m.text, /^http_stream_requests_total\{surface="kafka-rest",status="200"\} \d+$/m)
    const h = await call(url, 'GET', '/healthz')
    assert.deepEqual(h.json, { status: 'ok', receiver: 'memory', consumers: 1 })
  })
})

describe('memory receiver: JSON Schema per topic', () => {
  const schema = { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } } }

  it('PUT then GET returns the schema; a topic without one is 404', async (t) => {
    const { url } = await startServer(t)
    assert.equal((await call(url, 'PUT', '/topics/s/schema', { body: schema, type: 'application/json' })).status, 204)
    const got = await call(url, 'GET', '/topics/s/schema')
    assert.deepEqual(got.json, schema)
    await produce(url, 'plain', [1])
    assert.deepEqual((await call(url, 'GET', '/topics/plain/schema')).json.error_code, 40441)
    assert.deepEqual((await call(url, 'GET', '/topics/none/schema')).json.error_code, 40401)
  })

  it('refuses a request with one non-matching record, naming the ajv path, and stores none of it', async (t) => {
    const { url } = await startServer(t, { schemas: { s: schema } })
    const bad = await produce(url, 's', [{ id: 1 }, { id: 2, tags: ['a', 3] }, { id: 3 }])
    assert.equal(bad.status, 422)
    assert.equal(bad.json.error_code, 42203)
    assert.match(bad.json.message, /Record 1 .*\/tags\/1 must be string/)
    const ndBad = await call(url, 'POST', '/topics/s', { body: '{"id":1}\n{"nope":true}\n', type: NDJSON })
    assert.match(ndBad.json.message, /Record 1 .*must have required property 'id'/)
    assert.equal((await produce(url, 's', [{ id: 9 }])).json.offsets[0].offset, 0, 'no offset was used by refused requests')
  })

  it('an invalid schema is 422 42205 and leaves the old one in place', async (t) => {
    const { url } = await startServer(t, { schemas: { s: schema } })
    const a = await call(url, 'PUT', '/topics/s/schema', { body: { type: 'no-such-type' }, type: 'application/json' })
    assert.deepEqual([a.status, a.json.error_code], [422, 42205])
    assert.deepEqual((await call(url, 'GET', '/topics/s/schema')).json, schema)
  })

  it('rejects bad receiver options at construction, naming the field', () => {
    assert.throws(() => new MemoryReceiver({ retention: { records: 0 } }), { code: 'ERR_INVALID_OPTION', field: 'retention.records' })
    assert.throws(() => new MemoryReceiver({ topics: ['bad name'] }), { code: 'ERR_INVALID_OPTION', field: 'topics' })
    assert.throws(() => new MemoryReceiver({ schemas: { s: { type: 7 } } }), { code: 'ERR_INVALID_OPTION', field: 'schemas.s' })
  })
})
