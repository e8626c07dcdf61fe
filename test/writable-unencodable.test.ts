/**
 * Records JSON cannot hold (a BigInt, a cycle, a throwing toJSON or getter, a bare function, symbol
 * or undefined), written between good records through every JSON encoding, per record and batched,
 * to a real receiver, failing over to a real FileStore read back with FileStore.read: each bad
 * record is stored with its data recoverable (BigInt as its digits, cycles marked with the path
 * they point to) and an ERR_INVALID_RECORD naming the path, once; the good records around it are
 * delivered; nothing is lost. With `failover: false` the stream's error names the path and carries
 * the record itself.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isDeepStrictEqual } from 'node:util'
import type { ReceivedRequest } from './helpers/receiver.js'
import { FAST, feed, LIMIT, rig, type Rig } from './helpers/writable-harness.js'
import { storedEnvelopes } from './helpers/cli-child.js'
import type { EncodingName, HttpWritableOptions } from '../lib/index.js'

interface BadCase {
  name: string
  record: unknown
  /** What the store must hold: the JSON-safe copy. */
  stored: unknown
  /** The envelope's whole `error`. */
  error: string
}

function badCases (): BadCase[] {
  const cyclic: Record<string, unknown> = { id: 'cyclic', a: { b: {} } }
  cyclic.self = cyclic
  ;((cyclic.a as Record<string, Record<string, unknown>>).b as Record<string, unknown>).up = cyclic.a
  const invalid = (text: string): string => `ERR_INVALID_RECORD: ${text}`
  return [
    { name: 'BigInt', record: { id: 'bigint', n: 10n }, stored: { id: 'bigint', n: '10' }, error: invalid('$.n: BigInt cannot be encoded as JSON') },
    { name: 'BigInt beyond 2^53', record: { id: 'huge', n: 2n ** 70n }, stored: { id: 'huge', n: '1180591620717411303424' }, error: invalid('$.n: BigInt cannot be encoded as JSON') },
    {
      name: 'nested BigInts',
      record: { id: 'nested', list: [1, 2n, { deep: 3n }] },
      stored: { id: 'nested', list: [1, '2', { deep: '3' }] },
      error: invalid('$.list[1]: BigInt cannot be encoded as JSON; $.list[2].deep: BigInt cannot be encoded as JSON')
    },
    {
      name: 'cycles',
      record: cyclic,
      stored: { id: 'cyclic', a: { b: { up: '[Circular $.a]' } }, self: '[Circular $]' },
      error: invalid('$.a.b.up: circular reference to $.a; $.self: circular reference to $')
    },
    {
      name: 'a toJSON that throws',
      record: { id: 'tojson', when: { toJSON () { throw new Error('clock broken') } } },
      stored: { id: 'tojson', when: '[toJSON threw: clock broken]' },
      error: invalid('$.when: toJSON threw: clock broken')
    },
    {
      name: 'a getter that throws',
      record: { id: 'getter', get secret (): string { throw new Error('no access') } },
      stored: { id: 'getter', secret: '[getter threw: no access]' },
      error: invalid('$.secret: reading it threw: no access')
    },
    { name: 'a function', record: function handler () {}, stored: '[Function handler]', error: invalid('$: a function cannot be encoded as JSON') },
    { name: 'a symbol', record: Symbol('tick'), stored: '[Symbol(tick)]', error: invalid('$: a symbol cannot be encoded as JSON') },
    { name: 'undefined', record: undefined, stored: null, error: invalid('$: undefined cannot be encoded as JSON') }
  ]
}

const INLONG_OK = '{"code":"0","msg":"Ok"}'

