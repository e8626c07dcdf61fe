import { fork, type ChildProcess } from 'node:child_process'

/** Forks a TypeScript file of this repo in its own Node process (tsx loader, IPC channel). */
export function forkTs (file: URL, args: string[] = [], extraExecArgv: string[] = []): ChildProcess {
  return fork(file, args, {
    execArgv: ['--import', 'tsx', ...extraExecArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
}

export interface ChildMessage { type: string, [key: string]: unknown }

/** Resolves with the child's next message of `type`; rejects if the child exits first. */
export function nextMessage<T extends ChildMessage> (child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: unknown): void => {
      if (msg !== null && typeof msg === 'object' && (msg as ChildMessage).type === type) {
        cleanup()
        resolve(msg as T)
      }
    }
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup()
      reject(new Error(`child exited (code ${code}, signal ${signal}) before sending '${type}'`))
    }
    const cleanup = (): void => {
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** Ends a child we started: waits up to `graceMs` for it to exit by itself, then SIGTERM. */
export async function stopChild (child: ChildProcess, graceMs = 0): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  let timer: NodeJS.Timeout | undefined
  const graceOver = new Promise<void>(resolve => { timer = setTimeout(resolve, graceMs) })
  await Promise.race([exited, graceOver])
  clearTimeout(timer)
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await exited
}
