/**
 * replay() sends the idempotency keys stored in the envelopes: the envelopes of one failed request
 * are grouped back into one request with the stored key (the same body, the same key as the
 * original), past normal batching; records stored without a key are batched as ever. From the file
 * store, real MariaDB, and the librdkafka mock cluster (a topic of 3 partitions).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { createHttpWritable, replay, type HttpWritableOptions } from '../lib/index.js'
import { openStore } from '../lib/stores/open-store.js'
import { feed } from './helpers/writable-harness.js'
import { pass } from './helpers/store-contract.js'
import { startReceiver, type ReceivedRequest } from './helpers/receiver.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { startMariaDb, type MariaDb } from './services/mariadb.js'
import { isMissing, requireService, type Missing } from './services/require-service.js'

const FAST = { backoff: { base: 1, max: 5 }, timeout: 5000 } as const
const id = (r: unknown): number => (r as { id: number }).id
const records = (n: number, from = 0): Array<{ id: number }> => Array.from({ length: n }, (_, i) => ({ id: from + i }))
const keyOf = (q: ReceivedRequest): string | undefined => q.headers['idempotency-key'] as string | undefined
/** body → key of every request (a body sent twice must carry one key). */
const pairs = (requests: ReceivedRequest[]): string[] => [...new Set(requests.map((q) => `${keyOf(q) ?? '-'} ${q.body}`))].sort()

async function tempDir (t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-replay-idem-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return join(root, 'failover')
}

/** Writes `items` through a sink whose endpoint refuses everything (503, no retries): every request's envelopes go to `failover`. */
async function storeFailedRequests (t: TestContext, failover: string, items: unknown[], options: HttpWritableOptions): Promise<ReceivedRequest[]> {
  const down = await startReceiver({ plan: () => ({ status: 503 }) })
  t.after(() => down.close())
  const sink = createHttpWritable({ url: `${down.url}/in`, failover, retries: 0, ...FAST, ...options })
  const fed = await feed(sink, items)
  assert.equal(fed.error, undefined)
  assert.equal(sink.stats().failedOver, items.length)
  return down.requests
}

async function replayTo (t: TestContext, uri: string, options: Omit<Parameters<typeof replay>[1], 'url'>, plan?: (q: ReceivedRequest) => { status: number } | undefined): Promise<{ requests: ReceivedRequest[], summary: Awaited<ReturnType<typeof replay>>, url: string }> {
  const up = await startReceiver(plan === undefined ? {} : { plan })
  t.after(() => up.close())
  const summary = await replay(uri, { url: `${up.url}/in`, retries: 0, ...FAST, ...options })
  return { requests: up.requests, summary, url: up.url }
}

const BATCHED = { encoding: 'ndjson', batch: { maxRecords: 10, lingerMs: 5 }, idempotencyKey: true } as const

