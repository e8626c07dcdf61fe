/**
 * `idempotencyKey`: every request carries a key header whose value is the same on every retry of
 * that request; a bisected half and a per-item-results retry get their own key from their own
 * records (the same records, the same key, run after run); envelopes carry the key of their
 * request. Against a real receiver on 127.0.0.1 that records every request's headers.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { createHttpWritable, type HttpWritableOptions } from '../lib/index.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { FAST, LIMIT, TRANSPORTS, deliver, records, rig } from './helpers/writable-harness.js'
import type { FaultPlan, ReceivedRequest } from './helpers/receiver.js'

const id = (r: unknown): number => (r as { id: number }).id
const keyOf = (q: ReceivedRequest, header = 'idempotency-key'): string | undefined => q.headers[header] as string | undefined
/** What `idempotencyKey: true` is documented to send. */
const expectedKey = (q: ReceivedRequest, origin: string): string =>
  createHash('sha256').update(`${q.method} ${origin}${q.path}${q.query === '' ? '' : `?${q.query}`}\n`).update(q.body).digest('base64url')

/** 503 for the first two arrivals of each body, then 200. */
function twice503 (): FaultPlan {
  const seen = new Map<string, number>()
  return (q) => {
    const n = (seen.get(q.body) ?? 0) + 1
    seen.set(q.body, n)
    return n <= 2 ? { status: 503 } : undefined
  }
}

/** Groups the requests by body: each body's keys, in arrival order. */
function keysByBody (requests: ReceivedRequest[], header?: string): Map<string, Array<string | undefined>> {
  const byBody = new Map<string, Array<string | undefined>>()
  for (const q of requests) byBody.set(q.body, [...(byBody.get(q.body) ?? []), keyOf(q, header)])
  return byBody
}

describe('idempotencyKey: the same key on every retry', LIMIT, () => {
  for (const transport of TRANSPORTS) {
    it(`${transport}: one record per request, 503 twice then 200 → three attempts with one key, a key per record`, async (t) => {
      const r = await rig(t, { plan: twice503() })
      const d = await deliver(t, r, { ...FAST, transport, idempotencyKey: true, retries: 3 }, records(20))
      assert.equal(d.report.lost, 0)
      const byBody = keysByBody(r.receiver.requests)
      t.diagnostic(`requests ${r.receiver.requests.length}, bodies ${byBody.size}, distinct keys ${new Set(r.receiver.requests.map((q) => keyOf(q))).size}`)
      assert.equal(byBody.size, 20)
      for (const [, keys] of byBody) {
        assert.equal(keys.length, 3)
        assert.ok(keys[0] !== undefined && keys.every((k) => k === keys[0]), `keys ${keys.join(' ')}`)
      }
      assert.equal(new Set(r.receiver.requests.map((q) => keyOf(q))).size, 20)
      for (const q of r.receiver.requests) assert.equal(keyOf(q), expectedKey(q, r.receiver.url))
    })
  }

  it('409 (the key is still in progress at the receiver) is retried with keys on, and fails over without them', async (t) => {
    const once409 = (): FaultPlan => {
      const seen = new Set<string>()
      return (q) => {
        if (seen.has(q.body)) return undefined
        seen.add(q.body)
        return { status: 409 }
      }
    }
    const keyed = await rig(t, { plan: once409() })
    const k = await deliver(t, keyed, { ...FAST, idempotencyKey: true, retries: 3 }, records(10))
    const plain = await rig(t, { plan: once409() })
    const p = await deliver(t, plain, { ...FAST, retries: 3 }, records(10))
    t.diagnostic(`with keys: ${k.report.delivered} delivered, ${k.report.stored} stored; without: ${p.report.delivered} delivered, ${p.report.stored} stored`)
    assert.equal(k.report.lost, 0)
    assert.equal(k.report.delivered, 10)
    assert.equal(keyed.receiver.requests.length, 20)
    assert.equal(p.report.stored, 10)
  })

  it('batches (ndjson of 50): each batch keeps its key over its retries', async (t) => {
    const r = await rig(t, { plan: twice503() })
    const d = await deliver(t, r, { ...FAST, encoding: 'ndjson', batch: { maxRecords: 50, lingerMs: 5 }, idempotencyKey: true }, records(200))
    assert.equal(d.report.lost, 0)
    const byBody = keysByBody(r.receiver.requests)
    assert.equal(byBody.size, 4)
    for (const [, keys] of byBody) assert.ok(keys.length === 3 && keys.every((k) => k !== undefined && k === keys[0]))
    assert.equal(new Set([...byBody.values()].map((k) => k[0])).size, 4)
  })

  it('off (the default): no request carries a key header', async (t) => {
    const r = await rig(t)
    await deliver(t, r, { ...FAST, encoding: 'ndjson', batch: { maxRecords: 10, lingerMs: 5 } }, records(30))
    assert.ok(r.receiver.requests.length > 0)
    for (const q of r.receiver.requests) assert.equal(keyOf(q), undefined)
  })
})