/** The records of each request the receiver accepted, decoded as `encoding` framed them. */
function deliveredRecords (requests: readonly ReceivedRequest[], encoding: string): unknown[] {
  const accepted = requests.filter((req) => req.status !== undefined && req.status >= 200 && req.status < 300)
  return accepted.flatMap((req): unknown[] => {
    switch (encoding) {
      case 'json': return [JSON.parse(req.body)]
      case 'ndjson': return req.body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
      case 'json-array': return JSON.parse(req.body) as unknown[]
      case 'kafka-rest': return (JSON.parse(req.body) as { records: Array<{ value: unknown }> }).records.map((r) => r.value)
      case 'inlong': return (new URLSearchParams(req.body).get('body') ?? '').split('\n').map((l) => JSON.parse(l) as unknown)
      default: throw new Error(`no decoder for ${encoding}`)
    }
  })
}

function optionsFor (encoding: EncodingName, r: Rig): HttpWritableOptions {
  const batch = { maxRecords: 5, lingerMs: 5 }
  switch (encoding) {
    case 'json': return { encoding }
    case 'kafka-rest': return { encoding, batch, url: `${r.receiver.url}/topics/t` }
    case 'inlong': return { encoding, batch, inlong: { groupId: 'g', streamId: 's', nodes: [`127.0.0.1:${r.receiver.port}`] } }
    default: return { encoding, batch }
  }
}

/** Good records with the bad ones spread between them. */
function mixed (good: number, bad: readonly BadCase[]): unknown[] {
  const out: unknown[] = []
  let next = 0
  for (let i = 0; i < good; i++) {
    out.push({ id: i, tag: 'good' })
    if (i % 4 === 3 && next < bad.length) out.push(bad[next++]!.record)
  }
  for (; next < bad.length; next++) out.push(bad[next]!.record)
  return out
}

