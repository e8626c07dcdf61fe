import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHttpWritable, replay } from '../lib/index.js'
import { resolveOptions } from '../lib/sink/options.js'
import { FileStore } from '../lib/stores/file.js'
import { TargetGroups } from '../lib/sink/target-groups.js'
import { ndjsonEncoding } from '../lib/encoders/batch-encodings.js'
import type { ReceivedRequest } from './helpers/receiver.js'
import { startReceiver } from './helpers/receiver.js'
import { FAST, LIMIT, TRANSPORTS, deliver, rig } from './helpers/writable-harness.js'

interface Rec { id: number, tenant?: unknown, meta?: { region?: unknown } }

const TENANTS = ['acme', 'a b/c?d', 'zürich', '100%']
const REGIONS = ['eu-1', 'us-2', 'ap-3']

/** Records over several tenants and regions; every 25th lacks its tenant, every 40th has an object as region. */
function tenantRecords (n: number): Rec[] {
  return Array.from({ length: n }, (_, id) => {
    const rec: Rec = { id, tenant: TENANTS[id % TENANTS.length], meta: { region: REGIONS[id % REGIONS.length] } }
    if (id % 25 === 24) delete rec.tenant
    else if (id % 40 === 39) rec.meta = { region: { nested: true } }
    return rec
  })
}

/** The templated target the tests use (header names in any case: they are lower-cased once). */
const templated = (base: string): { url: string, headers: Record<string, string> } => ({
  url: `${base}/tenants/{tenant}/events`,
  headers: { 'X-Region': '{meta.region}', 'x-static': 'plain {{braces}}' }
})

const bad = (r: Rec): boolean => r.tenant === undefined || typeof r.meta?.region !== 'string'

/** Every record of a request belongs at its path and x-region header; returns how many records were checked. */
function assertTargets (requests: ReceivedRequest[]): number {
  let checked = 0
  for (const req of requests) {
    for (const rec of req.records as Rec[]) {
      assert.equal(req.path, `/tenants/${encodeURIComponent(String(rec.tenant))}/events`, `record ${rec.id}`)
      assert.equal(req.headers['x-region'], rec.meta?.region, `record ${rec.id}`)
      assert.equal(req.headers['x-static'], 'plain {braces}')
      checked++
    }
  }
  return checked
}

for (const transport of TRANSPORTS) {
  test(`${transport}: per-record url and header templates, fields percent-encoded; records lacking a field fail over naming it`, LIMIT, async (t) => {
    const r = await rig(t)
    const items = tenantRecords(200)
    const { report } = await deliver(t, r, {
      ...FAST,
      transport,
      ...templated(r.receiver.url)
    }, items)
    const checked = assertTargets(r.receiver.requests)
    const envelopes = r.envelopes()
    t.diagnostic(`requests ${r.receiver.requests.length}, records checked ${checked}, failed over ${envelopes.length}`)
    assert.equal(checked, items.filter((x) => !bad(x)).length)
    assert.equal(envelopes.length, items.filter(bad).length)
    for (const e of envelopes) {
      const rec = e.record as Rec
      assert.match(e.error ?? '', rec.tenant === undefined ? /ERR_INVALID_RECORD.*'tenant'/ : /ERR_INVALID_RECORD.*'meta\.region'/)
      assert.equal(e.attempts, 0)
    }
    assert.equal(report.lost, 0)
  })

  test(`${transport}: batches are grouped by resolved target (one URL and header set per request)`, LIMIT, async (t) => {
    const r = await rig(t)
    const items = tenantRecords(600)
    await deliver(t, r, {
      ...FAST,
      transport,
      encoding: 'ndjson',
      batch: { maxRecords: 40, lingerMs: 20 },
      ...templated(r.receiver.url)
    }, items)
    const checked = assertTargets(r.receiver.requests)
    const sizes = r.receiver.requests.map((q) => q.records.length)
    t.diagnostic(`requests ${sizes.length}, largest batch ${Math.max(...sizes)}, records checked ${checked}`)
    assert.equal(checked, items.filter((x) => !bad(x)).length)
    assert.ok(Math.max(...sizes) > 1, 'records were batched')
    assert.equal(r.envelopes().length, items.filter(bad).length)
  })
}

test('open groups are bounded by batch.maxGroups: a new target sends the oldest group first', () => {
  const { targets, batch } = resolveOptions({ url: 'http://127.0.0.1:1/t/{tenant}', encoding: 'ndjson', batch: { maxGroups: 8, lingerMs: 60_000 } })
  const emitted: Array<{ path: string, count: number }> = []
  const groups = new TargetGroups(targets!, ndjsonEncoding({ url: new URL('http://127.0.0.1:1/'), method: 'POST', headers: {} }), batch!, (_r, _p, count, _t, target) => emitted.push({ path: target.path, count }), (_record, _tag, err) => { throw err })
  for (let i = 0; i < 1000; i++) groups.add({ tenant: `t${i}` }, undefined)
  // 1000 distinct targets with room for 8: all but the 8 newest went out when pushed aside, oldest first.
  assert.equal(emitted.length, 1000 - 8)
  assert.deepEqual(emitted.slice(0, 2).map((e) => e.path), ['/t/t0', '/t/t1'])
  groups.flush()
  assert.equal(emitted.length, 1000)
  assert.equal(resolveOptions({ url: 'http://h/{x}', encoding: 'ndjson' }).batch!.maxGroups, 64)
})

