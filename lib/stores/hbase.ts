/**
 * Failover to HBase through its REST server (Stargate): `hbase://host:port/table`.
 * One row per envelope in column family `cf` (the table is created with `PUT /<table>/schema` if
 * missing), one cell per envelope field (`idempotencyKey` only when set), keys and values base64 in the JSON CellSet. Row keys sort
 * newest first as StreamPark's did: Long.MAX_VALUE − epoch ms (19 digits), then a writer id and a
 * sequence. A put is one multi-row `PUT /<table>/<fakerow>`; HBase answers 200 once the WAL has it.
 * Replay scans with a scanner (`PUT /<table>/scanner`, GET until 204, DELETE); ack deletes the row,
 * retain PUTs the updated cells into the same row. One replay at a time: read() takes the lock row
 * (hbase-lock.ts) with a check-and-put before it scans and clears it when the read ends; a second
 * replay is refused with ERR_STORE_LOCKED.
 */
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { StoreError, describeError } from '../errors.js'
import { recordJson, toEnvelope } from './envelope-codec.js'
import { HBASE_LOCK_ROW, HBaseLockRow, type HBaseCells } from './hbase-lock.js'
import { LeaseLock } from './lease-lock.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { StoreHttp, header, isNetworkError, type HttpAnswer } from './store-http.js'
import { withStoreRetries } from './store-retry.js'
import { inspectStore, parseStoreUri } from './store-uri.js'

export interface HBaseStoreOptions {
  host: string
  port: number
  /** Table name, optionally `namespace:table`. */
  table: string
  retries?: number
  /** ms per request. */
  timeout?: number
  uri?: string
}

/** An answer of the REST server that is not what the call needs. Code ERR_STORE. */
export class HBaseRestError extends StoreError {
  readonly status: number
  constructor (status: number, what: string, body: string) {
    super(`HBase REST ${status} on ${what}${body === '' ? '' : `: ${body.slice(0, 200)}`}`)
    this.status = status
  }
}

const FAMILY = 'cf'
const FIELDS = ['record', 'url', 'method', 'attempts', 'status', 'error', 'failedAt'] as const
/** The cell of `idempotencyKey`, written only for envelopes that carry one (a row's key never changes). */
const KEY_FIELD = 'idempotencyKey'
const TABLE = /^([A-Za-z0-9_][A-Za-z0-9_.-]*:)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/
const LONG_MAX = 9223372036854775807n
const JSON_TYPE = 'application/json'
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')
const unb64 = (text: string): string => Buffer.from(text, 'base64').toString('utf8')

interface CellSet { Row?: Array<{ key: string, Cell?: Array<{ column: string, $: string }> }> }

export class HBaseStore implements Store, HBaseCells {
  readonly kind = 'hbase'
  readonly uri: string
  readonly table: string
  readonly #base: string
  readonly #http: StoreHttp
  readonly #retries: number
  readonly #writer = randomBytes(4).toString('hex')
  readonly #abort = new AbortController()
  #sequence = 0
  #schema: Promise<void> | undefined
  #closed = false
  readonly #lockRow: HBaseLockRow
  #lock: LeaseLock | undefined

  static fromUri (uri: string, field = 'failover'): HBaseStore {
    const u = parseStoreUri(uri, field, { example: 'hbase://host:port/table', params: ['retries', 'timeout'] })
    if (u.path === '') u.fail('no table')
    if (!TABLE.test(u.path)) u.fail(`bad table name ${JSON.stringify(u.path)}`)
    return new HBaseStore({
      host: u.hosts[0]!.host,
      port: u.hosts[0]!.port,
      table: u.path,
      retries: u.params.int('retries', 6, 0, 100),
      timeout: u.params.int('timeout', 30_000, 1, 600_000),
      uri: u.redacted
    })
  }

