/**
 * The MySQL store against a real MariaDB (test/services/mariadb.ts): round trip, StreamPark's
 * columns and parameterized values, a crash (SIGKILL) mid-run, and a restart that the store rides
 * out by itself.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createConnection, type RowDataPacket } from 'mysql2/promise'
import { openStore } from '../lib/stores/open-store.js'
import type { FailoverEnvelope, Store } from '../lib/stores/store.js'
import { ackAll, assertHolds, checkRoundTrip, envelope, envelopes, keyOf, pass } from './helpers/store-contract.js'
import { startReceiver } from './helpers/receiver.js'
import { startMariaDb, type MariaDb } from './services/mariadb.js'
import { requireService, type Missing } from './services/require-service.js'

let db: MariaDb | Missing | undefined
const WHAT = 'MariaDB (apt-get install mariadb-server)'

before(async () => { db = await startMariaDb() })
after(async () => { if (db !== undefined && !('missing' in db)) await db.destroy() })

test('mysql: put, read, ack (DELETE), retain (UPDATE), read again', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const store = openStore(`${db.uri}?table=roundtrip`)
  t.after(() => store.close())
  await checkRoundTrip(t, store)
})

test('mysql: the table has StreamPark\'s `values` and `timestamp` columns, and values go in as parameters', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const store = openStore(`${db.uri}?table=streampark`)
  t.after(() => store.close())
  const written = [envelope(1), { ...envelope(2), record: 'http://127.0.0.1:8080?userId=2&siteId=7' }, { ...envelope(3), record: "'); DROP TABLE streampark; --" }]
  await store.put(written)
  const conn = await createConnection({ host: '127.0.0.1', port: db.port, user: 'hsc', password: db.password, database: 'failover' })
  t.after(() => conn.end())
  const [columns] = await conn.query<RowDataPacket[]>('SHOW COLUMNS FROM streampark')
  const types = Object.fromEntries(columns.map((c) => [c.Field as string, `${c.Type as string} ${c.Key as string} ${c.Extra as string}`.trim()]))
  assert.match(types.id!, /^bigint.* PRI auto_increment$/)
  assert.match(types.values!, /text$/)
  assert.match(types.timestamp!, /^bigint/)
  for (const c of ['url', 'method', 'attempts', 'status', 'error', 'failed_at']) assert.ok(c in types, `column ${c}`)
  const [rows] = await conn.query<RowDataPacket[]>('SELECT `values`, `timestamp`, url, attempts, status FROM streampark ORDER BY id')
  assert.deepEqual(rows.map((r) => [JSON.parse(r.values as string), Number(r.timestamp)]), written.map((e) => [[e.record], e.failedAt]))
  assert.equal(rows[0]!.url, written[0]!.url)
  assertHolds(await pass(store, ackAll), written)
})

/** Puts batches one after another from `writers` loops until `stop()`; records what resolved and what rejected. */
function keepPutting (store: Store, writers: number): { resolved: FailoverEnvelope[], rejected: FailoverEnvelope[], slowestMs: () => number, stop: () => Promise<void> } {
  const resolved: FailoverEnvelope[] = []
  const rejected: FailoverEnvelope[] = []
  let running = true
  let next = 0
  let slowest = 0
  const loops = Array.from({ length: writers }, async () => {
    while (running) {
      const batch = envelopes(20, 'restart', (next++) * 20)
      const started = performance.now()
      await store.put(batch).then(() => { resolved.push(...batch) }, () => { rejected.push(...batch) })
      slowest = Math.max(slowest, performance.now() - started)
    }
  })
  return { resolved, rejected, slowestMs: () => Math.round(slowest), stop: async () => { running = false; await Promise.all(loops) } }
}

async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20))
}

/** 3 writers put until 300 envelopes are stored, `disrupt` runs, and they go on until 300 more are. */
async function putAround (store: Store, disrupt: (run: ReturnType<typeof keepPutting>) => Promise<void>): Promise<ReturnType<typeof keepPutting>> {
  const run = keepPutting(store, 3)
  await until(() => run.resolved.length >= 300)
  await disrupt(run)
  const before = run.resolved.length
  await until(() => run.resolved.length >= before + 300)
  await run.stop()
  return run
}

test('mysql: MariaDB killed mid-run: puts reject while it is down, the same store recovers after start(), nothing resolved is lost', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const server = db
  const store = openStore(`${server.uri}?table=crash&retries=1`)
  t.after(async () => { await server.start(); await store.close() })
  const run = await putAround(store, async (r) => {
    await server.stop('SIGKILL')
    await until(() => r.rejected.length >= 60)
    await server.start()
  })

  const stored = await pass(store, undefined, 1000)
  const duplicates = assertHolds(stored, run.resolved)
  const storedKeys = new Set(stored.map(keyOf))
  t.diagnostic(`resolved ${run.resolved.length}, rejected ${run.rejected.length} (${run.rejected.filter((e) => storedKeys.has(keyOf(e))).length} of them committed anyway), stored ${stored.length}, duplicates ${duplicates}`)
})

test('mysql: a MariaDB restart during puts is ridden out by retries: every put resolves and is stored', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const server = db
  const store = openStore(`${server.uri}?table=restart&retries=40`)
  t.after(async () => { await server.start(); await store.close() })
  const run = await putAround(store, () => server.restart())
  assert.deepEqual(run.rejected.map(keyOf), [], 'no put rejected')
  const stored = await pass(store, undefined, 1000)
  const duplicates = assertHolds(stored, run.resolved)
  t.diagnostic(`resolved ${run.resolved.length}, stored ${stored.length}, duplicates ${duplicates}; slowest put ${run.slowestMs()} ms (waiting out the restart)`)
})

test('mysql: a replayer killed (SIGKILL) while it holds claimed rows leaves no claim behind: the next replay reads every row', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const uri = `${db.uri}?table=killed`
  const store = openStore(uri)
  t.after(() => store.close())
  const written = envelopes(300, 'killed')
  await store.put(written)
  const receiver = await startReceiver({ plan: () => ({ hang: true }) }) // the replayer blocks holding its first batch
  t.after(() => receiver.close())
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/concurrent-replay-child.ts', import.meta.url)), uri, receiver.url], { stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  await receiver.waitFor(() => receiver.requests.length > 0)
  child.kill('SIGKILL')
  await exited
  const stored = await pass(store, ackAll) // waits on no lock: the server rolled the dead claim back
  assertHolds(stored, written)
  assert.equal(stored.length, written.length)
  t.diagnostic(`stored ${written.length}, the killed replayer had sent ${receiver.requests.length} request(s) unanswered, the next pass read ${stored.length}`)
})

test('mysql: rows put while a replay pass runs are neither read by it nor lost: the next pass reads exactly them', async (t) => {
  if (!requireService(t, db, WHAT)) return
  const store = openStore(`${db.uri}?table=putduring`)
  t.after(() => store.close())
  const before = envelopes(250, 'before')
  const during: FailoverEnvelope[] = []
  await store.put(before)
  const first: string[] = []
  for await (const batch of store.read({ batchSize: 100 })) {
    first.push(...batch.map(keyOf))
    const more = envelopes(40, 'during', during.length)
    during.push(...more)
    await store.put(more) // new rows, while this batch's rows are claimed
    await store.ack(batch.map((r) => r.id))
  }
  assert.deepEqual(new Set(first), new Set(before.map(keyOf)), 'the pass read what was there when it began')
  const second = await pass(store, ackAll)
  assertHolds(second, during)
  assert.equal(second.length, during.length)
  t.diagnostic(`first pass ${first.length}, put during it ${during.length}, second pass ${second.length}, lost 0`)
})
