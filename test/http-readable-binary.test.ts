/**
 * The binary embedded format in HttpStreamClient and createHttpReadable (`format: 'binary'`), on both
 * receivers. The wire form follows Confluent's kafka-rest: `entities/v2/BinaryConsumerRecord` (key and
 * value base64, null stays null), `v2/ConsumersResource#readRecordBinary` (@Produces
 * `application/vnd.kafka.binary.v2+json`), `v2/ProduceToTopicAction` (@Consumes the binary type), and
 * `CreateConsumerInstanceRequest` (`"format": "binary"`). Raw non-UTF-8 bytes must come back byte for byte.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { main } from '../lib/cli/main.js'
import { InvalidOptionError, InvalidRecordError } from '../lib/errors.js'
import { createHttpReadable, type HttpReadable } from '../lib/source/http-readable.js'
import { HttpStreamClient, type FetchedRecord } from '../lib/source/http-stream-client.js'
import { cliIo } from './helpers/cli-io.js'
import { startServerProcess } from './helpers/server-process.js'
import { call, startServer } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const V2_BINARY = 'application/vnd.kafka.binary.v2+json'
const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }
/** Bytes that are no UTF-8 text at all. */
const RAW = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x41])
const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64')

/** A server on the memory receiver, or on the Kafka receiver over librdkafka's mock cluster (skipped when it cannot be built). */
async function serverUrl (t: TestContext, kind: 'memory' | 'kafka', topics: string[]): Promise<string | undefined> {
  if (kind === 'memory') return (await startServer(t)).url
  const kafka = await startKafkaMock(topics.map(name => `${name}:1`))
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
  const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
  t.after(() => kafka.stop())
  return url
}

async function take (reader: HttpReadable, n: number): Promise<unknown[]> {
  const out: unknown[] = []
  if (n === 0) return out
  for await (const v of reader) {
    out.push(v)
    if (out.length >= n) break
  }
  return out
}

/** Leaving a for-await early destroys the reader with an AbortError; wait for its cleanup (last commit, delete). */
async function closed (reader: HttpReadable): Promise<void> {
  if (!reader.closed) await new Promise(resolve => reader.once('close', resolve))
}

/** What the binary produce of the tests sends: raw bytes, a Uint8Array view, a string, a null value. */
const view = new Uint8Array([9, 0xff, 0xc3, 0x28, 7]).subarray(1, 4)
const BINARY_RECORDS = [
  { key: RAW, value: RAW },
  { key: 'k', value: view },
  { value: 'héllo' },
  { key: Buffer.from([0x80]), value: null }
]
/** The bytes each should read back as (key, value). */
const EXPECTED = [
  [RAW, RAW],
  [Buffer.from('k'), Buffer.from([0xff, 0xc3, 0x28])],
  [null, Buffer.from('héllo', 'utf8')],
  [Buffer.from([0x80]), null]
]

