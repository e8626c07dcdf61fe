/**
 * `http-stream` as a real child process (`node --import tsx lib/cli/main.ts …` from the repo root),
 * for tests that send it real signals: its output collected, its exit awaited.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileStore } from '../../lib/stores/file.js'
import type { FailoverEnvelope } from '../../lib/stores/store.js'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface CliChild {
  child: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  /** Resolves once the output matches (checked at every chunk of stdout or stderr); rejects if the child exits or `withinMs` (30000) pass first. */
  waitForOutput: (pattern: RegExp, withinMs?: number) => Promise<void>
  /** The exit code, or the signal that killed it. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

export function spawnCli (args: string[], cwd = REPO_ROOT): CliChild {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lib/cli/main.ts'), ...args], { cwd, stdio: 'pipe' })
  let out = ''
  let err = ''
  const watchers = new Set<() => void>()
  const changed = (): void => { for (const w of watchers) w() }
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); changed() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); changed() })
  // The child may exit with lines still unread in its stdin pipe: they stay the producer's.
  child.stdin.on('error', () => {})
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  const waitForOutput = async (pattern: RegExp, withinMs = 30_000): Promise<void> => {
    if (pattern.test(out + err)) return
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string): void => { if (watchers.delete(check)) reject(new Error(`${why} before ${String(pattern)}:\n${out}\n${err}`)) }
      const timer = setTimeout(() => fail(`${withinMs} ms passed`), withinMs)
      const check = (): void => {
        if (!pattern.test(out + err)) return
        watchers.delete(check)
        clearTimeout(timer)
        resolve()
      }
      watchers.add(check)
      exited.then(() => { clearTimeout(timer); fail('exited') }, reject)
    })
  }
  return { child, stdout: () => out, stderr: () => err, waitForOutput, exited }
}

/** Waits for `predicate` (checked by `waitFor`), but rejects if the child exits or `withinMs` pass first. */
export async function whileRunning (cli: CliChild, waitFor: (predicate: () => boolean) => Promise<void>, predicate: () => boolean, withinMs = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const failed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not reached within ${withinMs} ms:\n${cli.stdout()}\n${cli.stderr()}`)), withinMs)
    cli.exited.then(() => reject(new Error(`the child exited first:\n${cli.stdout()}\n${cli.stderr()}`)), reject)
  })
  failed.catch(() => {})
  try {
    await Promise.race([waitFor(predicate), failed])
  } finally {
    clearTimeout(timer)
  }
}

/** A temp folder removed after the test. */
export function tempDir (t: { after: (fn: () => void) => void }, prefix = 'hsc-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Every envelope a file store holds (read with FileStore.read, nothing acked); none when the folder was never made. */
export async function storedEnvelopes (dir: string): Promise<FailoverEnvelope[]> {
  if (!existsSync(dir)) return []
  const store = new FileStore(dir)
  const envelopes: FailoverEnvelope[] = []
  try {
    for await (const batch of store.read()) envelopes.push(...batch.map((s) => s.envelope))
  } finally {
    await store.close()
  }
  return envelopes
}

/** A summary field's number (`  delivered  12`), or undefined. */
export function summaryNumber (text: string, field: string): number | undefined {
  const m = new RegExp(`^\\s+${field}\\s+(\\d+)`, 'm').exec(text)
  return m === null ? undefined : Number(m[1])
}
