/**
 * The kafka receiver keeps keys and values intact: what goes through our Kafka REST API is written in
 * Confluent's JSON embedded format (key and value as their JSON texts, a null value as a tombstone, a
 * null or absent key as no key), checked on the raw messages with two clients we did not write (Debian
 * kcat and kafkajs); read back through our consumer API every JSON value round-trips exactly. Messages
 * other clients wrote come back decoded; one that is not JSON answers 500 / 50002 naming its offset
 * until the consumer seeks past it (never a silent string, never skipped).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, it, type TestContext } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'
import { call, consumer, startServer, V2, V2_JSON, NDJSON, type Answer } from './helpers/server-fixture.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { missing, requireService, type Missing } from './services/require-service.js'

const KCAT = '/usr/bin/kcat'
const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

/** A record as produced through the REST API, with the bytes Kafka must hold for its key and value (null: none). */
interface Case { record: Record<string, unknown>, key: string | null, value: string | null }

const CASES: Case[] = [
  { record: { key: '123', value: '123' }, key: '"123"', value: '"123"' },
  { record: { key: 'true', value: 'true' }, key: '"true"', value: '"true"' },
  { record: { key: 123, value: 123 }, key: '123', value: '123' },
  { record: { key: true, value: false }, key: 'true', value: 'false' },
  { record: { key: null, value: { a: 1 } }, key: null, value: '{"a":1}' },
  { record: { value: 'no key' }, key: null, value: '"no key"' },
  { record: { key: { k: 1 }, value: null }, key: '{"k":1}', value: null },
  { record: { key: 'absent value' }, key: '"absent value"', value: null },
  { record: { key: '', value: '' }, key: '""', value: '""' },
  { record: { key: 'null', value: 'null' }, key: '"null"', value: '"null"' },
  { record: { key: [1, 'a'], value: { nested: { list: [1, 'two', null, true, 2.5, -0.001], empty: {}, none: [] } } }, key: '[1,"a"]', value: '{"nested":{"list":[1,"two",null,true,2.5,-0.001],"empty":{},"none":[]}}' },
  { record: { key: 'ключ ☃', value: 'héllo 𝄞 "quoted" \\ \n\t end' }, key: '"ключ ☃"', value: '"héllo 𝄞 \\"quoted\\" \\\\ \\n\\t end"' },
  { record: { key: 7, value: 1e21 }, key: '7', value: '1e+21' }
]

/** NDJSON bulk lines are already JSON texts: they are written as sent (a `null` line is a tombstone). */
const NDJSON_BODY = '{"big":12345678901234567890, "x" : 1}\nnull\n"line"\n'
const NDJSON_CASES: Array<{ key: null, value: string | null }> = [
  { key: null, value: '{"big":12345678901234567890, "x" : 1}' },
  { key: null, value: null },
  { key: null, value: '"line"' }
]

function kcatOrMissing (): string | Missing {
  return existsSync(KCAT) ? KCAT : missing(`${KCAT} not found (apt-get install kcat)`)
}

/** Runs kcat to completion (bounded), giving its stdout; a non-zero exit rejects with its stderr. */
function kcat (args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(KCAT, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new Error(`kcat ${args.join(' ')} exited ${code ?? signal}: ${err}`))
    })
    child.stdin.end(input ?? '')
  })
}

/** Every message of a one-partition topic as kcat's JSON envelope shows it: key and payload as raw text, null when absent. */
async function kcatRead (brokers: string[], topic: string): Promise<Array<{ offset: number, key: string | null, value: string | null }>> {
  const text = await kcat(['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-J', '-q'])
  return text.split('\n').filter(l => l !== '').map(l => {
    const m = JSON.parse(l) as { offset: number, key: string | null, payload: string | null }
    return { offset: m.offset, key: m.key, value: m.payload }
  })
}

