/**
 * A stream server run as a real child process (test/helpers/server-child.ts) that a test can SIGKILL
 * and start again on the same port: what a crashing, restarting server looks like to its readers.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import type { HttpStreamServerOptions } from '../../lib/server/server.js'

const child = fileURLToPath(new URL('./server-child.ts', import.meta.url))

export interface ServerProcess {
  /** `http://127.0.0.1:PORT`; the same across restarts. */
  readonly url: string
  /** SIGKILLs the server (no graceful close) and waits until it is gone. */
  kill (): Promise<void>
  /** Starts the server again on the same port with the same options. */
  start (): Promise<void>
}

/** Starts the server on a free port (or `firstPort`); it is killed when the test ends. */
export async function startServerProcess (t: TestContext, options: HttpStreamServerOptions = {}, firstPort = 0): Promise<ServerProcess> {
  let proc: ChildProcess | undefined
  let port = firstPort
  let url = ''
  const start = async (): Promise<void> => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, String(port), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] })
    proc = p
    let stderr = ''
    p.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000) })
    const lines = createInterface({ input: p.stdout as NodeJS.ReadableStream })
    const exited = once(p, 'exit').then(() => { throw new Error(`the server process exited before listening: ${stderr}`) })
    const [line] = await Promise.race([once(lines, 'line') as Promise<[string]>, exited])
    lines.close()
    url = line.replace(/^listening /, '')
    port = Number(new URL(url).port)
  }
  const kill = async (): Promise<void> => {
    const p = proc
    proc = undefined
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const gone = once(p, 'exit')
    p.kill('SIGKILL')
    await gone
  }
  await start()
  t.after(kill)
  return { get url () { return url }, kill, start }
}