describe('createHttpWritable: unencodable records go to failover, recoverable', () => {
  for (const encoding of ['json', 'ndjson', 'json-array', 'kafka-rest', 'inlong'] as const) {
    it(`${encoding}: each bad record is stored with its data and a path-naming error; the good ones are delivered`, LIMIT, async (t) => {
      const r = await rig(t, { plan: () => ({ status: 200, body: INLONG_OK }) })
      const bad = badCases()
      const good = 40
      const items = mixed(good, bad)
      const sink = r.sink({ ...optionsFor(encoding, r), numWriters: 4, ...FAST })
      const fed = await feed(sink, items)
      assert.equal(fed.error, undefined, `the sink did not error (got ${String(fed.error)})`)
      assert.equal(fed.written.length, items.length)

      const stored = await storedEnvelopes(r.dir)
      for (const c of bad) {
        const matches = stored.filter((e) => isDeepStrictEqual(e.record, c.stored))
        assert.equal(matches.length, 1, `${c.name}: stored once as ${JSON.stringify(c.stored)} (store holds ${JSON.stringify(stored.map((e) => e.record))})`)
        const e = matches[0]!
        assert.equal(e.error, c.error, `${c.name}: the error names the path, once`)
        assert.deepEqual({ attempts: e.attempts, status: e.status }, { attempts: 0, status: null })
      }
      assert.equal(stored.length, bad.length, 'only the bad records are stored')
      assert.ok(!stored.some((e) => e.record === '[object Object]'))

      const delivered = deliveredRecords(r.receiver.requests, encoding)
      const deliveredIds = delivered.map((rec) => (rec as { id: number }).id)
      const lost = Array.from({ length: good }, (_, id) => id).filter((id) => !deliveredIds.includes(id))
      const duplicated = deliveredIds.length - new Set(deliveredIds).size
      t.diagnostic(`${encoding}: written ${items.length} (good ${good}, unencodable ${bad.length}), delivered ${deliveredIds.length}, stored ${stored.length}, lost ${lost.length}, duplicated ${duplicated}`)
      assert.deepEqual(lost, [], 'every good record was delivered')
      assert.ok(delivered.every((rec) => (rec as { tag?: string }).tag === 'good'), 'no bad record reached the endpoint')
      assert.deepEqual(sink.stats(), { written: items.length, delivered: good, retried: 0, failedOver: bad.length, inFlight: 0, queued: 0 })
    })
  }

  it('a record the encoding refuses for another reason is stored as a JSON-safe copy, and the error says so', LIMIT, async (t) => {
    const r = await rig(t)
    const sink = r.sink({ encoding: 'raw', ...FAST })
    const fed = await feed(sink, ['text is fine', { id: 'raw', n: 10n }])
    assert.equal(fed.error, undefined)
    const stored = await storedEnvelopes(r.dir)
    assert.deepEqual(stored.map((e) => e.record), [{ id: 'raw', n: '10' }])
    assert.equal(stored[0]!.error, "ERR_INVALID_RECORD: encoding 'raw' takes strings, Buffers or Uint8Arrays, got object; record stored as a JSON-safe copy: $.n: BigInt cannot be encoded as JSON")
    t.diagnostic(`raw: written 2, delivered ${r.receiver.deliveredCount}, stored ${stored.length}, lost 0`)
    assert.equal(r.receiver.deliveredCount, 1)
  })

  it('a record an encoding function sent but the endpoint refused is stored as a JSON-safe copy', LIMIT, async (t) => {
    const r = await rig(t, { plan: () => ({ status: 400, body: '{"why":"negative"}' }) })
    const sink = r.sink({ encoding: (records) => ({ body: String((records[0] as { n: bigint }).n) }), ...FAST })
    const fed = await feed(sink, [{ id: 'fn', n: -5n }])
    assert.equal(fed.error, undefined)
    const stored = await storedEnvelopes(r.dir)
    assert.deepEqual(stored.map((e) => e.record), [{ id: 'fn', n: '-5' }])
    assert.equal(stored[0]!.error, 'unexpected status 400: {"why":"negative"}; record stored as a JSON-safe copy: $.n: BigInt cannot be encoded as JSON')
    assert.equal(stored[0]!.attempts, 1)
  })

  it('with failover: false, ERR_DELIVERY_FAILED names the path and carries the record itself', LIMIT, async (t) => {
    const r = await rig(t)
    const bad = { id: 'bigint', n: 10n }
    const items: unknown[] = [...Array.from({ length: 10 }, (_, id) => ({ id, tag: 'good' })), bad, ...Array.from({ length: 10 }, (_, i) => ({ id: 10 + i, tag: 'good' }))]
    const sink = r.sink({ failover: false, numWriters: 2, ...FAST })
    const fed = await feed(sink, items)
    const err = fed.error as (Error & { code?: string, records?: unknown[], cause?: unknown }) | undefined
    assert.equal(err?.code, 'ERR_DELIVERY_FAILED', `got ${String(err)}`)
    assert.match(err.message, /ERR_INVALID_RECORD: \$\.n: BigInt cannot be encoded as JSON/)
    const carried = err.records ?? []
    assert.ok(carried.includes(bad), 'err.records holds the very record written')
    assert.match(err.message, new RegExp(`^${carried.length} record\\(s\\) `), 'the message counts the records it carries')
    assert.equal((err.cause as { code?: string } | undefined)?.code, 'ERR_INVALID_RECORD')
    // Records waiting as request bodies come back decoded (equal, not identical): count by id.
    const idOf = (rec: unknown): unknown => (rec as { id: unknown }).id
    const deliveredIds = new Set(deliveredRecords(r.receiver.requests, 'json').map(idOf))
    const erroredIds = new Set(carried.map(idOf))
    const accounted = fed.written.filter((rec) => deliveredIds.has(idOf(rec)) || erroredIds.has(idOf(rec)) || fed.rejected.includes(rec))
    t.diagnostic(`failover false: written ${fed.written.length}, delivered ${deliveredIds.size}, in err.records ${carried.length}, refused to the writer ${fed.rejected.length}, lost ${fed.written.length - accounted.length}`)
    assert.equal(accounted.length, fed.written.length, 'nothing lost')
    assert.equal(r.envelopes().length, 0)
  })
})