for (const kind of ['memory', 'kafka'] as const) {
  describe(`binary format, ${kind} receiver`, { timeout: 120_000 }, () => {
    it('reads raw bytes produced in binary, and JSON produced as json, byte for byte with createHttpReadable', async (t) => {
      const url = await serverUrl(t, kind, ['raw'])
      if (url === undefined) return
      const binary = new HttpStreamClient(url, { format: 'binary' })
      const json = new HttpStreamClient(url)
      t.after(async () => { await binary.close(); await json.close() })
      const produced = await binary.produceRecords('raw', BINARY_RECORDS)
      assert.deepEqual(produced.offsets.map(o => o.offset), [0, 1, 2, 3])
      await json.produceRecords('raw', [{ key: 'j', value: { a: 1, s: 'é' } }])
      const reader = createHttpReadable(url, { topic: 'raw', groupId: 'bytes', format: 'binary', withMetadata: true })
      const got = await take(reader, 5) as FetchedRecord[]
      for (const r of got) {
        assert.ok(r.key === null || Buffer.isBuffer(r.key), `key of offset ${r.offset} is a Buffer or null`)
        assert.ok(r.value === null || Buffer.isBuffer(r.value), `value of offset ${r.offset} is a Buffer or null`)
      }
      assert.deepEqual(got.map(r => [r.key, r.value]), [...EXPECTED, [Buffer.from('"j"'), Buffer.from('{"a":1,"s":"é"}')]])
      assert.deepEqual(got.map(r => r.offset), [0, 1, 2, 3, 4])
      t.diagnostic(`${got.length} records read back; bytes of offset 0: ${(got[0]?.value as Buffer).toString('hex')}`)
    })

    it('HttpStreamClient in binary: produce and fetch Buffers (null stays null), the instance is binary, values it cannot carry are refused', async (t) => {
      const url = await serverUrl(t, kind, ['cb'])
      if (url === undefined) return
      const client = new HttpStreamClient(url, { format: 'binary' })
      t.after(() => client.close())
      assert.equal(client.format, 'binary')
      await client.produce('cb', [RAW, Buffer.from('{"n":1}'), null])
      const sub = await client.subscribe('cb', { groupId: 'cb' })
      const got: FetchedRecord[] = []
      for (let i = 0; i < 60 && got.length < 3; i++) got.push(...await client.fetch(sub, { timeout: 500 }))
      assert.deepEqual(got.map(r => [r.key, r.value]), [[null, RAW], [null, Buffer.from('{"n":1}')], [null, null]])
      // The instance was made binary: a json Accept on it is 406 / 40601, as Confluent answers.
      const asJson = await call(url, 'GET', `/consumers/cb/instances/${sub.instanceId}/records?timeout=0`, { headers: { accept: 'application/vnd.kafka.json.v2+json' } })
      assert.deepEqual([asJson.status, asJson.json?.error_code], [406, 40601])
      await client.unsubscribe(sub)
      await assert.rejects(client.produce('cb', [12]), (err: Error) => err instanceof InvalidRecordError && /records\[0\]\.value: the binary format takes/.test(err.message))
      await assert.rejects(client.produceRecords('cb', [{ key: { a: 1 }, value: RAW }]), /records\[0\]\.key/)
    })

    it('a reader restarted in the same group resumes after its commits, in binary', async (t) => {
      const url = await serverUrl(t, kind, ['resume'])
      if (url === undefined) return
      const client = new HttpStreamClient(url, { format: 'binary' })
      t.after(() => client.close())
      const values = Array.from({ length: 6 }, (_, i) => Buffer.from([0xf0 + i, i, 0xff]))
      await client.produce('resume', values)
      const first = createHttpReadable(url, { topic: 'resume', groupId: 'rg', format: 'binary', highWaterMark: 1, maxBytes: 1 })
      const a = await take(first, 2)
      await closed(first)
      const second = createHttpReadable(url, { topic: 'resume', groupId: 'rg', format: 'binary' })
      const b = await take(second, 6 - a.length)
      await closed(second)
      // At least once: a record taken after the last commit may come again, none is skipped.
      const seen = [...a, ...b].map(v => (v as Buffer).toString('hex'))
      assert.deepEqual([...new Set(seen)], values.map(v => v.toString('hex')))
      t.diagnostic(`first reader ${a.length}, second ${b.length}, repeated ${seen.length - new Set(seen).size}`)
    })
  })
}

