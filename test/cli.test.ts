import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { main } from '../lib/cli/main.js'
import { FileStore } from '../lib/stores/file.js'
import { startReceiver, firstRecord } from './helpers/receiver.js'
import { cliIo } from './helpers/cli-io.js'

const run = promisify(execFile)

const io = cliIo

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-cli-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('send delivers NDJSON from stdin and prints a summary', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n'
  const c = io(lines)
  const code = await main(['send', receiver.url + '/in', '--num-writers', '4'], c.io)
  assert.equal(code, 0, c.err())
  assert.equal(receiver.deliveredCount, 50)
  assert.match(c.out(), /written\s+50/)
  assert.match(c.out(), /delivered\s+50/)
})

test('send: bad lines are reported and kept in the failover store as ERR_INVALID_RECORD; without a store they count as lost', async (t) => {
  const dir = tempDir(t)
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const c = io('{"a":1}\nnot json\n{"a":2}\n')
  assert.equal(await main(['send', receiver.url, '--failover', `file:${dir}`], c.io), 3, c.out() + c.err())
  assert.match(c.err(), /line 2: not JSON .*kept in failover/)
  assert.match(c.out(), /bad lines\s+1 -> file:/)
  assert.equal(receiver.deliveredCount, 2)
  const stored = []
  for await (const batch of new FileStore(dir).read()) stored.push(...batch.map((s) => s.envelope))
  assert.deepEqual(stored.map((e) => e.record), ['not json'])
  assert.match(stored[0]!.error ?? '', /^ERR_INVALID_RECORD: line 2: not JSON/)
  const off = io('{"a":1}\nnot json\n')
  assert.equal(await main(['send', receiver.url, '--failover', 'false'], off.io), 1)
  assert.match(off.out(), /bad lines\s+1 \(not stored: failover off\)/)
})

test('send: records neither delivered nor stored give exit code 1 and say how many', async (t) => {
  const receiver = await startReceiver({ plan: (req) => (firstRecord(req)?.i === 3 ? { status: 400 } : undefined) })
  t.after(() => receiver.close())
  const c = io(Array.from({ length: 10 }, (_, i) => JSON.stringify({ i })).join('\n'))
  assert.equal(await main(['send', receiver.url, '--failover', 'false', '--num-writers', '1'], c.io), 1)
  assert.match(c.out(), /not delivered nor stored/)
  assert.match(c.out(), /ERR_DELIVERY_FAILED/)
})

test('send: failed records go to the failover store, exit 3 (stored for replay)', async (t) => {
  const dir = tempDir(t)
  const receiver = await startReceiver({ plan: (req) => (firstRecord(req)?.i === 3 ? { status: 400 } : undefined) })
  t.after(() => receiver.close())
  const c = io(Array.from({ length: 10 }, (_, i) => JSON.stringify({ i })).join('\n'))
  assert.equal(await main(['send', receiver.url, '--failover', `file:${dir}`], c.io), 3)
  assert.match(c.out(), new RegExp(`failed over\\s+1 -> file:${dir}`))
  const stored = []
  for await (const batch of new FileStore(dir).read()) stored.push(...batch)
  assert.deepEqual(stored.map((s) => s.envelope.record), [{ i: 3 }])
})

test('demo streams generated records into its failing receiver, loses none', async (t) => {
  const dir = tempDir(t)
  const c = io()
  const code = await main(['demo', '--records', '3000', '--failover', `file:${dir}`], c.io)
  assert.equal(code, 0, c.out() + c.err())
  const counted = Number(/receiver counted\s+(\d+)/.exec(c.out())![1])
  const failedOver = Number(/failed over\s+(\d+)/.exec(c.out())![1])
  assert.equal(failedOver, 3, 'ids 997, 1994 and 2991 are poison')
  assert.ok(counted >= 3000 - failedOver, `receiver counted ${counted}`)
  assert.match(c.out(), /retried\s+[1-9]/)
})

test('replay command re-delivers a store', async (t) => {
  const dir = tempDir(t)
  const store = new FileStore(dir)
  await store.put([{ record: { x: 1 }, url: '', method: 'POST', attempts: 1, status: 500, error: 'x', failedAt: 1 }])
  await store.close()
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const c = io()
  assert.equal(await main(['replay', `file:${dir}`, receiver.url], c.io), 0, c.err())
  assert.match(c.out(), /delivered\s+1/)
  assert.equal(receiver.deliveredCount, 1)
})

test('usage errors exit 2 with a pointer to --help', async () => {
  let c = io()
  assert.equal(await main(['frobnicate'], c.io), 2)
  assert.match(c.err(), /unknown command/)
  c = io()
  assert.equal(await main(['send'], c.io), 2)
  assert.match(c.err(), /exactly one <url>/)
  c = io()
  assert.equal(await main(['send', 'http://127.0.0.1:1', '--num-writers', 'lots'], c.io), 2)
  c = io()
  assert.equal(await main(['send', 'http://127.0.0.1:1', '--bogus'], c.io), 2)
  c = io()
  assert.equal(await main(['send', 'http://127.0.0.1:1', '--method', 'FETCH'], c.io), 2)
  assert.match(c.err(), /ERR_INVALID_OPTION: method/)
  c = io()
  assert.equal(await main(['send', '--help'], c.io), 0)
  assert.match(c.out(), /--num-writers/)
})

test('the installed bin runs from dist', async (t) => {
  const root = new URL('..', import.meta.url).pathname
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root })
  const dir = tempDir(t)
  const { stdout } = await run(process.execPath, [join(root, 'bin', 'http-stream.js'), 'demo', '--records', '500', '--failover', `file:${dir}`])
  assert.match(stdout, /written\s+500/)
})