  constructor (options: HBaseStoreOptions) {
    if (!TABLE.test(options.table)) throw new StoreError(`bad HBase table name ${JSON.stringify(options.table)}`)
    this.table = options.table
    this.#base = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}/${encodeURIComponent(options.table)}`
    this.#http = new StoreHttp(options.timeout ?? 30_000)
    this.#retries = options.retries ?? 6
    this.uri = options.uri ?? `hbase://${options.host}:${options.port}/${options.table}`
    this.#lockRow = new HBaseLockRow(this, options.table)
  }

  async checkAndPut (row: string, column: string, value: string, expected: string): Promise<boolean> {
    const cells = [{ column: b64(column), $: b64(value) }, { column: b64(column), $: b64(expected) }]
    const answer = await this.#call(`check-and-put ${row}`, 'PUT', `${this.#base}/${encodeURIComponent(row)}?check=put`, { Row: [{ key: b64(row), Cell: cells }] }, [200, 304])
    return answer.status === 200
  }

  async checkAndDelete (row: string, column: string, expected: string): Promise<boolean> {
    const body = { Row: [{ key: b64(row), Cell: [{ column: b64(column), $: b64(expected) }] }] }
    const answer = await this.#call(`check-and-delete ${row}`, 'DELETE', `${this.#base}/${encodeURIComponent(row)}?check=delete`, body, [200, 304])
    return answer.status === 200
  }

  async cell (row: string, column: string): Promise<string | null> {
    const answer = await this.#call(`read ${row}`, 'GET', `${this.#base}/${encodeURIComponent(row)}/${encodeURIComponent(column)}`, undefined, [200, 404])
    if (answer.status === 404) return null
    const found = (JSON.parse(answer.body.toString('utf8')) as CellSet).Row?.[0]?.Cell?.find((c) => unb64(c.column) === column)
    return found === undefined ? null : unb64(found.$)
  }

