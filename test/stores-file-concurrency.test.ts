/**
 * The file store shared by processes (issue 8, points 2 and 3): a writer failing over while a
 * replay runs, two replays started together, a replay killed with SIGKILL, two store objects in one
 * process, and a replay of a directory that does not exist. Real child processes, a real receiver
 * on 127.0.0.1, real signals; every test ends with the ledger (written ⊆ delivered ∪ stored).
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { existsSync, lstatSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { test, type TestContext } from 'node:test'
import { replay, type ReplayOptions } from '../lib/sink/replay.js'
import { FileStore } from '../lib/stores/file.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { assertNothingLost } from './helpers/ledger.js'
import { gate, startReceiver, type Receiver } from './helpers/receiver.js'

const helper = (name: string): string => new URL(`./helpers/${name}`, import.meta.url).pathname
const replayOptions = (url: string): ReplayOptions => ({ url, encoding: 'ndjson', batch: { maxRecords: 500 }, batchSize: 1000, retries: 0 })
const envelope = (id: number): FailoverEnvelope => ({ record: { id }, url: 'http://old/', method: 'POST', attempts: 1, status: 503, error: null, failedAt: 1 })
const ids = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => from + k)

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-file-conc-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function receiver (t: TestContext, ...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args)
  t.after(() => r.close())
  return r
}

interface Child {
  process: ChildProcessByStdio<Writable, Readable, null>
  /** Complete stdout lines so far. */
  lines: string[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

function startChild (t: TestContext, name: string, args: string[], onLine?: (line: string) => void): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', helper(name), ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: string[] = []
  let rest = ''
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n')
    rest = parts.pop()!
    for (const line of parts) {
      lines.push(line)
      onLine?.(line)
    }
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return { process: child, lines, exited }
}

interface ChildResult { ok: boolean, code?: string, message?: string, summary?: { read: number, delivered: number } }
const resultOf = (child: Child): ChildResult => JSON.parse(child.lines.at(-1) ?? '{"ok":false,"message":"no output"}') as ChildResult

/** The records still in the store: what a fresh store object reads (unacked, in sealed segments). */
async function storedRecords (dir: string): Promise<unknown[]> {
  const store = new FileStore(dir)
  const out: unknown[] = []
  for await (const batch of store.read()) out.push(...batch.map((r) => r.envelope.record))
  await store.close()
  return out
}

async function storeWith (dir: string, n: number): Promise<unknown[]> {
  const store = new FileStore(dir)
  const written = ids(0, n).map((id) => ({ id }))
  for (let i = 0; i < n; i += 1000) await store.put(written.slice(i, i + 1000).map((r) => envelope(r.id)))
  await store.close()
  return written
}

test('a writer failing over while another process replays: every record is delivered or still stored', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t)
  const sink = await receiver(t)
  const acked: number[] = []
  let enough: () => void = () => {}
  const started = new Promise<void>((resolve) => { enough = resolve })
  const writer = startChild(t, 'file-paced-writer.ts', [dir, '20000', '5000'], (line) => {
    acked.push(...line.split(',').map(Number))
    if (acked.length >= 2000) enough()
  })
  await started
  // The replay runs while the writer keeps appending; the writer goes on for 5000 more records after
  // the replay is over (on the old code those went into a segment the replay had deleted).
  const concurrent = startChild(t, 'file-replay-child.ts', [dir, `${sink.url}/concurrent`])
  assert.deepEqual(await concurrent.exited, { code: 0, signal: null }, concurrent.lines.join('\n'))
  const during = resultOf(concurrent).summary!
  const writtenWhileReplaying = acked.length
  writer.process.stdin.end()
  assert.deepEqual(await writer.exited, { code: 0, signal: null })
  const final = await replay(`file:${dir}`, replayOptions(`${sink.url}/final`))
  const stored = await storedRecords(dir)
  const report = assertNothingLost({ written: acked.map((id) => ({ id })), delivered: sink.delivered, stored })
  t.diagnostic(`writer acknowledged ${acked.length} (${writtenWhileReplaying} by the end of the concurrent replay); concurrent replay read ${during.read}, final replay read ${final.read}`)
  t.diagnostic(`written ${report.written} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.ok(acked.length >= 20000)
  assert.equal(report.duplicates, 0, 'a record read by one replay is acked before the next one reads')
})

test('two replay processes started together: one refuses with ERR_STORE_LOCKED, each record is sent once', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t)
  const written = await storeWith(dir, 30000)
  // Answers are held until both replays have sent a request, or one of them has exited: so the two
  // runs overlap however slowly each one starts.
  const held = gate()
  const sink = await receiver(t, { plan: () => ({ status: 200, until: held.promise }) })
  const seen = new Set<string>()
  sink.on('request', (req: { path: string }) => {
    seen.add(req.path)
    if (seen.size === 2) held.open()
  })
  const children = ['a', 'b'].map((name) => startChild(t, 'file-replay-child.ts', [dir, `${sink.url}/${name}`]))
  for (const child of children) void child.exited.then(() => held.open())
  const exits = await Promise.all(children.map((c) => c.exited))
  const results = children.map(resultOf)
  const stored = await storedRecords(dir)
  const report = assertNothingLost({ written, delivered: sink.delivered, stored })
  t.diagnostic(`exits ${JSON.stringify(exits.map((e) => e.code))}; results ${JSON.stringify(results.map((r) => r.ok ? { read: r.summary!.read, delivered: r.summary!.delivered } : { code: r.code, message: r.message }))}`)
  t.diagnostic(`stored ${written.length}, sends ${sink.deliveredCount}; written ${report.written} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.equal(report.duplicates, 0, 'no record is sent twice')
  assert.equal(sink.deliveredCount, 30000)
  const refused = results.findIndex((r) => !r.ok)
  assert.notEqual(refused, -1, 'one of the two replays refused')
  assert.equal(results[refused]!.code, 'ERR_STORE_LOCKED')
  assert.equal(exits[refused]!.code, 2)
  const holder = children[1 - refused]!.process.pid
  assert.match(results[refused]!.message!, new RegExp(`locked by ${holder}@`), 'the message names the holder, pid@host')
  assert.deepEqual([results[1 - refused]!.ok, results[1 - refused]!.summary?.read], [true, 30000])
})

