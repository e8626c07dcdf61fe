/**
 * Exactly once through lost answers: createHttpWritable → fault proxy → stream server. The proxy
 * forwards every request and drops a fifth of the answers after the server made them, so the sink
 * retries requests the server already applied. With `idempotencyKey: true` the server's dedup sends
 * the first answer back instead of applying the retry: every record is in the topic exactly once.
 * Without keys the same run leaves duplicates, counted and reported. Memory receiver, and the Kafka
 * receiver (librdkafka mock cluster), where a key is remembered only once Kafka acked.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it, type TestContext } from 'node:test'
import { createHttpWritable } from '../lib/index.js'
import type { HttpStreamServerOptions } from '../lib/server/options.js'
import { startFaultProxy } from './helpers/fault-proxy.js'
import { assertNothingLost, readFailoverDir } from './helpers/ledger.js'
import { call, consumer, startServer, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const RECORDS = 20_000
const DROP = 0.2
const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

interface Run {
  written: number
  inTopic: number
  duplicated: number
  lost: number
  stored: number
  requests: number
  dropped: number
  replayed: number
}

/** Fetches the topic through the server's consumer API until `n` records came and a poll comes back empty. */
async function readTopic (url: string, topic: string, n: number): Promise<unknown[]> {
  const path = await consumer(url, `read-${topic}`, 'reader', [topic])
  const out: unknown[] = []
  let empty = 0
  for (let polls = 0; polls < 400 && (out.length < n || empty < 1); polls++) {
    const got = await call(url, 'GET', `${path}/records?timeout=500&max_bytes=8388608`, { headers: { accept: V2_JSON } })
    assert.equal(got.status, 200, got.text)
    if (got.json.length === 0) empty++
    else empty = 0
    for (const r of got.json) out.push(r.value)
  }
  return out
}

async function run (t: TestContext, topic: string, server: HttpStreamServerOptions, idempotencyKey: boolean): Promise<Run> {
  const stream = await startServer(t, server)
  const proxy = await startFaultProxy({ target: stream.url, dropResponses: DROP, seed: 7 })
  t.after(() => proxy.close())
  const dir = await mkdtemp(join(tmpdir(), 'hsc-dedup-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  let replayed = 0
  const sink = createHttpWritable({
    url: `${proxy.url}/topics/${topic}`,
    encoding: 'ndjson',
    batch: { maxRecords: 100, lingerMs: 5 },
    numWriters: 8,
    retries: 30,
    backoff: { base: 5, max: 50 },
    timeout: 10_000,
    failover: `file:${dir}`,
    ...(idempotencyKey ? { idempotencyKey: true } : {}),
    successCode: (res) => {
      if (res.headers['idempotent-replayed'] === 'true') replayed++
      return res.status >= 200 && res.status < 300
    }
  })
  const written = Array.from({ length: RECORDS }, (_, id) => ({ id, topic }))
  await pipeline(Readable.from(written), sink)
  const stored = readFailoverDir(dir).map(e => e.record)
  const inTopic = await readTopic(stream.url, topic, RECORDS - stored.length)
  const report = assertNothingLost({ written, delivered: inTopic, stored })
  const result = { written: RECORDS, inTopic: inTopic.length, duplicated: report.duplicates, lost: report.lost, stored: stored.length, requests: proxy.forwarded, dropped: proxy.dropped, replayed }
  t.diagnostic(`${idempotencyKey ? 'with' : 'without'} idempotency keys: written ${result.written} / in topic ${result.inTopic} / duplicated ${result.duplicated} / lost ${result.lost} / failed over ${result.stored}; ${result.requests} requests reached the server, ${result.dropped} answers dropped, ${result.replayed} answered from the dedup table`)
  assert.ok(proxy.dropped > 0, 'the proxy dropped answers')
  return result
}

describe('dedup end to end: lost answers, retried requests', { timeout: 120_000 }, () => {
  it(`memory receiver, ${RECORDS} records: with keys every record is in the topic exactly once`, async (t) => {
    const r = await run(t, 'exact', {}, true)
    assert.equal(r.lost, 0)
    assert.equal(r.duplicated, 0, 'no record applied twice')
    assert.equal(r.inTopic + r.stored, RECORDS)
    assert.ok(r.replayed > 0, 'retries were answered from the table')
  })

  it(`memory receiver, ${RECORDS} records: without keys the retries of applied requests are duplicates`, async (t) => {
    const r = await run(t, 'dupes', {}, false)
    assert.equal(r.lost, 0)
    assert.ok(r.duplicated > 0, 'each dropped answer was a duplicate batch')
    assert.equal(r.replayed, 0)
  })

  it(`kafka receiver, ${RECORDS} records: with keys exactly once (a key counts once Kafka acked)`, async (t) => {
    const kafka = await startKafkaMock(['dedup-k:1'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    const r = await run(t, 'dedup-k', { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA }, true)
    assert.equal(r.lost, 0)
    assert.equal(r.duplicated, 0)
    assert.equal(r.inTopic + r.stored, RECORDS)
  })
})
