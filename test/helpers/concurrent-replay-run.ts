/**
 * Two replays of one store at once, as two real processes (concurrent-replay-child.ts) against one
 * real receiver. The receiver holds every answer until both replayers have sent a request or one of
 * them has exited, so the runs overlap for sure, without timing. Then: each stored record must be
 * delivered exactly once in total, or the second replay refused with ERR_STORE_LOCKED and the
 * first one delivering everything.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import type { FailoverEnvelope } from '../../lib/stores/store.js'
import { recordKey, startReceiver } from './receiver.js'

const CHILD = fileURLToPath(new URL('./concurrent-replay-child.ts', import.meta.url))

export interface ReplayOutcome { ok: boolean, code?: string | null, message?: string, read?: number, delivered?: number, exitCode: number | null, stderr: string }

export interface ConcurrentReplayReport { stored: number, delivered: number, duplicates: number, lost: number, outcomes: ReplayOutcome[] }

function run (child: ChildProcess): Promise<ReplayOutcome> {
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
  return new Promise((resolve) => child.once('exit', (exitCode) => {
    const line = stdout.trim().split('\n').pop() ?? ''
    let parsed: Partial<ReplayOutcome> = { ok: false, message: `no summary line (stdout ${JSON.stringify(stdout.slice(-300))})` }
    try { parsed = JSON.parse(line) as ReplayOutcome } catch {}
    resolve({ ok: false, ...parsed, exitCode, stderr })
  }))
}

/** Runs the two replays of `uri`, whose store holds `stored`, and asserts exactly-once; returns the figures. */
export async function replayTwiceAtOnce (t: TestContext, uri: string, stored: readonly FailoverEnvelope[], boundMs = 120_000): Promise<ConcurrentReplayReport> {
  let open: () => void = () => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  const replayers = new Set<string>()
  const receiver = await startReceiver({
    plan: (req) => {
      replayers.add(String(req.headers['x-replayer']))
      if (replayers.size >= 2) open()
      return { status: 200, until: gate }
    }
  })
  t.after(() => receiver.close())
  const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', CHILD, uri, receiver.url], { stdio: ['ignore', 'pipe', 'pipe'] }))
  const outcomes = children.map(run)
  for (const o of outcomes) void o.then(open) // one exited (refused, or done alone): let the other finish
  let timer: NodeJS.Timeout | undefined
  const bounded = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), boundMs) })
  const finished = await Promise.race([Promise.all(outcomes), bounded])
  clearTimeout(timer)
  if (finished === 'timeout') {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await Promise.all(outcomes)
  }
  const results = await Promise.all(outcomes)

  const expected = new Set(stored.map((e) => recordKey(e.record)))
  let duplicates = 0
  for (const [key, n] of receiver.delivered) if (expected.has(key)) duplicates += n - 1
  const lost = [...expected].filter((key) => !receiver.delivered.has(key)).length
  const report = { stored: expected.size, delivered: receiver.deliveredCount, duplicates, lost, outcomes: results }
  const describe = results.map((r) => r.ok ? `replayed (read ${r.read ?? '?'}, delivered ${r.delivered ?? '?'})` : `${r.code ?? 'failed'} (exit ${r.exitCode}): ${r.message ?? ''}`)
  t.diagnostic(`stored ${report.stored} / delivered ${report.delivered} / duplicates ${duplicates} / lost ${lost}; replayers: ${describe.join('; ')}`)

  assert.notEqual(finished, 'timeout', `both replays did not end within ${boundMs} ms: ${describe.join('; ')}`)
  for (const r of results) assert.ok(r.ok || r.code === 'ERR_STORE_LOCKED', `a replay failed: ${r.message ?? ''} ${r.stderr.slice(-500)}`)
  for (const r of results) if (!r.ok) assert.equal(r.exitCode, 2)
  assert.ok(results.some((r) => r.ok), 'at least one replay ran')
  assert.equal(duplicates, 0, 'no stored record delivered twice')
  assert.equal(lost, 0, 'every stored record delivered')
  return report
}