/** Every message of a topic as kafkajs hands it over: key and value bytes in hex, null when absent. */
async function kafkajsRead (brokers: string[], topic: string, n: number): Promise<Array<{ key: string | null, value: string | null }>> {
  const client = new Kafka({ brokers, logLevel: logLevel.NOTHING })
  const reader = client.consumer({ groupId: `raw-${topic}`, sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  const seen: Array<{ key: string | null, value: string | null }> = []
  let timer: NodeJS.Timeout | undefined
  try {
    await reader.connect()
    await reader.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`kafkajs read ${seen.length} of ${n} messages in 60 s`)), 60_000)
      reader.run({
        eachMessage: async ({ message }) => {
          seen.push({ key: message.key === null ? null : message.key.toString('hex'), value: message.value === null ? null : message.value.toString('hex') })
          if (seen.length === n) resolve()
        }
      }).catch(reject)
    })
  } finally {
    clearTimeout(timer)
    await reader.disconnect()
  }
  return seen
}

const hex = (text: string | null): string | null => text === null ? null : Buffer.from(text, 'utf8').toString('hex')

interface Poll { records: any[], texts: string[], refusal?: Answer }

/** Polls our consumer API until `n` records came or an answer is not 200 (the first poll waits for the group join). */
async function poll (url: string, path: string, n: number): Promise<Poll> {
  const got: Poll = { records: [], texts: [] }
  for (let i = 0; i < 60 && got.records.length < n; i++) {
    const answer = await call(url, 'GET', `${path}/records?timeout=500`, { headers: { accept: V2_JSON } })
    if (answer.status !== 200) return { ...got, refusal: answer }
    got.records.push(...answer.json)
    got.texts.push(answer.text)
  }
  return got
}

async function seek (url: string, path: string, topic: string, offset: number): Promise<void> {
  const answer = await call(url, 'POST', `${path}/positions`, { body: { offsets: [{ topic, partition: 0, offset }] }, type: V2 })
  assert.equal(answer.status, 204, answer.text)
}

async function setUp (t: TestContext, topics: string[]): Promise<{ kafka: KafkaMock, url: string } | undefined> {
  if (!requireService(t, kcatOrMissing(), 'kcat (Debian kcat, a Kafka client we did not write)')) return undefined
  const kafka = await startKafkaMock(topics)
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
  // After hooks run in order: the server (and its kafkajs clients) closes before the cluster stops.
  const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
  t.after(() => kafka.stop())
  return { kafka, url }
}

