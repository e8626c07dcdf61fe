/**
 * SIGINT and SIGTERM sent to a real `http-stream` child process. `send`: stops reading stdin,
 * delivers what it read for --grace-ms, stores the rest, prints the summary, exits 130/143; a
 * second signal stores at once. Every line the child read is delivered or in the failover store;
 * lines it did not read stay in the pipe. `replay`, `read` and `serve` stop cleanly too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { startReceiver, recordKey, gate, type Receiver } from './helpers/receiver.js'
import { assertNothingLost } from './helpers/ledger.js'
import { spawnCli, storedEnvelopes, summaryNumber, tempDir, whileRunning } from './helpers/cli-child.js'
import { FileStore } from '../lib/stores/file.js'
import { createHttpStreamServer } from '../lib/server/server.js'
import { createHttpWritable } from '../lib/sink/http-writable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { run as read } from '../lib/cli/read.js'
import { PassThrough, Readable } from 'node:stream'

const lines = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ tag, i }))

/** An endpoint that answers every request after `ms`. */
async function slowReceiver (t: { after: (fn: () => Promise<void>) => void }, ms: number): Promise<Receiver> {
  const receiver = await startReceiver({ plan: () => ({ status: 200, delayMs: ms }) })
  t.after(() => receiver.close())
  return receiver
}

/** written ⊆ delivered ∪ stored for the lines the child read; the lines it did not read reached neither. */
async function ledger (t: { diagnostic: (m: string) => void }, written: string[], receiver: Receiver, dir: string, out: string): Promise<{ stored: number }> {
  const read = summaryNumber(out, 'lines read')
  assert.ok(read !== undefined, `no 'lines read' in the summary:\n${out}`)
  const records = written.map((l) => JSON.parse(l) as unknown)
  const stored = (await storedEnvelopes(dir)).map((e) => e.record)
  const report = assertNothingLost({ written: records.slice(0, read), delivered: receiver.delivered, stored })
  const unread = records.slice(read).map(recordKey)
  const storedKeys = new Set(stored.map(recordKey))
  assert.equal(unread.filter((k) => receiver.delivered.has(k) || storedKeys.has(k)).length, 0, 'lines the child did not read were neither delivered nor stored')
  t.diagnostic(`lines written ${written.length} / read by the child ${read} / left in the pipe ${written.length - read} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates} (delivered and stored ${report.deliveredAndStored})`)
  return { stored: report.stored }
}

/** `send` of 3000 lines (stdin closed, as with `< file`) to an endpoint answering in 500 ms, once 64 records are delivered. */
async function sendingToSlowEndpoint (t: Parameters<typeof tempDir>[0] & { after: (fn: () => Promise<void>) => void }, graceMs: number): Promise<{ receiver: Receiver, dir: string, written: string[], cli: ReturnType<typeof spawnCli> }> {
  const receiver = await slowReceiver(t, 500)
  const dir = join(tempDir(t), 'fo')
  const written = lines(3000, `grace-${graceMs}`)
  const cli = spawnCli(['send', receiver.url, '--failover', `file:${dir}`, '--grace-ms', String(graceMs)])
  cli.child.stdin.end(written.join('\n') + '\n')
  await whileRunning(cli, (p) => receiver.waitFor(p), () => receiver.deliveredCount >= 64)
  return { receiver, dir, written, cli }
}

test('send: SIGINT while a slow endpoint has most records: the rest goes to failover after --grace-ms, summary, exit 130', async (t) => {
  const { receiver, dir, written, cli } = await sendingToSlowEndpoint(t, 1000)
  cli.child.kill('SIGINT')
  const { code, signal } = await cli.exited
  assert.equal(signal, null, `killed by ${signal}; stderr: ${cli.stderr()}`)
  assert.equal(code, 130, cli.stdout() + cli.stderr())
  assert.match(cli.stdout(), /^send \(stopped by SIGINT\)/m)
  assert.match(cli.stdout(), /failed over\s+\d+ -> file:/)
  const { stored } = await ledger(t, written, receiver, dir, cli.stdout())
  assert.ok(stored > 0, 'the grace period ended with records inside: they were stored')
})