describe('binary format across a server restart (kafka receiver, server in a child process)', () => {
  it('reconnects, re-creates its binary instance, resumes from the commits: every byte string once, no gap', { timeout: 120_000 }, async (t) => {
    const kafka = await startKafkaMock(['survive:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    const server = await startServerProcess(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500 } })
    const total = 60
    // Each value: its index, then bytes that are no UTF-8 (0xff, 0xfe), so a text round trip would show.
    const bytesOf = (i: number): Buffer => Buffer.from([i, 0xff, 0xfe, 0x00])
    const producer = new HttpStreamClient(server.url, { format: 'binary' })
    await producer.produce('survive', Array.from({ length: total }, (_, i) => bytesOf(i)))
    await producer.close()
    const reader = createHttpReadable(server.url, { topic: 'survive', groupId: 'survivors', format: 'binary', withMetadata: true, maxBytes: 64, highWaterMark: 4, pollTimeout: 200 })
    let retries = 0
    reader.on('reconnect', () => { retries++ })
    const byOffset = new Map<number, number>()
    let restarted: Promise<void> | undefined
    for await (const r of reader as AsyncIterable<FetchedRecord<Buffer>>) {
      assert.ok(r.value.equals(bytesOf(r.offset)), `offset ${r.offset} holds its bytes (got ${r.value.toString('hex')})`)
      byOffset.set(r.offset, (byOffset.get(r.offset) ?? 0) + 1)
      if (byOffset.size === 20) restarted = server.kill().then(async () => { await server.start() })
      if (byOffset.size === total) break
    }
    await restarted
    const twice = [...byOffset.values()].filter(n => n > 1).length
    t.diagnostic(`read ${byOffset.size} of ${total}; pushed twice ${twice}; re-delivered and skipped ${reader.skipped}; ${retries} retries across 1 restart`)
    assert.equal(byOffset.size, total)
    assert.equal(twice, 0)
    assert.ok(retries >= 1, 'the restart was seen')
  })
})

describe('binary format, reader recovery and shapes (memory receiver)', () => {
  it('re-creates an expired instance in binary (no gap) and keeps Buffers whole with includeTimestamp', async (t) => {
    const { url } = await startServer(t, { instanceTimeoutMs: 100 })
    const client = new HttpStreamClient(url, { format: 'binary' })
    t.after(() => client.close())
    const values = Array.from({ length: 10 }, (_, i) => Buffer.from([0x80 + i, 0]))
    await client.produce('x', values)
    const reader = createHttpReadable(url, { topic: 'x', groupId: 'g', format: 'binary', includeTimestamp: true, highWaterMark: 3, maxBytes: 1 })
    const got: Array<{ value: Buffer, _TIMESTAMP_: number }> = []
    for await (const v of reader) {
      got.push(v)
      if (got.length === 4) {
        for (let i = 0; i < 200 && (await call(url, 'GET', '/healthz')).json.consumers > 0; i++) await delay(25)
      }
      if (v.value[0] === 0x89) break
    }
    assert.ok(got.every(v => Buffer.isBuffer(v.value) && typeof v._TIMESTAMP_ === 'number'))
    const unique = [...new Set(got.map(v => v.value.toString('hex')))]
    assert.deepEqual(unique, values.map(v => v.toString('hex')), 'every value, in order, after the instance was re-created')
    t.diagnostic(`${got.length - unique.length} value(s) read twice after the instance expired`)
  })

  it('passes over null values (tombstones) without ending the stream when values are bare, in both formats', async (t) => {
    const { url } = await startServer(t)
    for (const format of ['json', 'binary'] as const) {
      const client = new HttpStreamClient(url, { format })
      await client.produce(`n-${format}`, format === 'json' ? [1, null, 2] : [Buffer.from([1]), null, Buffer.from([2])])
      await client.close()
      const reader = createHttpReadable(url, { topic: `n-${format}`, format })
      const got = await take(reader, 2)
      await closed(reader)
      assert.deepEqual(got, format === 'json' ? [1, 2] : [Buffer.from([1]), Buffer.from([2])], format)
      assert.equal(reader.nullsSkipped, 1)
    }
  })

  it('speaks Confluent\'s binary wire form: creates the instance with "format": "binary", Accept binary, base64 produce', async (t) => {
    // A stand-in proxy answering as kafka-rest does, recording what the client sent.
    const seen: Array<{ method: string, path: string, headers: IncomingMessage['headers'], body: any }> = []
    const proxy = createServer((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => { text += c.toString() })
      req.on('end', () => {
        seen.push({ method: req.method as string, path: req.url as string, headers: req.headers, body: text === '' ? undefined : JSON.parse(text) })
        const answer = (status: number, body?: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/vnd.kafka.v2+json' }).end(body === undefined ? undefined : JSON.stringify(body))
        }
        if (req.url === '/topics/t') answer(200, { key_schema_id: null, value_schema_id: null, offsets: [{ partition: 0, offset: 0, error_code: null, error: null }] })
        else if (req.url === '/consumers/g') answer(200, { instance_id: 'i', base_uri: `http://127.0.0.1:${(proxy.address() as { port: number }).port}/consumers/g/instances/i` })
        else if (req.url?.endsWith('/subscription') === true) answer(204)
        else if (req.url?.includes('/records') === true) answer(200, [{ topic: 't', key: b64(RAW), value: 'S2Fma2E=', partition: 0, offset: 0 }, { topic: 't', key: null, value: null, partition: 0, offset: 1 }])
        else answer(404, { error_code: 404, message: 'not found' })
      })
    })
    proxy.listen(0, '127.0.0.1')
    await once(proxy, 'listening')
    t.after(() => proxy.close())
    const client = new HttpStreamClient(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`, { format: 'binary' })
    t.after(() => client.close())
    await client.produceRecords('t', [{ key: 'k', value: RAW, partition: 0 }])
    const sub = await client.subscribe('t', { groupId: 'g' })
    const records = await client.fetch(sub, { timeout: 0 })
    assert.equal(seen[0]?.headers['content-type'], V2_BINARY)
    assert.deepEqual(seen[0]?.body, { records: [{ key: b64('k'), value: b64(RAW), partition: 0 }] })
    assert.equal(seen[1]?.body.format, 'binary')
    assert.equal(seen[3]?.headers.accept, V2_BINARY)
    assert.deepEqual(records.map(r => [r.key, r.value]), [[RAW, Buffer.from('Kafka')], [null, null]])
  })

  it('http-stream read --format binary prints keys and values as base64 strings', async (t) => {
    const { url } = await startServer(t)
    const client = new HttpStreamClient(url, { format: 'binary' })
    t.after(() => client.close())
    await client.produceRecords('cli', [{ key: RAW, value: RAW }, { value: null }, { value: 'x' }])
    const bare = cliIo()
    assert.equal(await main(['read', url, '--topic', 'cli', '--format', 'binary', '--max', '2'], bare.io), 0, bare.err())
    // A null value has no bare form (a Readable ends at null): passed over; --metadata shows it.
    assert.deepEqual(bare.out().trim().split('\n').map(l => JSON.parse(l)), [b64(RAW), b64('x')])
    const meta = cliIo()
    assert.equal(await main(['read', url, '--topic', 'cli', '--group', 'm', '--format', 'binary', '--metadata', '--max', '1'], meta.io), 0, meta.err())
    const line = JSON.parse(meta.out().trim())
    assert.deepEqual([line.key, line.value, line.offset], [b64(RAW), b64(RAW), 0])
    const bad = cliIo()
    assert.equal(await main(['read', url, '--topic', 'cli', '--format', 'avro'], bad.io), 2)
    assert.match(bad.err(), /--format takes json or binary/)
  })
})

describe('format option', () => {
  it('is checked at construction, naming the field', () => {
    for (const format of ['avro', 'BINARY', 1, null, '']) {
      assert.throws(() => new HttpStreamClient('http://127.0.0.1:1', { format: format as 'json' }), (err: Error) => err instanceof InvalidOptionError && err.field === 'format' && /'json' or 'binary'/.test(err.message), String(format))
      assert.throws(() => createHttpReadable('http://127.0.0.1:1', { topic: 't', format: format as 'json' }), (err: Error) => err instanceof InvalidOptionError && err.field === 'format', String(format))
    }
    assert.equal(new HttpStreamClient('http://127.0.0.1:1').format, 'json')
    // Every node of `urls` gets the format: failover re-creates the instance as binary on the next node.
    const reader = createHttpReadable('http://127.0.0.1:1', { topic: 't', format: 'binary', reconnectMs: 0, urls: ['http://127.0.0.1:2'] }).destroy()
    assert.deepEqual((reader as unknown as { clients: HttpStreamClient[] }).clients.map(c => [c.url, c.format]), [['http://127.0.0.1:1', 'binary'], ['http://127.0.0.1:2', 'binary']])
  })
})
