/**
 * The WebHDFS store against a WebHDFS protocol server (test/helpers/webhdfs-server.ts; no HDFS is
 * packaged here): the two-step CREATE/APPEND, the directory layout, lease errors retried, a torn
 * write rolled over, and replay bookkeeping that never re-sends what was acked.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openStore } from '../lib/stores/open-store.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import type { WebHdfsStore } from '../lib/stores/webhdfs.js'
import { ackAll, assertHolds, checkReplayLock, checkRoundTrip, envelopes, pass } from './helpers/store-contract.js'
import { startWebHdfs, type WebHdfsServer } from './helpers/webhdfs-server.js'

async function setup (t: import('node:test').TestContext, query = ''): Promise<{ hdfs: WebHdfsServer, store: WebHdfsStore }> {
  const hdfs = await startWebHdfs()
  const store = openStore(`webhdfs://${hdfs.address}/http/failover?user=etl${query}`) as WebHdfsStore
  t.after(async () => { await store.close(); await hdfs.close() })
  return { hdfs, store }
}

const utcDay = (): string => new Date().toISOString().slice(0, 10)

test('webhdfs: put, read, ack (sidecar), retain, read again; replayed files are deleted', async (t) => {
  const { hdfs, store } = await setup(t)
  await checkRoundTrip(t, store)
  await store.close()
  assert.deepEqual([...hdfs.files('/http/failover').keys()], [], 'fully acked files and their sidecars are gone')
})

test('webhdfs: two-step CREATE then APPEND with user.name, NDJSON under path/<date>/', async (t) => {
  const { hdfs, store } = await setup(t, '&format=yyyy/MM-dd')
  const written = envelopes(5)
  await store.put(written.slice(0, 2))
  await store.put(written.slice(2))
  const writes = hdfs.ops.filter((o) => o.op === 'CREATE' || o.op === 'APPEND')
  assert.deepEqual(writes.map((o) => `${o.node} ${o.method} ${o.op} ${o.status}`), [
    'namenode PUT CREATE 307', 'datanode PUT CREATE 201', 'namenode POST APPEND 307', 'datanode POST APPEND 200'
  ])
  assert.ok(hdfs.ops.every((o) => o.user === 'etl'), 'user.name on every request')
  const [day, month] = [utcDay().slice(8), utcDay().slice(5, 7)]
  const files = [...hdfs.files('/http/failover')]
  assert.equal(files.length, 1)
  assert.match(files[0]![0], new RegExp(`^/http/failover/\\d{4}/${month}-${day}/part-[a-z0-9]+-[0-9a-f]+-0\\.ndjson\\.inprogress$`))
  assert.deepEqual(files[0]![1].toString().trimEnd().split('\n').map((l) => JSON.parse(l)), written)
})

test('webhdfs: lease and "already being created" errors are retried with backoff; nothing is lost', async (t) => {
  const { hdfs, store } = await setup(t, '&retries=8')
  const resolved: FailoverEnvelope[] = []
  for (let k = 0; k < 6; k++) {
    hdfs.failWrites(k % 2 === 0 ? 2 : 4) // AlreadyBeingCreated, RecoveryInProgress, LeaseExpired…
    const batch = envelopes(10, 'lease', k * 10)
    await store.put(batch)
    resolved.push(...batch)
  }
  const refused = hdfs.ops.filter((o) => o.status === 403)
  assert.equal(refused.length, 18, 'every lease error was answered and retried')
  assert.ok(new Set(refused.map((o) => o.op)).size >= 1)
  const stored = await pass(store, ackAll)
  const duplicates = assertHolds(stored, resolved)
  assert.equal(stored.length, resolved.length)
  t.diagnostic(`lease errors ${refused.length}, stored ${stored.length}, duplicates ${duplicates}`)
})

test('webhdfs: lease errors beyond the retries reject the put, which is then not counted as stored', async (t) => {
  const { hdfs, store } = await setup(t, '&retries=2')
  await store.put(envelopes(3, 'ok'))
  hdfs.failWrites(3)
  await assert.rejects(store.put(envelopes(3, 'refused')), (err: Error & { code?: string }) => err.code === 'ERR_STORE' && /AlreadyBeingCreated|LeaseExpired|RecoveryInProgress/.test(err.message))
  await store.put(envelopes(3, 'after'))
  const stored = await pass(store)
  assert.deepEqual(stored.map((r) => (r.envelope.record as { tag: string }).tag), ['ok', 'ok', 'ok', 'after', 'after', 'after'])
})

test('webhdfs: a write torn by a dropped connection rolls to a new file; the torn line is skipped and reported', async (t) => {
  const { hdfs, store } = await setup(t, '&retries=3')
  const first = envelopes(4, 'a')
  const torn = envelopes(4, 'torn', 4)
  const last = envelopes(4, 'b', 8)
  await store.put(first)
  hdfs.tearNextWrite = true
  await store.put(torn) // half lands in the old file, then the whole batch goes to a new file
  await store.put(last)
  const corrupt: unknown[] = []
  store.on('corrupt-line', (where) => corrupt.push(where))
  const stored = await pass(store, ackAll)
  const duplicates = assertHolds(stored, [...first, ...torn, ...last])
  assert.equal(corrupt.length, 1, 'the torn line is reported once')
  assert.equal(store.corruptLines, 1)
  t.diagnostic(`stored ${stored.length}, duplicates ${duplicates} (the torn batch's complete lines)`)
  assert.deepEqual(await pass(store), [], 'a second replay sends nothing again')
})

test('webhdfs: namenode down: put rejects; after it is back the same store goes on', async (t) => {
  const { hdfs, store } = await setup(t, '&retries=1&timeout=2000')
  await store.put(envelopes(2, 'before'))
  await hdfs.down()
  await assert.rejects(store.put(envelopes(2, 'down')), { code: 'ERR_STORE' })
  await hdfs.up()
  await store.put(envelopes(2, 'after'))
  const tags = (await pass(store)).map((r) => (r.envelope.record as { tag: string }).tag)
  assert.deepEqual(tags, ['before', 'before', 'after', 'after'])
})

test('webhdfs: replay lock file: held during a read, removed after; a live one refuses with ERR_STORE_LOCKED, an expired one is taken over', async (t) => {
  const { hdfs, store } = await setup(t)
  const path = '/http/failover/replay.lock'
  await checkReplayLock(t, store, {
    plant: (content) => { hdfs.nodes.set(path, { type: 'FILE', data: Buffer.from(content), modificationTime: Date.now() }) },
    exists: () => hdfs.nodes.has(path)
  })
  assert.deepEqual([...hdfs.files('/http/failover')].filter(([p]) => p.includes('replay.lock')), [], 'no lock file left, not even a moved-aside one')
})
