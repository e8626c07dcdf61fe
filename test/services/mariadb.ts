/**
 * A private MariaDB for tests: `mariadb-install-db` into a temp datadir, `mariadbd` on its own free
 * port, socket and pid file, and a user with a password (created over the socket as root) for mysql2.
 * `stop()` / `restart()` keep the datadir and the port, so a store URI stays valid across restarts.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { createConnection } from 'mysql2/promise'
import { freePort } from './free-port.js'
import { missing, type Missing } from './require-service.js'

const run = promisify(execFile)
const SERVER_BINARIES = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd']
const INSTALL_BINARIES = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db']

export const DB_USER = 'hsc'
export const DB_PASSWORD = 's3cret-p@ss'
export const DB_NAME = 'failover'

export interface MariaDb {
  /** `mysql://hsc:<password>@127.0.0.1:<port>/failover` (add `?table=`). */
  readonly uri: string
  readonly port: number
  readonly password: string
  /** Stops the server: SIGTERM (clean shutdown) or SIGKILL (a crash). The datadir stays. */
  stop (signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>
  /** Starts it again on the same port with the same data. */
  start (): Promise<void>
  restart (): Promise<void>
  /** Stops it for good and removes the datadir. Idempotent. */
  destroy (): Promise<void>
}

const firstExisting = (paths: string[]): string | undefined => paths.find((p) => existsSync(p))

export async function startMariaDb (): Promise<MariaDb | Missing> {
  const server = firstExisting(SERVER_BINARIES)
  const install = firstExisting(INSTALL_BINARIES)
  if (server === undefined || install === undefined) {
    return missing(`mariadbd or mariadb-install-db not found (apt-get install mariadb-server); looked in ${[...SERVER_BINARIES, ...INSTALL_BINARIES].join(', ')}`)
  }
  const dir = await mkdtemp(join(tmpdir(), 'hsc-mariadb-'))
  const datadir = join(dir, 'data')
  const socket = join(dir, 'mysqld.sock')
  try {
    await run(install, ['--no-defaults', `--datadir=${datadir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 60_000 })
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    return missing(`mariadb-install-db failed: ${(err as Error).message.split('\n')[0]}`)
  }
  const port = await freePort()
  let child: ChildProcess | undefined
  let destroyed = false
  const killOnExit = (): void => { child?.kill('SIGKILL') }
  process.once('exit', killOnExit)

  const start = async (): Promise<void> => {
    if (child !== undefined) return
    const proc = spawn(server, [
      '--no-defaults', `--datadir=${datadir}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`, `--log-error=${join(dir, 'error.log')}`, '--user=root', '--skip-name-resolve',
      '--skip-log-bin', '--innodb-buffer-pool-size=32M', '--max-connections=200'
    ], { stdio: 'ignore' })
    child = proc
    proc.once('exit', () => { if (child === proc) child = undefined })
    for (let i = 0; i < 300; i++) {
      if (child !== proc) throw new Error(`mariadbd exited at start: ${await errorLog()}`)
      try {
        const conn = await createConnection({ socketPath: socket, user: 'root' })
        await conn.end()
        return
      } catch {
        await sleep(100)
      }
    }
    throw new Error(`mariadbd did not accept connections within 30 s: ${await errorLog()}`)
  }
  const errorLog = async (): Promise<string> => (await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')).split('\n').slice(-5).join(' | ')

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child
    if (proc === undefined) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(timer)
  }

  try {
    await start()
    const root = await createConnection({ socketPath: socket, user: 'root' })
    await root.query(`CREATE DATABASE IF NOT EXISTS \`${DB_NAME}\``)
    await root.query('CREATE USER IF NOT EXISTS ?@\'%\' IDENTIFIED BY ?', [DB_USER, DB_PASSWORD])
    await root.query(`GRANT ALL PRIVILEGES ON \`${DB_NAME}\`.* TO ?@'%'`, [DB_USER])
    await root.end()
  } catch (err) {
    await stop('SIGKILL')
    process.removeListener('exit', killOnExit)
    await rm(dir, { recursive: true, force: true })
    return missing(`MariaDB did not start: ${(err as Error).message}`)
  }

  return {
    uri: `mysql://${DB_USER}:${encodeURIComponent(DB_PASSWORD)}@127.0.0.1:${port}/${DB_NAME}`,
    port,
    password: DB_PASSWORD,
    stop,
    start,
    restart: async () => { await stop(); await start() },
    async destroy () {
      if (destroyed) return
      destroyed = true
      await stop()
      process.removeListener('exit', killOnExit)
      await rm(dir, { recursive: true, force: true })
    }
  }
}