test('send: a second SIGTERM skips the grace period and still stores everything, exit 143', async (t) => {
  const { receiver, dir, written, cli } = await sendingToSlowEndpoint(t, 600_000)
  cli.child.kill('SIGTERM')
  await cli.waitForOutput(/SIGTERM: stopping/)
  cli.child.kill('SIGTERM')
  const { code, signal } = await cli.exited
  assert.equal(signal, null, `killed by ${signal}`)
  assert.equal(code, 143, cli.stdout() + cli.stderr())
  assert.match(cli.stderr(), /SIGTERM again: storing what is left now/)
  assert.match(cli.stdout(), /^send \(stopped by SIGTERM\)/m)
  const { stored } = await ledger(t, written, receiver, dir, cli.stdout())
  assert.ok(stored > 1000, `most records were still inside: ${stored} stored`)
})

test('send: SIGINT while the producer is still writing: every line read is delivered or stored, the rest stays in the pipe', async (t) => {
  const receiver = await slowReceiver(t, 300)
  const dir = join(tempDir(t), 'fo')
  const written = lines(50_000, 'pipe')
  const cli = spawnCli(['send', receiver.url, '--failover', `file:${dir}`, '--queue-capacity', '200', '--num-writers', '8', '--grace-ms', '500'])
  // Far more than the sink holds: the child stops reading, the pipe fills, our side buffers the rest.
  cli.child.stdin.write(written.join('\n') + '\n')
  await whileRunning(cli, (p) => receiver.waitFor(p), () => receiver.deliveredCount >= 16)
  cli.child.kill('SIGINT')
  const { code, signal } = await cli.exited
  cli.child.stdin.destroy()
  assert.equal(signal, null, `killed by ${signal}`)
  assert.equal(code, 130, cli.stdout() + cli.stderr())
  await ledger(t, written, receiver, dir, cli.stdout())
  assert.ok(summaryNumber(cli.stdout(), 'lines read')! < written.length, 'some lines were still in the pipe')
})

