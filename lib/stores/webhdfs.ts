/**
 * Failover to HDFS over WebHDFS: `webhdfs://host:port/path?user=u&format=yyyy-MM-dd`.
 *
 * Layout: envelopes are NDJSON lines in `path/<date>/part-<writer>-<n>.ndjson.inprogress`, renamed
 * to `….ndjson` (sealed) when the writer rolls to a new file (date change, size, an error, a replay,
 * close). A put is one CREATE or APPEND (two-step, 307 to a datanode) and resolves on the datanode's
 * 201/200. Lease and "already being created" errors are retried with backoff on the same file; an
 * ambiguous failure (no answer) rolls to a new file before retrying, so a torn write never merges
 * with later lines (a retry may duplicate, never lose).
 *
 * Replay bookkeeping (HDFS files are append-only): the byte offsets of acked lines are appended to
 * a sidecar `part-….acked` next to the data file, each append a JSON array on its own line. read()
 * skips offsets listed there, so a second replay never re-sends what the endpoint accepted. Once
 * every line of a sealed file is acked, the file and then its sidecar are deleted. retain() appends
 * the updated envelopes to the current file first, then acks the old lines.
 *
 * One replay at a time: read() takes the lock file `path/replay.lock` (webhdfs-lock.ts) before it
 * reads anything and removes it when the read ends; a second replay is refused with ERR_STORE_LOCKED.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { StoreError, describeError } from '../errors.js'
import { compileDatePattern } from './date-pattern.js'
import { parseEnvelope } from './envelope-codec.js'
import { encodeEnvelopeLine } from './envelope-line.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { withStoreRetries } from './store-retry.js'
import { inspectStore, parseStoreUri } from './store-uri.js'
import { LeaseLock } from './lease-lock.js'
import { WebHdfsLockFile } from './webhdfs-lock.js'
import { WebHdfsClient, WebHdfsError, isLeaseError, isRetryableHdfsError, type FileStatus } from './webhdfs-client.js'

export interface WebHdfsStoreOptions {
  host: string
  port: number
  /** Absolute HDFS directory, e.g. `/http/failover`. */
  path: string
  /** `user.name` for every request. */
  user: string
  /** Date directory pattern (UTC), default `yyyy-MM-dd`. */
  format?: string
  retries?: number
  /** ms per request. */
  timeout?: number
  /** Roll to a new file past this size. */
  rollBytes?: number
  uri?: string
}

const DATA = /^(part-[A-Za-z0-9-]+)\.ndjson(\.inprogress)?$/
const SIDECAR = /^(part-[A-Za-z0-9-]+)\.acked$/
const READ_CHUNK = 4 * 1024 * 1024
/** An unsealed file nobody appended to for this long belongs to a writer that is gone. */
const STALE_MS = 60 * 60 * 1000

interface DataFile { dir: string, base: string, name: string, length: number, deletable: boolean }
interface CurrentFile { dir: string, base: string, bytes: number, created: boolean, broken: boolean }
interface FileState { file: DataFile, lines: Set<number>, settled: Set<number>, complete: boolean }

export class WebHdfsStore extends EventEmitter implements Store {
  readonly kind = 'webhdfs'
  readonly uri: string
  readonly root: string
  /** Lines read() skipped because they were torn or not envelopes. */
  corruptLines = 0
  readonly #client: WebHdfsClient
  readonly #dirOf: (at: number) => string
  readonly #retries: number
  readonly #rollBytes: number
  readonly #writer = `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(4).toString('hex')}`
  readonly #abort = new AbortController()
  readonly #files = new Map<string, FileState>()
  readonly #sidecars = new Set<string>()
  #sequence = 0
  #current: CurrentFile | undefined
  readonly #lockFile: WebHdfsLockFile
  #lock: LeaseLock | undefined
  #chain: Promise<unknown> = Promise.resolve()
  #closed = false

