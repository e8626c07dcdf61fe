/**
 * A real forward proxy for the proxy tests: Debian's `tinyproxy` (installed by .ci/run), started in
 * the foreground with its own config on a free port of 127.0.0.1, `Allow 127.0.0.1`, CONNECT allowed
 * to the given ports only, and optionally `BasicAuth`. Its log (LogLevel Info) shows each request
 * line, which proves a request went through it: `CONNECT 127.0.0.1:P` for https targets, the
 * absolute-form `POST http://…` for http ones.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TinyproxyOptions {
  /** Ports CONNECT may reach (the https targets'). */
  connectPorts?: number[]
  /** Demand Proxy-Authorization: Basic user:pass. */
  basicAuth?: { user: string, pass: string }
}

export interface Tinyproxy {
  port: number
  /** `http://127.0.0.1:port` (no credentials). */
  url: string
  /** The proxy's log so far. */
  log: () => string
  /** Request lines seen (`CONNECT 127.0.0.1:443 HTTP/1.1`, `POST http://… HTTP/1.1`). */
  requests: () => string[]
  stop: () => Promise<void>
}

export function hasTinyproxy (): boolean {
  return existsSync('/usr/bin/tinyproxy') || existsSync('/usr/sbin/tinyproxy')
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function accepting (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export async function startTinyproxy (options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-tinyproxy-'))
  chmodSync(dir, 0o777)
  const logFile = join(dir, 'tinyproxy.log')
  writeFileSync(logFile, '')
  chmodSync(logFile, 0o666)
  const port = await freePort()
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Timeout 30',
    `LogFile "${logFile}"`,
    'LogLevel Info',
    'MaxClients 200',
    'Allow 127.0.0.1',
    ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
    ...(options.basicAuth === undefined ? [] : [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.pass}`])
  ]
  // As root tinyproxy drops to an unprivileged user; nobody can write the world-writable log.
  if (process.getuid?.() === 0) lines.push('User nobody', 'Group nogroup')
  writeFileSync(join(dir, 'tinyproxy.conf'), lines.join('\n') + '\n')
  const bin = existsSync('/usr/bin/tinyproxy') ? '/usr/bin/tinyproxy' : '/usr/sbin/tinyproxy'
  const child: ChildProcess = spawn(bin, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const log = (): string => { try { return readFileSync(logFile, 'utf8') } catch { return '' } }
  for (let i = 0; i < 200 && !(await accepting(port)); i++) {
    if (child.exitCode !== null) throw new Error(`tinyproxy exited (${child.exitCode}): ${stderr}${log()}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    requests: () => [...log().matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((m) => m[1]!.trim()),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