  async #call (what: string, method: string, url: string, body: unknown, ok: number[]): Promise<HttpAnswer> {
    const send = async (): Promise<HttpAnswer> => {
      const answer = await this.#http.send(method, url, {
        headers: body === undefined ? { accept: JSON_TYPE } : { accept: JSON_TYPE, 'content-type': JSON_TYPE },
        body: body === undefined ? undefined : JSON.stringify(body)
      })
      if (!ok.includes(answer.status)) throw new HBaseRestError(answer.status, what, answer.body.toString('utf8'))
      return answer
    }
    try {
      return await withStoreRetries(send, {
        retries: this.#retries,
        backoff: { base: 200, max: 5000 },
        retryable: (err) => err instanceof HBaseRestError ? err.status >= 500 || err.status === 429 || err.status === 408 : isNetworkError(err),
        signal: this.#abort.signal
      })
    } catch (err) {
      throw new StoreError(`${this.uri} could not ${what}: ${describeError(err)}`, { cause: err })
    }
  }

  /** Creates the table with family `cf` unless it exists. */
  #ensureTable (): Promise<void> {
    this.#schema ??= (async () => {
      const found = await this.#call('read the table schema', 'GET', `${this.#base}/schema`, undefined, [200, 404])
      if (found.status === 404) {
        await this.#call('create the table', 'PUT', `${this.#base}/schema`, { name: this.table, ColumnSchema: [{ name: FAMILY }] }, [200, 201])
      }
    })()
    return this.#schema.catch((err: unknown) => {
      this.#schema = undefined
      throw err
    })
  }

  #rowKey (failedAt: number): string {
    const reversed = (LONG_MAX - BigInt(Math.max(0, Math.floor(failedAt)))).toString().padStart(19, '0')
    return `${reversed}-${this.#writer}-${(this.#sequence++).toString().padStart(10, '0')}`
  }

  async put (envelopes: readonly FailoverEnvelope[]): Promise<void> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    if (envelopes.length === 0) return
    await this.#ensureTable()
    await this.#putRows(envelopes.map((e) => [this.#rowKey(e.failedAt), e]), `store ${envelopes.length} envelope(s)`)
  }

  async #putRows (rows: Array<[string, FailoverEnvelope]>, what: string): Promise<void> {
    const cellSet: CellSet = {
      Row: rows.map(([key, e]) => ({
        key: b64(key),
        Cell: cells(e)
      }))
    }
    await this.#call(what, 'PUT', `${this.#base}/${encodeURIComponent(rows[0]![0])}`, cellSet, [200])
  }

  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    await this.#ensureTable()
    const lock = await LeaseLock.acquire(this.#lockRow, this.uri)
    this.#lock = lock
    try {
      yield * this.#scan(Math.max(1, options.batchSize ?? 1000))
    } finally {
      this.#lock = undefined
      await lock.release()
    }
  }

  async * #scan (batchSize: number): AsyncGenerator<StoredRecord[]> {
    const created = await this.#call('open a scanner', 'PUT', `${this.#base}/scanner`, { batch: batchSize * FIELDS.length }, [201])
    const location = header(created, 'location')
    if (location === undefined) throw new StoreError(`${this.uri}: the scanner answer has no Location`)
    const scanner = new URL(location, this.#base).toString()
    try {
      let partial: { key: string, cells: Map<string, string> } | undefined
      for (;;) {
        const answer = await this.#call('scan', 'GET', scanner, undefined, [200, 204])
        const rows = answer.status === 204 ? [] : ((JSON.parse(answer.body.toString('utf8')) as CellSet).Row ?? [])
        const complete: StoredRecord[] = []
        for (const row of rows) {
          const key = unb64(row.key)
          if (key === HBASE_LOCK_ROW) continue
          if (partial !== undefined && partial.key !== key) {
            complete.push(toStored(partial.key, partial.cells))
            partial = undefined
          }
          partial ??= { key, cells: new Map() }
          for (const cell of row.Cell ?? []) partial.cells.set(unb64(cell.column), unb64(cell.$))
        }
        // The last row may go on in the next answer (the scanner batch counts cells, not rows).
        if (answer.status === 204 && partial !== undefined) {
          complete.push(toStored(partial.key, partial.cells))
          partial = undefined
        }
        if (complete.length > 0) yield complete
        if (answer.status === 204) return
      }
    } finally {
      await this.#call('close the scanner', 'DELETE', scanner, undefined, [200, 404]).catch(() => {})
    }
  }

  async ack (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    const queue = [...ids]
    const worker = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        await this.#call(`ack row ${id}`, 'DELETE', `${this.#base}/${encodeURIComponent(id)}`, undefined, [200, 404])
      }
    }
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker))
  }

  async retain (records: readonly StoredRecord[]): Promise<void> {
    if (records.length === 0) return
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    await this.#putRows(records.map((r) => [r.id, r.envelope]), `retain ${records.length} row(s)`)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#lock?.release()
    this.#abort.abort()
    await this.#http.close()
  }

  [inspect.custom] (): string {
    return inspectStore('HBaseStore', this.uri)
  }
}

/** Every field is always written (null as ''), so an updated row never keeps a stale cell. */
function cells (e: FailoverEnvelope): Array<{ column: string, $: string }> {
  const row = FIELDS.map((f) => ({ column: b64(`${FAMILY}:${f}`), $: b64(cellValue(e, f)) }))
  if (e.idempotencyKey !== undefined) row.push({ column: b64(`${FAMILY}:${KEY_FIELD}`), $: b64(e.idempotencyKey) })
  return row
}

function cellValue (e: FailoverEnvelope, field: typeof FIELDS[number]): string {
  switch (field) {
    case 'record': return recordJson(e.record)
    case 'status': return e.status === null ? '' : String(e.status)
    case 'error': return e.error ?? ''
    default: return String(e[field])
  }
}

function toStored (key: string, cells: Map<string, string>): StoredRecord {
  const get = (f: string): string | undefined => cells.get(`${FAMILY}:${f}`)
  let record: unknown = get('record')
  try {
    record = JSON.parse(String(record))
  } catch {}
  return { id: key, envelope: toEnvelope(record, { url: get('url'), method: get('method'), attempts: get('attempts'), status: get('status'), error: get('error'), failedAt: get('failedAt'), idempotencyKey: get(KEY_FIELD) }) }
}