describe('kafka receiver: keys and values intact (JSON embedded format)', { timeout: 180_000 }, () => {
  it('writes keys and values as their JSON texts and null values as tombstones; other clients read exactly that; our consumer reads them back unchanged', async (t) => {
    const set = await setUp(t, ['fid:1'])
    if (set === undefined) return
    const { kafka, url } = set
    const produced = await call(url, 'POST', '/topics/fid', { body: { records: CASES.map(c => c.record) } })
    assert.equal(produced.status, 200, produced.text)
    assert.deepEqual(produced.json.offsets.map((o: any) => o.offset), CASES.map((_, i) => i))
    const bulk = await call(url, 'POST', '/topics/fid', { body: NDJSON_BODY, type: NDJSON })
    assert.equal(bulk.status, 200, bulk.text)
    const expected = [...CASES, ...NDJSON_CASES].map(c => ({ key: c.key, value: c.value }))

    const byKcat = await kcatRead(kafka.brokers, 'fid')
    assert.deepEqual(byKcat.map(m => ({ key: m.key, value: m.value })), expected, 'kcat reads the JSON texts; null = no key / tombstone')
    const byKafkajs = await kafkajsRead(kafka.brokers, 'fid', expected.length)
    assert.deepEqual(byKafkajs, expected.map(e => ({ key: hex(e.key), value: hex(e.value) })), 'kafkajs reads the same bytes')
    const tombstones = byKcat.filter(m => m.value === null).length
    t.diagnostic(`${expected.length} messages; kcat and kafkajs agree byte for byte; ${tombstones} tombstones, ${byKcat.filter(m => m.key === null).length} without key`)

    const path = await consumer(url, 'fid-group', 'one', ['fid'])
    const got = await poll(url, path, expected.length)
    assert.equal(got.refusal, undefined, got.refusal?.text)
    assert.deepEqual(got.records.map(r => r.offset), expected.map((_, i) => i))
    assert.deepEqual(got.records.slice(0, CASES.length).map(r => ({ key: r.key, value: r.value })), CASES.map(c => ({ key: c.record.key ?? null, value: c.record.value ?? null })))
    assert.equal(typeof got.records[0].key, 'string', 'key "123" stays the string "123"')
    assert.ok(got.texts.join('').includes('"value":{"big":12345678901234567890, "x" : 1}'), 'a JSON text is answered as written, big integers included')
    assert.deepEqual(got.records.slice(CASES.length).map(r => r.value), [{ big: 12345678901234567890, x: 1 }, null, 'line'])
  })

  it('reads what other clients wrote: JSON decoded, tombstones as null, a message that is not JSON answers 500 / 50002 naming its offset until the consumer seeks past it', async (t) => {
    const set = await setUp(t, ['raw:1'])
    if (set === undefined) return
    const { kafka, url } = set
    // kcat: key <TAB> value per line; -Z turns an empty key or value into null.
    await kcat(['-P', '-b', kafka.brokers.join(','), '-t', 'raw', '-K', '\t', '-Z'], [
      '"a"\t{"x":1}', // 0
      '\t"plain string"', // 1: no key
      '7\t[1,2]', // 2
      '"k"\tnot json', // 3: value is not JSON
      '"t"\t', // 4: tombstone
      'user-42\t{"y":2}', // 5: key is not JSON
      ''
    ].join('\n'))
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer()
    try {
      await producer.connect()
      await producer.send({ topic: 'raw', acks: -1, messages: [
        { key: '"u"', value: Buffer.from([0x22, 0xff, 0x22]) }, // 6: not UTF-8, so not JSON
        { key: '"end"', value: '{"z":3}' } // 7
      ] })
    } finally {
      await producer.disconnect()
    }

    const path = await consumer(url, 'raw-group', 'one', ['raw'])
    const first = await poll(url, path, Infinity)
    assert.deepEqual(first.records.map(r => [r.offset, r.key, r.value]), [[0, 'a', { x: 1 }], [1, null, 'plain string'], [2, 7, [1, 2]]])
    const refusals: Answer[] = []
    const refused = (p: Poll, offset: number, part: string): void => {
      assert.ok(p.refusal !== undefined, `offset ${offset} must be refused, got ${JSON.stringify(p.records)}`)
      assert.equal(p.refusal.status, 500, p.refusal.text)
      assert.equal(p.refusal.json.error_code, 50002)
      assert.match(p.refusal.json.message, new RegExp(`raw partition 0 offset ${offset}\\b.*${part} is not JSON`))
      refusals.push(p.refusal)
    }
    refused(first, 3, 'value')
    refused(await poll(url, path, Infinity), 3, 'value') // not skipped: the same answer until a seek
    await seek(url, path, 'raw', 4)
    const second = await poll(url, path, Infinity)
    assert.deepEqual(second.records.map(r => [r.offset, r.key, r.value]), [[4, 't', null]])
    refused(second, 5, 'key')
    await seek(url, path, 'raw', 6)
    refused(await poll(url, path, Infinity), 6, 'value')
    await seek(url, path, 'raw', 7)
    const last = await poll(url, path, 1)
    assert.deepEqual(last.records.map(r => [r.offset, r.key, r.value]), [[7, 'end', { z: 3 }]])
    t.diagnostic(`first refusal: ${refusals[0]?.json.message as string}`)
    t.diagnostic(`8 messages by kcat and kafkajs: ${first.records.length + second.records.length + last.records.length} read, ${refusals.length} refusals (offsets 3, 3, 5, 6), 0 silently changed`)
  })
})
