/**
 * CLI input that used to be thrown away: `send`'s non-JSON lines go to the failover store as
 * ERR_INVALID_RECORD envelopes (every line delivered or stored); `replay` of a store that does not
 * exist, or that another replay holds, exits 2 with the error; `read` of a missing topic says so.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startReceiver, gate } from './helpers/receiver.js'
import { assertNothingLost } from './helpers/ledger.js'
import { spawnCli, storedEnvelopes, summaryNumber, tempDir, whileRunning } from './helpers/cli-child.js'
import { FileStore } from '../lib/stores/file.js'
import { createHttpStreamServer } from '../lib/server/server.js'

test('send: every line is delivered or stored; bad lines are stored as ERR_INVALID_RECORD with their text, exit 3 (stored for replay)', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const dir = join(tempDir(t), 'fo')
  const written = Array.from({ length: 1000 }, (_, i) => i % 100 === 7 ? `broken line ${i} {` : JSON.stringify({ i }))
  const cli = spawnCli(['send', receiver.url, '--failover', `file:${dir}`])
  cli.child.stdin.end(written.join('\n') + '\n')
  const { code } = await cli.exited
  assert.equal(code, 3, cli.stdout() + cli.stderr())
  const stored = await storedEnvelopes(dir)
  const records = written.map((line) => { try { return JSON.parse(line) as unknown } catch { return line } })
  const report = assertNothingLost({ written: records, delivered: receiver.delivered, stored: stored.map((e) => e.record) })
  t.diagnostic(`lines written ${written.length} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.equal(stored.length, 10)
  assert.ok(stored.every((e) => /^ERR_INVALID_RECORD: line \d+: not JSON/.test(e.error ?? '') && e.attempts === 0), JSON.stringify(stored[0]))
  assert.equal(summaryNumber(cli.stdout(), 'bad lines'), 10)
  assert.equal(cli.stderr().split('\n').filter((l) => l.includes('not JSON')).length, 5, 'the first five are named on stderr')
})

test('replay of a store directory that does not exist: ERR_STORE on stderr, exit 2', async (t) => {
  const dir = join(tempDir(t), 'nonexistent')
  const cli = spawnCli(['replay', `file:${dir}`, 'http://127.0.0.1:1/'])
  const { code } = await cli.exited
  assert.equal(code, 2, cli.stdout() + cli.stderr())
  assert.match(cli.stderr(), /http-stream replay: ERR_STORE: .*nonexistent/)
})

test('replay of a store another replay holds: ERR_STORE_LOCKED naming the holder, exit 2, and the first replay is unharmed', async (t) => {
  const held = gate()
  const receiver = await startReceiver({ plan: () => ({ status: 200, until: held.promise }) })
  t.after(() => receiver.close())
  const dir = tempDir(t)
  const store = new FileStore(dir)
  await store.put(Array.from({ length: 10 }, (_, i) => ({ record: { i }, url: receiver.url, method: 'POST', attempts: 1, status: 503, error: 'x', failedAt: 1 })))
  await store.close()
  const first = spawnCli(['replay', `file:${dir}`, receiver.url])
  await whileRunning(first, (p) => receiver.waitFor(p), () => receiver.requests.length > 0)
  const second = spawnCli(['replay', `file:${dir}`, receiver.url])
  const refused = await second.exited
  held.open()
  assert.equal(refused.code, 2, second.stdout() + second.stderr())
  assert.match(second.stderr(), new RegExp(`ERR_STORE_LOCKED: .* locked by ${first.child.pid}@`))
  assert.equal((await first.exited).code, 0, first.stdout() + first.stderr())
  assert.equal(receiver.deliveredCount, 10)
})

test('read of a topic the server does not have: says so on stderr and waits for records', async (t) => {
  const server = createHttpStreamServer({ receiver: 'memory' })
  await server.listen(0)
  t.after(() => server.close())
  const cli = spawnCli(['read', server.url, '--topic', 'nosuch', '--max', '1', '--poll-timeout', '100'])
  t.after(() => { cli.child.kill('SIGKILL') })
  await cli.waitForOutput(/does not exist/)
  assert.match(cli.stderr(), new RegExp(`topic 'nosuch' does not exist on ${server.url}; waiting for records`))
  const { HttpStreamClient } = await import('../lib/source/http-stream-client.js')
  const client = new HttpStreamClient(server.url)
  t.after(() => client.close())
  await client.produce('nosuch', [{ late: true }])
  const { code } = await cli.exited
  assert.equal(code, 0, cli.stderr())
  assert.equal(cli.stdout(), '{"late":true}\n')
})
