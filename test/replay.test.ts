import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { replay } from '../lib/sink/replay.js'
import { FileStore } from '../lib/stores/file.js'
import type { StoredRecord } from '../lib/stores/store.js'
import { startReceiver, firstRecord } from './helpers/receiver.js'

async function storeWith (t: { after: (fn: () => void) => void }, n: number): Promise<{ dir: string, uri: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-replay-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const store = new FileStore(dir)
  await store.put(Array.from({ length: n }, (_, id) => ({ record: { id }, url: 'http://old/', method: 'POST', attempts: 4, status: 503, error: 'unexpected status 503', failedAt: 1 })))
  await store.close()
  return { dir, uri: `file:${dir}` }
}

async function readAll (dir: string): Promise<StoredRecord[]> {
  const out: StoredRecord[] = []
  for await (const batch of new FileStore(dir).read()) out.push(...batch)
  return out
}

test('replay acks what the endpoint accepts, keeps the rest with attempts updated, and never re-sends', async (t) => {
  const { dir, uri } = await storeWith(t, 30)
  let refuse = true
  const receiver = await startReceiver({ plan: (req) => refuse && (firstRecord(req)?.id as number) % 3 === 0 ? { status: 400, body: 'no' } : undefined })
  t.after(() => receiver.close())
  const progress: unknown[] = []
  const first = await replay(uri, { url: receiver.url + '/in', batchSize: 8, backoff: { base: 1, max: 5 }, onProgress: (p) => progress.push(p) })
  assert.equal(first.read, 30)
  assert.equal(first.delivered, 20)
  assert.equal(first.failedAgain, 10)
  assert.equal(progress.length, 4, 'one progress report per round of 8')
  const kept = await readAll(dir)
  assert.deepEqual(kept.map((r) => (r.envelope.record as { id: number }).id).sort((a, b) => a - b), [0, 3, 6, 9, 12, 15, 18, 21, 24, 27])
  for (const r of kept) {
    assert.equal(r.envelope.attempts, 5, 'stored attempts (4) plus the replay attempt')
    assert.equal(r.envelope.status, 400)
    assert.match(r.envelope.error!, /400/)
  }
  refuse = false
  const second = await replay(uri, { url: receiver.url + '/in' })
  assert.deepEqual([second.read, second.delivered, second.failedAgain], [10, 10, 0])
  const third = await replay(uri, { url: receiver.url + '/in' })
  assert.deepEqual([third.read, third.delivered], [0, 0])
  assert.equal(receiver.deliveredCount, 30, 'each record accepted exactly once over three replays')
  for (const count of receiver.delivered.values()) assert.equal(count, 1)
})

test('replay with an endpoint that is down keeps everything', async (t) => {
  const { dir, uri } = await storeWith(t, 12)
  const receiver = await startReceiver({ plan: () => ({ status: 503 }) })
  t.after(() => receiver.close())
  const result = await replay(uri, { url: receiver.url, retries: 1, backoff: { base: 1, max: 2 } })
  assert.deepEqual([result.read, result.delivered, result.failedAgain], [12, 0, 12])
  assert.equal((await readAll(dir)).length, 12)
})

test('replay validates its options', async () => {
  await assert.rejects(replay('file:/tmp/x', { url: 'not a url' }), { code: 'ERR_INVALID_OPTION' })
  await assert.rejects(replay('file:/tmp/x', { url: 'http://127.0.0.1:1', batchSize: 0 }), { code: 'ERR_INVALID_OPTION' })
  await assert.rejects(replay('what://x', { url: 'http://127.0.0.1:1' }), /store: unknown store scheme/)
})
