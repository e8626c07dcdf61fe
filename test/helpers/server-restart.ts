/**
 * The reader-restart scenario shared by the memory and kafka receiver tests: produce N records, read
 * some in a child process and SIGKILL it mid-stream, then restart a reader in the same group and read
 * to the end. Returns both runs' offsets → values and the group's committed offset after the kill.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { createHttpReadable } from '../../lib/source/http-readable.js'
import { HttpStreamClient } from '../../lib/source/http-stream-client.js'

export interface RestartRun {
  /** offset → value, in arrival order, of the killed reader. */
  first: Array<[number, unknown]>
  /** offset → value, in arrival order, of the restarted reader. */
  second: Array<[number, unknown]>
  /** The group's committed (next-to-read) offset once the first reader was dead. */
  committedAfterKill: number
}

const child = fileURLToPath(new URL('./server-reader-child.ts', import.meta.url))

export async function killAndRestart (url: string, topic: string, group: string, total: number, killAfter: number): Promise<RestartRun> {
  const first: Array<[number, unknown]> = []
  const proc = spawn(process.execPath, ['--import', 'tsx', child, url, topic, group], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  // Lines the child wrote before it died are still in the pipe: they were taken too, so keep reading to EOF.
  for await (const line of createInterface({ input: proc.stdout })) {
    const r = JSON.parse(line) as { offset: number, value: unknown }
    first.push([r.offset, r.value])
    if (first.length === killAfter) proc.kill('SIGKILL')
  }
  await exited
  if (first.length < killAfter) throw new Error(`the reader process ended early: ${stderr}`)
  // The dead reader's consumer instance holds its partitions until it expires (Kafka: the session
  // timeout); /healthz counts live instances without refreshing any.
  for (let i = 0; i < 600 && await liveInstances(url) > 0; i++) await delay(50)
  const client = new HttpStreamClient(url)
  let committedAfterKill = 0
  try {
    const probe = await client.subscribe([], { groupId: group })
    committedAfterKill = (await client.committed(probe, [{ topic, partition: 0 }]))[0]?.offset ?? 0
    await client.unsubscribe(probe)
  } finally {
    await client.close()
  }
  const second: Array<[number, unknown]> = []
  const reader = createHttpReadable(url, { topic, groupId: group, withMetadata: true, pollTimeout: 500 })
  for await (const r of reader as AsyncIterable<{ offset: number, value: unknown }>) {
    second.push([r.offset, r.value])
    if (r.offset >= total - 1) break
  }
  return { first, second, committedAfterKill }
}

async function liveInstances (url: string): Promise<number> {
  const res = await fetch(`${url}/healthz`)
  return ((await res.json()) as { consumers: number }).consumers
}
