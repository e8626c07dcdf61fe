/**
 * Starts librdkafka's mock cluster (real Kafka wire protocol on loopback) for tests: compiles
 * kafka-mock.c once (cached under .tmp/services by source hash), runs it, and talks to it over stdin.
 */
import { spawn, execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFileSync, existsSync, mkdirSync, renameSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { missing, type Missing } from './require-service.js'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))
const source = join(here, 'kafka-mock.c')
const cacheDir = join(here, '..', '..', '.tmp', 'services')

export interface KafkaMock {
  /** host:port of every broker. */
  readonly brokers: string[]
  /** Disconnects a broker (-1: all) and refuses connections; stored messages are kept. */
  down (brokerId?: number): Promise<void>
  up (brokerId?: number): Promise<void>
  createTopic (name: string, partitions?: number): Promise<void>
  /** Stops the cluster (all data is gone). Idempotent. */
  stop (): Promise<void>
}

let compiled: Promise<string | Missing> | undefined

/** Compiles the mock once per process; the binary is reused across runs while the source is unchanged. */
export function buildKafkaMock (): Promise<string | Missing> {
  compiled ??= compile()
  return compiled
}

async function compile (): Promise<string | Missing> {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16)
  const binary = join(cacheDir, `kafka-mock-${hash}`)
  if (existsSync(binary)) return binary
  let flags: string[]
  try {
    const { stdout } = await run('pkg-config', ['--cflags', '--libs', 'rdkafka'])
    flags = stdout.trim().split(/\s+/).filter(Boolean)
  } catch (err) {
    return missing(`pkg-config cannot find rdkafka (apt-get install librdkafka-dev pkg-config): ${(err as Error).message.split('\n')[0]}`)
  }
  mkdirSync(cacheDir, { recursive: true })
  const partial = `${binary}.${process.pid}.tmp`
  try {
    await run('cc', ['-O2', '-o', partial, source, ...flags])
  } catch (err) {
    const e = err as Error & { stderr?: string }
    return missing(`cannot compile kafka-mock.c (needs cc and librdkafka-dev >= 1.4): ${(e.stderr ?? e.message).trim().split('\n').slice(0, 3).join(' | ')}`)
  }
  renameSync(partial, binary)
  return binary
}

/** Starts a mock cluster with `brokerCount` brokers and the given topics (`name` or `name:partitions`). */
export async function startKafkaMock (topics: string[] = [], brokerCount = 1): Promise<KafkaMock | Missing> {
  const binary = await buildKafkaMock()
  if (typeof binary !== 'string') return binary
  const child = spawn(binary, [String(brokerCount), ...topics], { stdio: ['pipe', 'pipe', 'pipe'] })
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000) })
  const lines = createInterface({ input: child.stdout })
  const waiting: Array<(line: string) => void> = []
  lines.on('line', line => { waiting.shift()?.(line) })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const nextLine = (what: string): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafka mock: no answer to ${what}; stderr: ${stderr}`)), 10_000)
    waiting.push(line => { clearTimeout(timer); resolve(line) })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`kafka mock exited; stderr: ${stderr}`)) })
  })
  let first: string
  try {
    first = await nextLine('start')
  } catch (err) {
    child.kill('SIGKILL')
    process.removeListener('exit', killOnExit)
    return missing((err as Error).message)
  }
  const brokers = first.replace(/^BOOTSTRAP /, '').split(',')
  let stopped: Promise<void> | undefined
  const command = async (line: string): Promise<void> => {
    const answer = nextLine(line)
    child.stdin.write(`${line}\n`)
    const got = await answer
    if (!got.startsWith('OK ')) throw new Error(`kafka mock refused "${line}": ${got}`)
  }
  return {
    brokers,
    down: (id = -1) => command(`down ${id}`),
    up: (id = -1) => command(`up ${id}`),
    createTopic: (name, partitions = 1) => command(`topic ${name} ${partitions}`),
    stop () {
      stopped ??= (async () => {
        child.stdin.end()
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
        lines.close()
        process.removeListener('exit', killOnExit)
      })()
      return stopped
    }
  } satisfies KafkaMock
}