test('replay: SIGTERM stops reading the store, the round under way is acked, the rest stays stored; exit 143', async (t) => {
  const receiver = await slowReceiver(t, 200)
  const dir = tempDir(t)
  const records = lines(2000, 'replay').map((l) => JSON.parse(l) as unknown)
  const store = new FileStore(dir)
  await store.put(records.map((record) => ({ record, url: receiver.url, method: 'POST', attempts: 1, status: 503, error: 'x', failedAt: 1 })))
  await store.close()
  const cli = spawnCli(['replay', `file:${dir}`, receiver.url, '--batch-size', '100', '--num-writers', '10'])
  await whileRunning(cli, (p) => receiver.waitFor(p), () => receiver.deliveredCount >= 150)
  cli.child.kill('SIGTERM')
  const { code, signal } = await cli.exited
  assert.equal(signal, null, `killed by ${signal}`)
  assert.equal(code, 143, cli.stdout() + cli.stderr())
  assert.match(cli.stdout(), /^replay \(stopped by SIGTERM\)/m)
  const left = (await storedEnvelopes(dir)).map((e) => e.record)
  const report = assertNothingLost({ written: records, delivered: receiver.delivered, stored: left })
  t.diagnostic(`stored ${records.length} / delivered ${report.delivered} / still stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.ok(left.length > 0 && left.length < records.length, `replay stopped midway (${left.length} left)`)
  assert.equal(summaryNumber(cli.stdout(), 'delivered'), records.length - left.length, 'every record it reports delivered was acked')
})

test('read: SIGTERM stops fetching, commits what it printed, exit 143; the group resumes after the last printed record', async (t) => {
  const server = createHttpStreamServer({ receiver: 'memory' })
  await server.listen(0)
  t.after(() => server.close())
  const client = new HttpStreamClient(server.url)
  t.after(() => client.close())
  await client.produce('sig', Array.from({ length: 100 }, (_, n) => ({ n })))
  const cli = spawnCli(['read', server.url, '--topic', 'sig', '--group', 'g', '--poll-timeout', '200'])
  await cli.waitForOutput(/"n":99\}\n/)
  cli.child.kill('SIGTERM')
  const { code, signal } = await cli.exited
  assert.equal(signal, null, `killed by ${signal}`)
  assert.equal(code, 143, cli.stderr())
  const printed = cli.stdout().trim().split('\n').map((l) => (JSON.parse(l) as { n: number }).n)
  await client.produce('sig', [{ n: 100 }])
  const stdout = new PassThrough()
  let next = ''
  stdout.on('data', (c: Buffer) => { next += c.toString() })
  assert.equal(await read([server.url, '--topic', 'sig', '--group', 'g', '--max', '1'], { stdin: Readable.from([]), stdout, stderr: new PassThrough().resume() }), 0)
  t.diagnostic(`records 101 / printed before SIGTERM ${printed.length} / next read after restart ${next.trim()}`)
  assert.equal(printed.length, 100)
  assert.deepEqual(JSON.parse(next), { n: 100 }, 'no record printed twice, none skipped')
})

test('serve: SIGTERM and SIGINT close the server and exit 143 / 130', async () => {
  for (const [sig, expected] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    const cli = spawnCli(['serve', '--port', '0'])
    await cli.waitForOutput(/listening on (\S+)/)
    const url = /listening on (\S+)/.exec(cli.stdout())![1]!
    assert.equal((await fetch(`${url}/healthz`)).status, 200)
    cli.child.kill(sig)
    const { code, signal } = await cli.exited
    assert.equal(signal, null, `killed by ${signal}`)
    assert.equal(code, expected, cli.stderr())
    assert.match(cli.stderr(), /closing/)
    await assert.rejects(fetch(`${url}/healthz`), 'no longer accepting')
  }
})

test('sink.close({ graceMs }): ends, waits, then destroys; records inside and in the write buffer go to failover; resolves with stats', async (t) => {
  const receiver = await slowReceiver(t, 300)
  const dir = join(tempDir(t), 'fo')
  const sink = createHttpWritable({ url: receiver.url, failover: `file:${dir}`, queueCapacity: 200, numWriters: 8 })
  const records = Array.from({ length: 5000 }, (_, i) => ({ i }))
  for (const r of records) sink.write(r)
  assert.ok(sink.writableLength > 1000, 'backpressure: most records wait in the write buffer')
  const stats = await sink.close({ graceMs: 700 })
  const stored = (await storedEnvelopes(dir)).map((e) => e.record)
  const report = assertNothingLost({ written: records, delivered: receiver.delivered, stored })
  t.diagnostic(`written ${records.length} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}; stats ${JSON.stringify(stats)}`)
  assert.equal(stats.written, records.length)
  assert.equal(stats.delivered + stats.failedOver, stats.written)
  assert.equal(stats.failedOver, stored.length)
  assert.ok(stats.delivered > 0 && stats.failedOver > 0)
})

test('sink.close(): all delivered within the grace period: no failover; a signal cuts the wait; a failing store rejects with err.records', async (t) => {
  const receiver = await startReceiver()
  t.after(() => receiver.close())
  const fast = createHttpWritable({ url: receiver.url, failover: false })
  for (let i = 0; i < 100; i++) fast.write({ i })
  assert.deepEqual(await fast.close({ graceMs: 60_000 }), { written: 100, delivered: 100, retried: 0, failedOver: 0, inFlight: 0, queued: 0 })
  assert.throws(() => createHttpWritable({ url: receiver.url, failover: false }).close({ graceMs: -1 }), { code: 'ERR_INVALID_OPTION', field: 'graceMs' })

  const held = gate()
  const slow = await startReceiver({ plan: () => ({ status: 200, until: held.promise }) })
  t.after(async () => { held.open(); await slow.close() })
  const dir = join(tempDir(t), 'fo')
  const cut = createHttpWritable({ url: slow.url, failover: `file:${dir}` })
  for (let i = 0; i < 10; i++) cut.write({ i })
  const now = new AbortController()
  const closing = cut.close({ graceMs: Infinity, signal: now.signal })
  await slow.waitFor(() => slow.requests.length >= 10)
  now.abort()
  assert.equal((await closing).failedOver, 10)
  assert.equal((await storedEnvelopes(dir)).length, 10)

  const broken = { kind: 'broken', uri: 'broken:', put: async () => { throw new Error('disk on fire') }, read: async function * () {}, ack: async () => {}, retain: async () => {}, close: async () => {} }
  const failing = createHttpWritable({ url: slow.url, failover: broken })
  for (let i = 0; i < 5; i++) failing.write({ i })
  await assert.rejects(failing.close({ graceMs: 0 }), (err: { code: string, records: unknown[] }) => err.code === 'ERR_FAILOVER_STORE' && err.records.length === 5)
})