/** A run of 100 records in batches of 100 against a receiver that rejects (400) any request holding record 37. */
async function bisectRun (t: TestContext): Promise<{ requests: ReceivedRequest[], envelopes: FailoverEnvelope[], origin: string }> {
  const r = await rig(t, { plan: (q) => q.records.some((rec) => id(rec) === 37) ? { status: 400, body: 'poison' } : undefined })
  const d = await deliver(t, r, { ...FAST, encoding: 'ndjson', batch: { maxRecords: 100, lingerMs: 5 }, idempotencyKey: true }, records(100))
  assert.equal(d.report.lost, 0)
  return { requests: r.receiver.requests, envelopes: r.envelopes(), origin: r.receiver.url }
}

describe('idempotencyKey after a bisect', LIMIT, () => {
  it('each half has its own key, from its records; two runs give the same keys; the envelope carries its own', async (t) => {
    const first = await bisectRun(t)
    const second = await bisectRun(t)
    const keys = first.requests.map((q) => keyOf(q))
    t.diagnostic(`requests ${first.requests.length} (1 batch + halves), distinct keys ${new Set(keys).size}`)
    // One request per distinct body (no retries here), each with a key of its own.
    assert.ok(first.requests.length > 2)
    assert.equal(new Set(keys).size, new Set(first.requests.map((q) => q.body)).size)
    for (const q of first.requests) assert.equal(keyOf(q), expectedKey(q, first.origin))
    // The same records give the same keys on another run (another port: compare body → key by path-free hash).
    const byBody = (run: typeof first): Map<string, string> => new Map(run.requests.map((q) => [q.body, createHash('sha256').update(`${q.method} ${run.origin}${q.path}\n`).update(q.body).digest('base64url')]))
    assert.deepEqual([...byBody(first).keys()].sort(), [...byBody(second).keys()].sort())
    for (const run of [first, second]) for (const q of run.requests) assert.equal(keyOf(q), byBody(run).get(q.body))
    assert.deepEqual(first.envelopes.map((e) => id(e.record)), [37])
    const alone = first.requests.find((q) => q.records.length === 1 && id(q.records[0]) === 37)!
    assert.equal(first.envelopes[0]!.idempotencyKey, keyOf(alone))
  })
})

