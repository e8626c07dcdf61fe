/**
 * Failover to a MySQL/MariaDB table (mysql2 pool): `mysql://user:pass@host:port/db?table=t`.
 * The table (created if missing) has StreamPark's columns, `values` (the record as a JSON array of
 * one) and `timestamp` (ms), plus the envelope's fields and an auto-increment `id`. A put is one
 * transaction of parameterized multi-row INSERTs; connection errors (a restarting server) are
 * retried with backoff a bounded number of times on a fresh connection, then the put rejects.
 * Replay: ack = DELETE by id, retain = UPDATE of the row. Each batch read is claimed: selected
 * `FOR UPDATE SKIP LOCKED` in a READ COMMITTED transaction on a connection of its own, which stays
 * open while the batch is replayed; its acks and retains run inside that transaction, committed
 * when the next batch is asked for (or the read ends). Two replays at once so take disjoint rows;
 * a replayer that dies drops its connection and the server rolls back, so its rows come back.
 */
import { inspect } from 'node:util'
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise'
import { StoreError, describeError } from '../errors.js'
import { recordJson, toEnvelope } from './envelope-codec.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { withStoreRetries } from './store-retry.js'
import { inspectStore, parseStoreUri } from './store-uri.js'

export interface MySqlStoreOptions {
  host: string
  port: number
  user: string
  password: string
  database: string
  table: string
  /** Attempts after the first for an operation that hit a connection error. */
  retries?: number
  connectionLimit?: number
  /** ms to connect. */
  timeout?: number
  /** The URI to report (already redacted). */
  uri?: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/
const COLUMNS = ['values', 'timestamp', 'url', 'method', 'attempts', 'status', 'error', 'failed_at', 'idempotency_key'] as const
const ROWS_PER_INSERT = 500
const BYTES_PER_INSERT = 4 * 1024 * 1024
const TRANSIENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN', 'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
  'ER_CONNECTION_KILLED', 'ER_QUERY_INTERRUPTED', 'ER_NET_READ_ERROR', 'ER_NET_ERROR_ON_WRITE', 'ER_CLIENT_INTERACTION_TIMEOUT'
])

/** A connection-level failure worth retrying on a fresh connection (not a bad statement or bad data). */
export function isTransientMySqlError (err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false
  const e = err as { code?: unknown, fatal?: unknown, message?: unknown }
  if (typeof e.message === 'string' && e.message.includes('Pool is closed')) return false
  return e.fatal === true || (typeof e.code === 'string' && TRANSIENT.has(e.code)) ||
    (typeof e.message === 'string' && /closed state|connection lost/i.test(e.message))
}

export class MySqlStore implements Store {
  readonly kind = 'mysql'
  readonly uri: string
  readonly table: string
  readonly #options: MySqlStoreOptions
  readonly #quoted: string
  readonly #abort = new AbortController()
  #pool: Pool | undefined
  #tableReady = false
  #closed = false
  /** The batch read() yielded last, with the transaction that holds its rows. */
  #claim: Claim | undefined

  static fromUri (uri: string, field = 'failover'): MySqlStore {
    const u = parseStoreUri(uri, field, { example: 'mysql://user:pass@host:port/db?table=t', params: ['table', 'retries', 'connectionLimit', 'timeout'] })
    if (u.path === '') u.fail('no database')
    if (!IDENTIFIER.test(u.path)) u.fail(`bad database name ${JSON.stringify(u.path)} (letters, digits, _ and $)`)
    const table = u.params.required('table', 'table')
    if (!IDENTIFIER.test(table)) u.fail(`bad table name ${JSON.stringify(table)} (letters, digits, _ and $)`)
    if (u.username === '') u.fail('no user')
    return new MySqlStore({
      host: u.hosts[0]!.host,
      port: u.hosts[0]!.port,
      user: u.username,
      password: u.password,
      database: u.path,
      table,
      retries: u.params.int('retries', 8, 0, 100),
      connectionLimit: u.params.int('connectionLimit', 4, 1, 100),
      timeout: u.params.int('timeout', 10_000, 1, 600_000),
      uri: u.redacted
    })
  }

  constructor (options: MySqlStoreOptions) {
    if (!IDENTIFIER.test(options.database)) throw new StoreError(`bad database name ${JSON.stringify(options.database)}`)
    if (!IDENTIFIER.test(options.table)) throw new StoreError(`bad table name ${JSON.stringify(options.table)}`)
    this.#options = options
    this.table = options.table
    this.#quoted = `\`${options.table}\``
    this.uri = options.uri ?? `mysql://${encodeURIComponent(options.user)}:***@${options.host}:${options.port}/${options.database}?table=${options.table}`
  }