test('a replay killed with SIGKILL mid-way: the next replay takes over its stale lock and finishes, nothing lost', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t)
  const written = await storeWith(dir, 5000)
  // The killed run has its first round (batchSize 1000 records) accepted, then its answers hang.
  let killedRecords = 0
  let hung: () => void = () => {}
  const hanging = new Promise<void>((resolve) => { hung = resolve })
  const sink = await receiver(t, {
    plan: (req) => {
      if (req.path !== '/killed' || (killedRecords += req.records.length) <= 1000) return undefined
      hung()
      return { hang: true }
    }
  })
  const killed = startChild(t, 'file-replay-child.ts', [dir, `${sink.url}/killed`])
  await hanging
  const lockLeft = lstatOk(join(dir, 'replay.lock'))
  killed.process.kill('SIGKILL')
  assert.deepEqual(await killed.exited, { code: null, signal: 'SIGKILL' })
  assert.ok(lockLeft, 'the replay held a lock on the directory while it ran, and SIGKILL left it behind')
  const next = await replay(`file:${dir}`, replayOptions(`${sink.url}/next`))
  assert.equal(lstatOk(join(dir, 'replay.lock')), false, 'the lock is released when the replay ends')
  const stored = await storedRecords(dir)
  const report = assertNothingLost({ written, delivered: sink.delivered, stored })
  t.diagnostic(`killed run delivered ${sink.requests.filter((r) => r.path === '/killed' && r.status === 200).reduce((n, r) => n + r.records.length, 0)}; next replay read ${next.read}, delivered ${next.delivered}`)
  t.diagnostic(`written ${report.written} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.deepEqual([next.read, next.delivered], [4000, 4000], 'the killed run acked its first round; the rest is read once more')
})

function lstatOk (path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

test('two store objects in one process, one writing and one replaying: nothing lost', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t)
  const sink = await receiver(t)
  const writer = new FileStore(dir)
  const acked: number[] = []
  let replayDone = false
  let afterReplay = 0
  const writing = (async () => {
    for (let next = 0; acked.length < 5000 || afterReplay < 2000;) {
      const batch = ids(next, 10)
      next += 10
      await writer.put(batch.map(envelope))
      acked.push(...batch)
      if (replayDone) afterReplay += batch.length
    }
  })()
  while (acked.length < 1000) await new Promise((resolve) => setImmediate(resolve))
  const during = await replay(`file:${dir}`, replayOptions(`${sink.url}/during`))
  replayDone = true
  await writing
  await writer.close()
  const final = await replay(`file:${dir}`, replayOptions(`${sink.url}/final`))
  const stored = await storedRecords(dir)
  const report = assertNothingLost({ written: acked.map((id) => ({ id })), delivered: sink.delivered, stored })
  t.diagnostic(`written ${acked.length} (${afterReplay} after the first replay ended); first replay read ${during.read}, final replay read ${final.read}`)
  t.diagnostic(`written ${report.written} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates}`)
  assert.equal(report.duplicates, 0)
})

test('a second read of a directory while one is under way is refused in the same process too', async (t) => {
  const dir = tempDir(t)
  await storeWith(dir, 10)
  const first = new FileStore(dir)
  const reading = first.read()[Symbol.asyncIterator]()
  assert.equal((await reading.next()).value.length, 10)
  await assert.rejects(storedRecords(dir), (err: Error & { code?: string, holder?: string }) => err.code === 'ERR_STORE_LOCKED' && err.holder?.startsWith(`${process.pid}@`) === true)
  await reading.return?.()
  assert.equal((await storedRecords(dir)).length, 10, 'released when the reading ends')
  await first.close()
})

test('replay of a directory that does not exist rejects with ERR_STORE naming it, and creates nothing', async (t) => {
  const parent = tempDir(t)
  const missing = join(parent, 'nonexistent')
  await assert.rejects(replay(`file:${missing}`, { url: 'http://127.0.0.1:9/in' }),
    (err: Error & { code?: string }) => err.code === 'ERR_STORE' && err.message.includes(missing))
  assert.equal(existsSync(missing), false)
  const store = new FileStore(missing)
  await store.put([envelope(1)])
  await store.close()
  assert.equal((await storedRecords(missing)).length, 1, 'writing into a missing directory still creates it')
})
