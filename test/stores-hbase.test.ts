/**
 * The HBase store against an HBase REST (Stargate) protocol server (test/helpers/hbase-rest-server.ts;
 * no HBase is packaged here): table created with family cf, base64 cells, newest-first row keys,
 * scanner paging, 503s retried, and the server going down.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { HBaseStore } from '../lib/stores/hbase.js'
import { openStore } from '../lib/stores/open-store.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { ackAll, assertHolds, checkReplayLock, checkRoundTrip, envelope, envelopes, pass } from './helpers/store-contract.js'
import { startHBaseRest, type HBaseRestServer } from './helpers/hbase-rest-server.js'

async function setup (t: import('node:test').TestContext, query = ''): Promise<{ hbase: HBaseRestServer, store: HBaseStore }> {
  const hbase = await startHBaseRest()
  const store = openStore(`hbase://${hbase.address}/failover${query}`) as HBaseStore
  t.after(async () => { await store.close(); await hbase.close() })
  return { hbase, store }
}

test('hbase: put, scan, ack (row DELETE), retain (cells PUT), scan again; the scanner is always deleted', async (t) => {
  const { hbase, store } = await setup(t)
  await checkRoundTrip(t, store)
  assert.equal(hbase.rows('failover').size, 0)
  const scanners = hbase.requests.filter((r) => r.path.includes('/scanner'))
  assert.equal(scanners.filter((r) => r.method === 'PUT').length, scanners.filter((r) => r.method === 'DELETE').length, 'every scanner opened is deleted')
})

test('hbase: creates the table with family cf, one cell per field, row keys newest first', async (t) => {
  const { hbase, store } = await setup(t)
  const older = { ...envelope(1), failedAt: 1_700_000_000_000 }
  const newer = { ...envelope(2), failedAt: 1_700_000_000_500, status: null, error: null }
  await store.put([older, newer])
  assert.deepEqual(hbase.requests.slice(0, 3).map((r) => `${r.method} ${r.path} ${r.status}`), [
    'GET /failover/schema 404', 'PUT /failover/schema 201', `PUT ${hbase.requests[2]!.path} 200`
  ])
  assert.deepEqual([...hbase.tables.get('failover')!.families], ['cf'])
  const rows = [...hbase.rows('failover')].sort(([a], [b]) => a < b ? -1 : 1)
  assert.equal(rows.length, 2)
  // Long.MAX_VALUE − failedAt, 19 digits: the newer envelope sorts first.
  assert.ok(rows[0]![0].startsWith(`${9223372036854775807n - 1_700_000_000_500n}-`), rows[0]![0])
  assert.deepEqual(Object.fromEntries(rows[0]![1]), {
    'cf:record': JSON.stringify(newer.record), 'cf:url': newer.url, 'cf:method': 'POST', 'cf:attempts': '4', 'cf:status': '', 'cf:error': '', 'cf:failedAt': String(newer.failedAt)
  })
  const stored = await pass(store)
  assert.deepEqual(stored.map((r) => r.envelope), [newer, older])
})

test('hbase: the scanner pages by cells; rows split across pages come back whole', async (t) => {
  const { hbase, store } = await setup(t)
  const written = envelopes(23)
  await store.put(written)
  hbase.maxCellsPerAnswer = 5 // 7 cells a row: most rows straddle two answers
  for (const batchSize of [1, 4, 100]) {
    const stored = await pass(store, undefined, batchSize)
    assert.equal(stored.length, 23)
    assertHolds(stored, written)
  }
})

test('hbase: 503 answers are retried; a server that stays down makes put reject, and the store goes on after', async (t) => {
  const { hbase, store } = await setup(t, '?retries=3&timeout=2000')
  const resolved: FailoverEnvelope[] = []
  for (let k = 0; k < 4; k++) {
    hbase.unavailable = 2
    const batch = envelopes(5, 'busy', k * 5)
    await store.put(batch)
    resolved.push(...batch)
  }
  assert.equal(hbase.requests.filter((r) => r.status === 503).length, 8)
  await hbase.down()
  await assert.rejects(store.put(envelopes(5, 'down', 100)), { code: 'ERR_STORE' })
  await hbase.up()
  const after = envelopes(5, 'after', 200)
  await store.put(after)
  const stored = await pass(store, ackAll)
  assertHolds(stored, [...resolved, ...after])
  assert.equal(stored.length, resolved.length + after.length)
})

test('hbase: replay lock row (check-and-put): held during a read, deleted after; a live one refuses with ERR_STORE_LOCKED, an expired one is taken over', async (t) => {
  const { hbase, store } = await setup(t)
  const rows = (): Map<string, Map<string, Buffer>> => hbase.tables.get('failover')!.rows
  await checkReplayLock(t, store, {
    plant: (content) => { rows().set('~replay-lock', new Map([['cf:lock', Buffer.from(content)]])) },
    exists: () => rows().has('~replay-lock')
  })
  const checks = hbase.requests.filter((r) => r.path.endsWith('/~replay-lock') || r.path.includes('replay-lock'))
  assert.ok(checks.some((r) => r.method === 'PUT' && r.status === 304), 'a check-and-put against a held lock answered 304')
})