describe('replay sends the stored keys: file store', { timeout: 30_000 }, () => {
  it('3 failed batches of 10 come back as the same 3 requests with the same keys, whatever the store batch size', async (t) => {
    const dir = await tempDir(t)
    const original = await storeFailedRequests(t, `file:${dir}`, records(30), BATCHED)
    assert.equal(original.length, 3)
    assert.ok(original.every((q) => keyOf(q) !== undefined))
    // A store batch of 7 ends inside a request's envelopes: that group is held over to the next round.
    const again = await replayTo(t, `file:${dir}`, { encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 }, batchSize: 7 })
    t.diagnostic(`original ${original.length} requests, replayed ${again.requests.length}: ${again.requests.map((q) => `${q.records.length}@${keyOf(q)?.slice(0, 8) ?? '-'}`).join(' ')}`)
    assert.deepEqual(pairs(again.requests), pairs(original))
    assert.deepEqual([again.summary.read, again.summary.delivered, again.summary.failedAgain], [30, 30, 0])
    const check = openStore(`file:${dir}`)
    assert.deepEqual(await pass(check), [])
    await check.close()
  })

  it('one record per request (json): each is sent again with its own stored key; a header name form is kept by replay options', async (t) => {
    const dir = await tempDir(t)
    const original = await storeFailedRequests(t, `file:${dir}`, records(5), { idempotencyKey: true })
    const again = await replayTo(t, `file:${dir}`, {})
    assert.deepEqual(pairs(again.requests), pairs(original))
    assert.equal(new Set(again.requests.map(keyOf)).size, 5)
    // Stored under a header of the user's naming: replay sends it under the header its own option names.
    const dir2 = await tempDir(t)
    const named = await storeFailedRequests(t, `file:${dir2}`, records(2), { idempotencyKey: 'X-Request-Id' })
    const again2 = await replayTo(t, `file:${dir2}`, { idempotencyKey: 'X-Request-Id' })
    const byId = (qs: ReceivedRequest[]): string[] => qs.map((q) => `${String(q.headers['x-request-id'])} ${q.body}`).sort()
    assert.deepEqual(byId(again2.requests), byId(named))
    assert.ok(again2.requests.every((q) => keyOf(q) === undefined && typeof q.headers['x-request-id'] === 'string'))
  })

  it('records stored without a key are batched as ever (no key header); keyed ones keep their own requests', async (t) => {
    const dir = await tempDir(t)
    await storeFailedRequests(t, `file:${dir}`, records(20, 100), { encoding: 'ndjson', batch: { maxRecords: 10, lingerMs: 5 } })
    const keyed = await storeFailedRequests(t, `file:${dir}`, records(20), BATCHED)
    const again = await replayTo(t, `file:${dir}`, { encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 } })
    const unkeyed = again.requests.filter((q) => keyOf(q) === undefined)
    assert.deepEqual(unkeyed.flatMap((q) => q.records.map(id)).sort((a, b) => a - b), records(20, 100).map(id))
    assert.ok(unkeyed.length < 2 + 1, `unkeyed records went in ${unkeyed.length} request(s), batched together`)
    assert.deepEqual(pairs(again.requests.filter((q) => keyOf(q) !== undefined)), pairs(keyed))
  })

  it('a replayed group that is rejected (400) is bisected: halves get keys of their own; the record left is stored with its own key, sent with it next time', async (t) => {
    const dir = await tempDir(t)
    const original = await storeFailedRequests(t, `file:${dir}`, records(10), BATCHED)
    const stored = original[0]!
    const first = await replayTo(t, `file:${dir}`, { encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 } },
      (q) => q.records.some((r) => id(r) === 3) ? { status: 400 } : undefined)
    assert.deepEqual([first.summary.delivered, first.summary.failedAgain], [9, 1])
    assert.equal(keyOf(first.requests[0]!), keyOf(stored))
    const halves = first.requests.slice(1)
    for (const q of halves) {
      const expected = createHash('sha256').update(`${q.method} ${first.url}${q.path}\n`).update(q.body).digest('base64url')
      assert.equal(keyOf(q), expected)
    }
    assert.equal(new Set(first.requests.map(keyOf)).size, first.requests.length)
    const check = openStore(`file:${dir}`)
    const kept = await pass(check)
    await check.close()
    assert.deepEqual(kept.map((r) => id(r.envelope.record)), [3])
    const alone = first.requests.find((q) => q.records.length === 1 && id(q.records[0]) === 3)!
    assert.equal(kept[0]!.envelope.idempotencyKey, keyOf(alone))
    const second = await replayTo(t, `file:${dir}`, { encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 } })
    assert.deepEqual(second.requests.map(keyOf), [keyOf(alone)])
  })
})

let kafka: KafkaMock | Missing | undefined
let db: MariaDb | Missing | undefined

describe('replay sends the stored keys: network stores', { timeout: 90_000 }, () => {
  before(async () => { [kafka, db] = await Promise.all([startKafkaMock(['idem:3'], 1), startMariaDb()]) })
  after(async () => {
    if (kafka !== undefined && !isMissing(kafka)) await kafka.stop()
    if (db !== undefined && !isMissing(db)) await db.destroy()
  })

  const uris: Record<string, (t: TestContext) => string | undefined> = {
    mysql: (t) => requireService(t, db, 'MariaDB (apt-get install mariadb-server)') ? `${db.uri}?table=idem` : undefined,
    kafka: (t) => requireService(t, kafka, 'Kafka (librdkafka mock cluster)') ? `kafka://${kafka.brokers.join(',')}/idem?sessionTimeout=4000` : undefined
  }
  for (const [kind, uriOf] of Object.entries(uris)) {
    it(`${kind}: 4 failed batches of 10 come back as the same requests with the same keys`, async (t) => {
      const uri = uriOf(t)
      if (uri === undefined) return
      const original = await storeFailedRequests(t, uri, records(40), BATCHED)
      assert.equal(original.length, 4)
      const again = await replayTo(t, uri, { encoding: 'ndjson', batch: { maxRecords: 500, lingerMs: 5 } })
      t.diagnostic(`${kind}: original ${original.length} requests, replayed ${again.requests.length}: ${again.requests.map((q) => `${q.records.length}@${keyOf(q)?.slice(0, 8) ?? '-'}`).join(' ')}`)
      assert.deepEqual(pairs(again.requests), pairs(original))
      assert.deepEqual([again.summary.read, again.summary.delivered], [40, 40])
    })
  }
})