  static fromUri (uri: string, field = 'failover'): WebHdfsStore {
    const u = parseStoreUri(uri, field, { example: 'webhdfs://host:port/path?user=u&format=yyyy-MM-dd', params: ['user', 'format', 'retries', 'timeout', 'rollBytes'] })
    if (u.path.replace(/\/+$/, '') === '') u.fail('no path')
    const format = u.params.string('format') ?? 'yyyy-MM-dd'
    const compiled = compileDatePattern(format)
    if (typeof compiled === 'string') u.fail(`bad format ${JSON.stringify(format)}: ${compiled}`)
    return new WebHdfsStore({
      host: u.hosts[0]!.host,
      port: u.hosts[0]!.port,
      path: u.path,
      user: u.params.required('user', 'user'),
      format,
      retries: u.params.int('retries', 6, 0, 100),
      timeout: u.params.int('timeout', 30_000, 1, 600_000),
      rollBytes: u.params.int('rollBytes', 128 * 1024 * 1024, 1, 2 ** 40),
      uri: u.redacted
    })
  }

  constructor (options: WebHdfsStoreOptions) {
    super()
    const dirOf = compileDatePattern(options.format ?? 'yyyy-MM-dd')
    if (typeof dirOf === 'string') throw new StoreError(`bad WebHDFS date format: ${dirOf}`)
    this.#dirOf = dirOf
    this.root = '/' + options.path.split('/').filter(Boolean).join('/')
    if (this.root === '/') throw new StoreError('the WebHDFS store needs a directory below /')
    this.#retries = options.retries ?? 6
    this.#rollBytes = options.rollBytes ?? 128 * 1024 * 1024
    this.#client = new WebHdfsClient(options.host, options.port, options.user, options.timeout ?? 30_000)
    this.uri = options.uri ?? `webhdfs://${options.host}:${options.port}${this.root}?user=${encodeURIComponent(options.user)}`
    this.#lockFile = new WebHdfsLockFile(this.#client, this.root, (what, operation) => this.#retrying(what, operation))
  }

  /** Runs one HDFS operation with retries; `roll` marks the current file broken before a retry. */
  async #retrying<T> (what: string, operation: () => Promise<T>, roll = false): Promise<T> {
    let leaseStrikes = 0
    try {
      return await withStoreRetries(operation, {
        retries: this.#retries,
        backoff: { base: 200, max: 5000 },
        retryable: (err) => isRetryableHdfsError(err) || (err instanceof WebHdfsError && err.exception === 'FileAlreadyExistsException' && roll),
        signal: this.#abort.signal,
        onRetry: (err) => {
          // The same file again after a lease error (the lease frees up); a new one after anything
          // that may have left part of the data behind, or after a lease that never frees.
          if (!roll || this.#current === undefined) return
          if (isLeaseError(err) && ++leaseStrikes < 3) return
          leaseStrikes = 0
          this.#current.broken = true
        }
      })
    } catch (err) {
      if (roll && this.#current !== undefined) this.#current.broken = true
      throw new StoreError(`${this.uri} could not ${what}: ${describeError(err)}`, { cause: err })
    }
  }

  /** Write operations run one at a time (HDFS has one writer per file). */
  #serial<T> (work: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(work)
    this.#chain = result.catch(() => {})
    return result
  }