test('a (record) => url function picks each record\'s target', LIMIT, async (t) => {
  const r = await rig(t)
  const items = Array.from({ length: 50 }, (_, id) => ({ id }))
  await deliver(t, r, { ...FAST, url: (rec) => `${r.receiver.url}/by-parity/${(rec as { id: number }).id % 2 === 0 ? 'even' : 'odd'}` }, items)
  assert.equal(r.receiver.requests.length, 50)
  for (const req of r.receiver.requests) {
    const rec = req.records[0] as { id: number }
    assert.equal(req.path, `/by-parity/${rec.id % 2 === 0 ? 'even' : 'odd'}`)
  }
})

test('templates are checked at construction: ERR_INVALID_OPTION names url or headers.<name>', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ url: 'http://h/{}/x' }, 'url', /names no field/],
    [{ url: 'http://h/{ }/x' }, 'url', /names no field/],
    [{ url: 'http://h/{a..b}' }, 'url', /names no field/],
    [{ url: 'http://h/{tenant' }, 'url', /unclosed/],
    [{ url: 'http://h/tenant}' }, 'url', /lone/],
    [{ url: 'ftp://h/{tenant}' }, 'url', /http or https/],
    [{ url: '{host}/events' }, 'url', /not a URL/],
    [{ url: 'http://h/', headers: { 'X-Region': '{}' } }, 'headers.x-region', /names no field/],
    [{ url: 'http://h/', headers: { 'x-a': 'v{a' } }, 'headers.x-a', /unclosed/]
  ]
  for (const [options, field, message] of cases) {
    assert.throws(() => createHttpWritable({ failover: false, ...options }), (err: Error & { code?: string, field?: string }) => {
      assert.equal(err.code, 'ERR_INVALID_OPTION', JSON.stringify(options))
      assert.equal(err.field, field, JSON.stringify(options))
      assert.match(err.message, message)
      return true
    })
  }
  // Without placeholders nothing is templated (the fixed target's path), and {{ }} stand for braces.
  const plain = resolveOptions({ url: 'http://h/a/{{b}}', headers: { 'x-v': '{{v}}' } })
  assert.equal(plain.targets, undefined)
  assert.equal(plain.url!.pathname, '/a/%7Bb%7D')
  assert.equal(plain.headers['x-v'], '{v}')
})

test('replay with a template url resolves it per stored record again', LIMIT, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-template-replay-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const store = new FileStore(dir)
  const stored = Array.from({ length: 30 }, (_, id) => ({ id, tenant: TENANTS[id % TENANTS.length] }))
  await store.put(stored.map((record) => ({ record, url: 'http://old/', method: 'POST', attempts: 4, status: 503, error: 'unexpected status 503', failedAt: 1 })))
  await store.close()
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const summary = await replay(`file:${dir}`, { ...FAST, url: `${receiver.url}/tenants/{tenant}/events`, encoding: 'ndjson', batch: { lingerMs: 5 } })
  t.diagnostic(`replay ${JSON.stringify(summary)}, requests ${receiver.requests.length}`)
  assert.equal(summary.delivered, 30)
  let seen = 0
  for (const req of receiver.requests) {
    for (const rec of req.records as Rec[]) {
      assert.equal(req.path, `/tenants/${encodeURIComponent(String(rec.tenant))}/events`)
      seen++
    }
  }
  assert.equal(seen, 30)
  assert.equal(receiver.requests.length, TENANTS.length)
})

test('a batch bisected after a 4xx keeps its target: every part goes to the URL and headers of the whole', LIMIT, async (t) => {
  const poison = new Set([7, 130, 411])
  const r = await rig(t, { plan: (req) => (req.records as Rec[]).some((x) => poison.has(x.id)) ? { status: 422, body: 'bad record' } : undefined })
  const items = tenantRecords(500).filter((x) => !bad(x))
  await deliver(t, r, {
    ...FAST,
    encoding: 'json-array',
    batch: { maxRecords: 50, lingerMs: 5 },
    ...templated(r.receiver.url)
  }, items)
  const checked = assertTargets(r.receiver.requests)
  const stored = r.envelopes().map((e) => (e.record as Rec).id).sort((a, b) => a - b)
  t.diagnostic(`requests ${r.receiver.requests.length} (bisected), records checked ${checked}, stored ${JSON.stringify(stored)}`)
  assert.deepEqual(stored, [...poison].filter((id) => items.some((x) => x.id === id)).sort((a, b) => a - b))
  for (const e of r.envelopes()) assert.equal(e.url, `${r.receiver.url}/tenants/${encodeURIComponent(String((e.record as Rec).tenant))}/events`)
})