  /** mysql2 is imported on first use, so opening the package does not pay for it. */
  async #connect (): Promise<Pool> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    const o = this.#options
    const { createPool } = await import('mysql2/promise')
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    this.#pool ??= createPool({
      host: o.host,
      port: o.port,
      user: o.user,
      password: o.password,
      database: o.database,
      connectionLimit: o.connectionLimit ?? 4,
      connectTimeout: o.timeout ?? 10_000,
      enableKeepAlive: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      maxPreparedStatements: 64,
      charset: 'utf8mb4'
    })
    return this.#pool
  }

  /** Runs `work` on one pooled connection, retrying connection failures on a fresh one. */
  async #withConnection<T> (what: string, work: (conn: PoolConnection) => Promise<T>, release = true): Promise<T> {
    try {
      return await withStoreRetries(async () => {
        const conn = await (await this.#connect()).getConnection()
        try {
          await this.#ensureTable(conn)
          const result = await work(conn)
          if (release) conn.release() // else `work` handed the connection on
          return result
        } catch (err) {
          conn.destroy() // the server rolls back whatever was open
          throw err
        }
      }, { retries: this.#options.retries ?? 8, backoff: { base: 100, max: 2000 }, retryable: isTransientMySqlError, signal: this.#abort.signal })
    } catch (err) {
      if (err instanceof StoreError) throw err
      throw new StoreError(`${this.uri} could not ${what}: ${describeError(err)}`, { cause: err })
    }
  }

  async #ensureTable (conn: PoolConnection): Promise<void> {
    if (this.#tableReady) return
    await conn.query(`CREATE TABLE IF NOT EXISTS ${this.#quoted} (
      \`id\` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      \`values\` MEDIUMTEXT NOT NULL,
      \`timestamp\` BIGINT NOT NULL,
      \`url\` TEXT NOT NULL,
      \`method\` VARCHAR(16) NOT NULL,
      \`attempts\` INT NOT NULL,
      \`status\` INT NULL,
      \`error\` TEXT NULL,
      \`failed_at\` BIGINT NOT NULL,
      \`idempotency_key\` TEXT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)
    await this.#addKeyColumn(conn)
    this.#tableReady = true
  }

  /** A table made before envelopes carried `idempotencyKey` gets its column (NULL for the old rows). */
  async #addKeyColumn (conn: PoolConnection): Promise<void> {
    const [found] = await conn.query<RowDataPacket[]>(
      "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'idempotency_key'", [this.table])
    if (found.length > 0) return
    try {
      await conn.query(`ALTER TABLE ${this.#quoted} ADD COLUMN \`idempotency_key\` TEXT NULL`)
    } catch (err) {
      // Another store added it meanwhile.
      if ((err as { code?: unknown }).code !== 'ER_DUP_FIELDNAME') throw err
    }
  }

  async put (envelopes: readonly FailoverEnvelope[]): Promise<void> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    if (envelopes.length === 0) return
    const rows = envelopes.map(toRow)
    await this.#withConnection(`store ${rows.length} envelope(s)`, async (conn) => {
      await conn.beginTransaction()
      for (const chunk of chunks(rows)) {
        const placeholders = chunk.map(() => `(${COLUMNS.map(() => '?').join(',')})`).join(',')
        await conn.execute(`INSERT INTO ${this.#quoted} (${COLUMNS.map((c) => `\`${c}\``).join(',')}) VALUES ${placeholders}`, chunk.flat())
      }
      await conn.commit()
    })
  }

  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    const batchSize = Math.max(1, Math.min(100_000, Math.floor(options.batchSize ?? 1000)))
    // Rows added after this point (retained ones keep their id; new failures) wait for the next pass.
    const top = await this.#withConnection('read', async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>(`SELECT MAX(\`id\`) AS top FROM ${this.#quoted}`)
      return (rows[0]?.top ?? null) as string | null
    })
    if (top === null) return
    let after = '0'
    for (;;) {
      const claim = await this.#claimBatch(after, top, batchSize)
      if (claim.rows.length === 0) {
        await this.#endClaim(claim)
        return
      }
      this.#claim = claim
      try {
        yield claim.rows
      } finally {
        this.#claim = undefined
        await this.#endClaim(claim)
      }
      after = claim.rows[claim.rows.length - 1]!.id
    }
  }

  /** Locks the next rows no other replay holds (SKIP LOCKED); READ COMMITTED takes no gap locks, so puts go on. */
  async #claimBatch (after: string, top: string, batchSize: number): Promise<Claim> {
    checkIds([after, top], this.uri)
    return await this.#withConnection('claim rows to read', async (conn) => {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
      await conn.beginTransaction()
      const [found] = await conn.execute<RowDataPacket[]>(
        `SELECT \`id\`, ${COLUMNS.map((c) => `\`${c}\``).join(', ')} FROM ${this.#quoted} ` +
        `WHERE \`id\` > ${after} AND \`id\` <= ${top} ORDER BY \`id\` LIMIT ${batchSize} FOR UPDATE SKIP LOCKED`)
      return new Claim(conn, found.map((row) => ({ id: String(row.id), envelope: fromRow(row) })))
    }, false)
  }

  async #endClaim (claim: Claim): Promise<void> {
    try {
      await claim.end()
    } catch (err) {
      throw new StoreError(`${this.uri} could not commit the replayed batch (its rows will be read again): ${describeError(err)}`, { cause: err })
    }
  }

  /** Runs `work` in the claim transaction when every id is one of the claimed batch, else on a pooled connection. */
  async #settle (ids: readonly string[], what: string, work: (conn: PoolConnection) => Promise<void>): Promise<void> {
    const claim = this.#claim
    if (claim !== undefined && claim.holds(ids)) {
      try {
        await work(claim.conn)
        return
      } catch (err) {
        if (!isTransientMySqlError(err)) throw new StoreError(`${this.uri} could not ${what}: ${describeError(err)}`, { cause: err })
        claim.broken() // its rows are unlocked now: settle them the ordinary way
      }
    }
    await this.#withConnection(what, work)
  }

  async ack (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    const checked = checkIds(ids, this.uri)
    // One statement per row: a lookup by primary key touches that row only. An IN list can be
    // planned as a scan, which waits on the rows another replay holds.
    await this.#settle(checked, `ack ${ids.length} row(s)`, async (conn) => {
      for (const id of checked) await conn.query(`DELETE FROM ${this.#quoted} WHERE \`id\` = ${id}`)
    })
  }

  async retain (records: readonly StoredRecord[]): Promise<void> {
    if (records.length === 0) return
    checkIds(records.map((r) => r.id), this.uri)
    const update = async (conn: PoolConnection): Promise<void> => {
      for (const r of records) {
        await conn.execute(`UPDATE ${this.#quoted} SET ${COLUMNS.map((c) => `\`${c}\` = ?`).join(', ')} WHERE \`id\` = ${r.id}`, toRow(r.envelope))
      }
    }
    await this.#settle(records.map((r) => r.id), `retain ${records.length} row(s)`, async (conn) => {
      if (conn === this.#claim?.conn) return await update(conn) // already in the claim's transaction
      await conn.beginTransaction()
      await update(conn)
      await conn.commit()
    })
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#abort.abort()
    this.#claim?.broken()
    const pool = this.#pool
    this.#pool = undefined
    await pool?.end().catch(() => {})
  }

  [inspect.custom] (): string {
    return inspectStore('MySqlStore', this.uri)
  }
}