  put (envelopes: readonly FailoverEnvelope[]): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError(`${this.uri} is closed`))
    if (envelopes.length === 0) return Promise.resolve()
    const data = Buffer.from(envelopes.map(encodeEnvelopeLine).join(''))
    return this.#serial(() => this.#retrying(`store ${envelopes.length} envelope(s)`, async () => {
      const file = await this.#target(data.length)
      const path = `${file.dir}/${file.base}.ndjson.inprogress`
      if (file.created) {
        await this.#client.append(path, data)
      } else {
        await this.#client.create(path, data)
        file.created = true
      }
      file.bytes += data.length
    }, true))
  }

  async #target (size: number): Promise<CurrentFile> {
    const dir = `${this.root}/${this.#dirOf(Date.now())}`
    const current = this.#current
    if (current !== undefined && (current.broken || current.dir !== dir || (current.bytes > 0 && current.bytes + size > this.#rollBytes))) await this.#seal()
    this.#current ??= { dir, base: `part-${this.#writer}-${this.#sequence++}`, bytes: 0, created: false, broken: false }
    return this.#current
  }

  /** Renames the current file to its sealed name; best effort (an unsealed file goes stale after an hour). */
  async #seal (): Promise<void> {
    const file = this.#current
    this.#current = undefined
    if (file === undefined || !file.created) return
    await this.#client.rename(`${file.dir}/${file.base}.ndjson.inprogress`, `${file.dir}/${file.base}.ndjson`).catch(() => false)
  }

  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    const lock = await LeaseLock.acquire(this.#lockFile, this.uri)
    this.#lock = lock
    try {
      yield * this.#readFiles(options)
    } finally {
      this.#lock = undefined
      await lock.release()
    }
  }

  async * #readFiles (options: ReadOptions): AsyncGenerator<StoredRecord[]> {
    const batchSize = Math.max(1, options.batchSize ?? 1000)
    // Later puts (retained envelopes, new failures) go to a new file that this pass does not read.
    await this.#serial(() => this.#seal())
    const files = await this.#retrying('list files', () => this.#list(this.root))
    for (const file of files) {
      const key = `${file.dir}/${file.base}`
      const state: FileState = { file, lines: new Set(), settled: await this.#readSidecar(file), complete: false }
      this.#files.set(key, state)
      let batch: StoredRecord[] = []
      for await (const { offset, text, torn } of this.#lines(file)) {
        if (torn && !file.deletable) break // a writer may still be appending this line
        state.lines.add(offset)
        if (state.settled.has(offset)) continue
        const envelope = text.trim() === '' ? undefined : parseEnvelope(text)
        if (envelope === undefined) {
          state.settled.add(offset)
          if (text.trim() === '') continue
          this.corruptLines++
          this.emit('corrupt-line', { file: `${file.dir}/${file.name}`, offset })
          continue
        }
        batch.push({ id: `${key.slice(this.root.length + 1)}@${offset}`, envelope })
        if (batch.length >= batchSize) {
          yield batch
          batch = []
        }
      }
      state.complete = true
      if (batch.length > 0) yield batch
      await this.#deleteIfDone(key)
    }
  }

  /** Data files under `dir`, oldest date directory and writer first; drops sidecars whose data file is gone. */
  async #list (dir: string): Promise<DataFile[]> {
    const entries = await this.#client.list(dir)
    const files: DataFile[] = []
    const bases = new Set<string>()
    const sidecars: string[] = []
    for (const entry of entries.sort((a, b) => a.pathSuffix.localeCompare(b.pathSuffix))) {
      const path = `${dir}/${entry.pathSuffix}`
      if (entry.type === 'DIRECTORY') {
        files.push(...await this.#list(path))
        continue
      }
      const data = DATA.exec(entry.pathSuffix)
      if (data !== null) {
        bases.add(data[1]!)
        files.push({ dir, base: data[1]!, name: entry.pathSuffix, length: entry.length, deletable: isFinished(entry, data[2] === undefined) })
      } else {
        const sidecar = SIDECAR.exec(entry.pathSuffix)
        if (sidecar !== null) sidecars.push(sidecar[1]!)
      }
    }
    for (const base of sidecars) if (!bases.has(base)) await this.#client.delete(`${dir}/${base}.acked`).catch(() => false)
    return files
  }

  async #readSidecar (file: DataFile): Promise<Set<number>> {
    const acked = new Set<number>()
    const path = `${file.dir}/${file.base}.acked`
    const data = await this.#retrying('read acked offsets', () => this.#client.open(path, 0, 2 ** 40))
    if (data === null) return acked
    this.#sidecars.add(path)
    for (const line of data.toString('utf8').split('\n')) {
      try {
        const offsets: unknown = JSON.parse(line)
        if (Array.isArray(offsets)) for (const o of offsets) if (Number.isSafeInteger(o)) acked.add(o as number)
      } catch {} // a torn append: those acks did not resolve, so their lines are read again
    }
    return acked
  }

  /** The lines of a file up to its listed length, with byte offsets; a last line without newline comes `torn`. */
  async * #lines (file: DataFile): AsyncGenerator<{ offset: number, text: string, torn: boolean }> {
    let carry: Buffer = Buffer.alloc(0)
    let carryAt = 0
    let position = 0
    while (position < file.length) {
      const length = Math.min(READ_CHUNK, file.length - position)
      let chunk = await this.#retrying('read', () => this.#client.open(`${file.dir}/${file.name}`, position, length))
      if (chunk === null && file.name.endsWith('.inprogress')) {
        file.name = `${file.base}.ndjson` // sealed by its writer meanwhile
        chunk = await this.#retrying('read', () => this.#client.open(`${file.dir}/${file.name}`, position, length))
      }
      if (chunk === null || chunk.length === 0) break
      position += chunk.length
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk
      let start = 0
      for (let end = data.indexOf(10); end !== -1; end = data.indexOf(10, start)) {
        yield { offset: carryAt + start, text: data.toString('utf8', start, end), torn: false }
        start = end + 1
      }
      carryAt += start
      carry = data.subarray(start)
    }
    if (carry.length > 0) yield { offset: carryAt, text: carry.toString('utf8'), torn: true }
  }

  async ack (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    const byFile = new Map<string, number[]>()
    for (const id of ids) {
      const m = /^(.+)@(\d+)$/.exec(id)
      if (m === null || m[1]!.split('/').includes('..')) throw new StoreError(`${this.uri}: ${JSON.stringify(id)} is not an id of this store`)
      const key = `${this.root}/${m[1]}`
      let offsets = byFile.get(key)
      if (offsets === undefined) byFile.set(key, offsets = [])
      offsets.push(Number(m[2]))
    }
    for (const [key, offsets] of byFile) {
      const path = `${key}.acked`
      const data = Buffer.from(`\n${JSON.stringify(offsets)}\n`)
      await this.#serial(() => this.#retrying(`ack ${offsets.length} line(s)`, () => this.#appendSidecar(path, data)))
      const state = this.#files.get(key)
      if (state !== undefined) for (const o of offsets) state.settled.add(o)
      await this.#deleteIfDone(key)
    }
  }

  async #appendSidecar (path: string, data: Buffer): Promise<void> {
    if (!this.#sidecars.has(path)) {
      try {
        await this.#client.create(path, data)
        this.#sidecars.add(path)
        return
      } catch (err) {
        if (!(err instanceof WebHdfsError && err.exception === 'FileAlreadyExistsException')) throw err
        this.#sidecars.add(path)
      }
    }
    await this.#client.append(path, data)
  }

  async retain (records: readonly StoredRecord[]): Promise<void> {
    if (records.length === 0) return
    await this.put(records.map((r) => r.envelope))
    await this.ack(records.map((r) => r.id))
  }

  /** A sealed (or abandoned) file whose every line is acked goes away, then its sidecar. */
  async #deleteIfDone (key: string): Promise<void> {
    const state = this.#files.get(key)
    if (state === undefined || !state.complete || !state.file.deletable) return
    for (const offset of state.lines) if (!state.settled.has(offset)) return
    this.#files.delete(key)
    const { dir, base, name } = state.file
    await this.#retrying('delete a replayed file', async () => {
      if (!await this.#client.delete(`${dir}/${name}`) && name.endsWith('.inprogress')) await this.#client.delete(`${dir}/${base}.ndjson`)
      await this.#client.delete(`${dir}/${base}.acked`)
    })
    this.#sidecars.delete(`${dir}/${base}.acked`)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#serial(() => this.#seal()).catch(() => {})
    await this.#lock?.release()
    this.#abort.abort()
    await this.#client.close()
  }

  [inspect.custom] (): string {
    return inspectStore('WebHdfsStore', this.uri)
  }
}

function isFinished (entry: FileStatus, sealed: boolean): boolean {
  return sealed || Date.now() - entry.modificationTime > STALE_MS
}