describe('idempotencyKey: per-item results', LIMIT, () => {
  it("the retried subset gets the key of its own records, the same on each of its retries; 'fail' items are stored with their own key", async (t) => {
    const arrivals = new Map<number, number>()
    // Per item: 'retry' for ids ≡ 0 (mod 10) on their first two arrivals, 'fail' for id 5, else 'ok'.
    const r = await rig(t, {
      plan: (q) => ({
        status: 200,
        body: JSON.stringify(q.records.map((rec) => {
          const n = (arrivals.get(id(rec)) ?? 0) + 1
          arrivals.set(id(rec), n)
          return id(rec) === 5 ? 'fail' : id(rec) % 10 === 0 && n <= 2 ? 'retry' : 'ok'
        }))
      })
    })
    const d = await deliver(t, r, {
      ...FAST,
      encoding: 'ndjson',
      batch: { maxRecords: 50, lingerMs: 5 },
      idempotencyKey: (recs) => `ids-${recs.map(id).join('.')}`,
      itemResults: (response) => JSON.parse(response.body) as Array<'ok' | 'retry' | 'fail'>
    }, records(50))
    assert.equal(d.report.lost, 0)
    const keys = r.receiver.requests.map((q) => keyOf(q))
    t.diagnostic(`requests ${r.receiver.requests.length}: keys ${keys.join(' ')}`)
    assert.equal(keys[0], `ids-${records(50).map(id).join('.')}`)
    assert.deepEqual(keys.slice(1), ['ids-0.10.20.30.40', 'ids-0.10.20.30.40'])
    assert.deepEqual(r.envelopes().map((e) => [id(e.record), e.idempotencyKey]), [[5, 'ids-5']])
  })
})

describe('idempotencyKey: header name and function forms', LIMIT, () => {
  it('a string names the header; the function derives the key from the records of the request', async (t) => {
    const r = await rig(t)
    await deliver(t, r, { ...FAST, idempotencyKey: 'X-Request-Id' }, records(3))
    for (const q of r.receiver.requests) {
      assert.equal(keyOf(q), undefined)
      assert.equal(keyOf(q, 'x-request-id'), expectedKey(q, r.receiver.url))
    }
    const seen: unknown[][] = []
    const r2 = await rig(t)
    await deliver(t, r2, { ...FAST, encoding: 'json-array', batch: { maxRecords: 2, lingerMs: 5 }, idempotencyKey: (recs) => { seen.push(recs); return `batch-${recs.map(id).join('-')}` } }, records(4))
    assert.deepEqual(r2.receiver.requests.map((q) => keyOf(q)).sort(), ['batch-0-1', 'batch-2-3'])
    assert.equal(seen.length, 2)
  })

  it('a function that returns no usable key sends those records to failover with ERR_INVALID_RECORD', async (t) => {
    const r = await rig(t)
    await deliver(t, r, { ...FAST, idempotencyKey: (recs) => id(recs[0]) === 1 ? '' : `k${id(recs[0])}` }, records(3))
    assert.deepEqual(r.receiver.requests.map((q) => keyOf(q)).sort(), ['k0', 'k2'])
    const stored = r.envelopes()
    assert.deepEqual(stored.map((e) => id(e.record)), [1])
    assert.match(stored[0]!.error ?? '', /ERR_INVALID_RECORD.*idempotencyKey/)
  })
})

describe('idempotencyKey: bad values', () => {
  for (const bad of [42, '', 'bad header', null, {}] as unknown[]) {
    it(`${JSON.stringify(bad)} throws ERR_INVALID_OPTION naming idempotencyKey`, () => {
      assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, idempotencyKey: bad } as HttpWritableOptions),
        (err: Error & { code?: string, field?: string }) => err.code === 'ERR_INVALID_OPTION' && /idempotencyKey/.test(err.message))
    })
  }
})

describe('--idempotency-key', () => {
  it('on → true, off → false, anything else names the header', async () => {
    const { writableOptions } = await import('../lib/cli/writable-flags.js')
    assert.equal(writableOptions({ 'idempotency-key': 'on' }).idempotencyKey, true)
    assert.equal(writableOptions({ 'idempotency-key': 'off' }).idempotencyKey, false)
    assert.equal(writableOptions({ 'idempotency-key': 'X-Request-Id' }).idempotencyKey, 'X-Request-Id')
    assert.equal(writableOptions({}).idempotencyKey, undefined)
  })
})