/** A claimed batch: its rows stay locked by the open transaction on `conn` until `end()` commits. */
class Claim {
  readonly #ids: Set<string>
  #open = true

  constructor (readonly conn: PoolConnection, readonly rows: StoredRecord[]) {
    this.#ids = new Set(rows.map((r) => r.id))
  }

  holds (ids: readonly string[]): boolean {
    return this.#open && ids.every((id) => this.#ids.has(id))
  }

  /** Commits what was settled inside the claim (the rows unlock) and gives the connection back. */
  async end (): Promise<void> {
    if (!this.#open) return
    this.#open = false
    try {
      await this.conn.commit()
      this.conn.release()
    } catch (err) {
      this.conn.destroy() // rolled back: the acks in it did not happen, those rows are read again later
      throw err
    }
  }

  /** The connection failed or the store closes: drop it; the server rolls the transaction back. */
  broken (): void {
    if (!this.#open) return
    this.#open = false
    this.conn.destroy()
  }
}

type Row = [string, number, string, string, number, number | null, string | null, number, string | null]

function toRow (e: FailoverEnvelope): Row {
  return [`[${recordJson(e.record)}]`, e.failedAt, e.url, e.method, e.attempts, e.status, e.error, e.failedAt, e.idempotencyKey ?? null]
}

/** `values` holds `[record]`; a row written by something else (plain text, a longer list) is kept as it is. */
function fromRow (row: RowDataPacket): FailoverEnvelope {
  const text = String(row.values)
  let record: unknown = text
  try {
    const parsed: unknown = JSON.parse(text)
    record = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed
  } catch {}
  return toEnvelope(record, { url: row.url, method: row.method, attempts: row.attempts, status: row.status, error: row.error, failedAt: row.failed_at ?? row.timestamp, idempotencyKey: row.idempotency_key })
}

function * chunks (rows: Row[]): Generator<Row[]> {
  let chunk: Row[] = []
  let bytes = 0
  for (const row of rows) {
    const size = row[0].length + row[2].length + (row[6]?.length ?? 0) + 64
    if (chunk.length > 0 && (chunk.length >= ROWS_PER_INSERT || bytes + size > BYTES_PER_INSERT)) {
      yield chunk
      chunk = []
      bytes = 0
    }
    chunk.push(row)
    bytes += size
  }
  if (chunk.length > 0) yield chunk
}

/** Ids go into statements as literals (so a lookup by id is planned as one), once checked to be digits. */
function checkIds (ids: readonly string[], uri: string): string[] {
  const bad = ids.find((id) => !/^\d{1,19}$/.test(id))
  if (bad !== undefined) throw new StoreError(`${uri}: ${JSON.stringify(bad)} is not a row id of this store`)
  return [...ids]
}
