import { EventEmitter } from 'node:events'
import { createReadStream } from 'node:fs'
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { StoreError } from '../errors.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { encodeEnvelopeLine } from './envelope-line.js'

const SEGMENT_BYTES = 64 * 1024 * 1024
const ACK_LOG = 'acked.log'
const SEGMENT = /^segment-\d+-\d+-\d+\.ndjson$/

interface PendingWrite { text: string, resolve: () => void, reject: (err: Error) => void }

/**
 * The embedded default store (`file:./dir`). Envelopes are appended as NDJSON lines to segment
 * files; `put` resolves only after fdatasync, and concurrent puts share one write and one sync
 * (group commit). Replay bookkeeping: acked ids (`segment:line`) go to `acked.log` (synced); a
 * segment whose every line is acked is deleted. A torn or corrupt line (a crash mid-write) is
 * skipped and reported with a 'corrupt-line' event, never a crash.
 */
export class FileStore extends EventEmitter implements Store {
  readonly kind = 'file'
  readonly uri: string
  readonly directory: string
  /** Lines skipped by read() because they were torn or not JSON. */
  corruptLines = 0

  #ready: Promise<void> | undefined
  #segment: { name: string, handle: FileHandle, bytes: number } | undefined
  #pending: PendingWrite[] = []
  /** The write loop while it runs; puts made meanwhile join its next round. */
  #draining: Promise<void> | undefined
  #closed = false
  #sequence = 0
  /** segment name → lines read, and lines settled (acked, blank or corrupt), to delete finished segments. */
  readonly #lineCounts = new Map<string, number>()
  readonly #acked = new Map<string, Set<number>>()
  #ackLogLoaded = false

  constructor (directory: string) {
    super()
    this.directory = resolve(directory)
    this.uri = `file:${directory}`
  }

  put (envelopes: readonly FailoverEnvelope[]): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreError(`${this.uri} is closed`))
    if (envelopes.length === 0) return Promise.resolve()
    let text = ''
    for (const envelope of envelopes) text += encodeEnvelopeLine(envelope)
    return new Promise((resolve, reject) => {
      this.#pending.push({ text, resolve, reject })
      this.#draining ??= this.#drain()
    })
  }

  /** Writes everything pending as one append and one sync, until nothing is pending. */
  async #drain (): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending
      this.#pending = []
      try {
        const text = batch.length === 1 ? batch[0]!.text : batch.map((w) => w.text).join('')
        await this.#append(text)
        for (const w of batch) w.resolve()
      } catch (err) {
        const error = new StoreError(`cannot write to ${this.directory}: ${(err as Error).message}`, { cause: err })
        for (const w of batch) w.reject(error)
        await this.#closeSegment().catch(() => {})
      }
    }
    this.#draining = undefined
  }

  async #append (text: string): Promise<void> {
    await this.#open()
    if (this.#segment === undefined || this.#segment.bytes >= SEGMENT_BYTES) await this.#rotate()
    const segment = this.#segment!
    const data = Buffer.from(text)
    let written = 0
    while (written < data.length) {
      const { bytesWritten } = await segment.handle.write(data, written)
      written += bytesWritten
    }
    segment.bytes += data.length
    await segment.handle.datasync()
  }

  #open (): Promise<void> {
    this.#ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined)
    return this.#ready.catch((err: unknown) => {
      this.#ready = undefined
      throw err
    })
  }

  async #rotate (): Promise<void> {
    await this.#closeSegment()
    const name = `segment-${Date.now()}-${process.pid}-${this.#sequence++}.ndjson`
    const handle = await open(join(this.directory, name), 'a')
    this.#segment = { name, handle, bytes: 0 }
  }

  async #closeSegment (): Promise<void> {
    const segment = this.#segment
    this.#segment = undefined
    if (segment !== undefined) await segment.handle.close()
  }

  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    const batchSize = options.batchSize ?? 1000
    await this.#loadAckLog()
    // Later puts (retained records, new failures) go to a segment this pass does not read.
    await this.#whenIdle()
    await this.#closeSegment()
    for (const name of await this.#segments()) {
      const acked = this.#acked.get(name)
      let batch: StoredRecord[] = []
      let line = 0
      for await (const text of createInterface({ input: createReadStream(join(this.directory, name)), crlfDelay: Infinity })) {
        const index = line++
        const envelope = text === '' ? undefined : parseLine(text)
        if (envelope === undefined) {
          // Settled for bookkeeping (in memory only), so a segment with a torn line can still be deleted.
          this.#markAcked(`${name}:${index}`)
          if (text === '') continue
          this.corruptLines++
          this.emit('corrupt-line', { segment: name, line: index + 1 })
          continue
        }
        if (acked?.has(index) === true) continue
        batch.push({ id: `${name}:${index}`, envelope })
        if (batch.length >= batchSize) {
          yield batch
          batch = []
        }
      }
      this.#lineCounts.set(name, line)
      if (batch.length > 0) yield batch
      await this.#deleteIfDone(name)
    }
  }

  async ack (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#loadAckLog()
    await this.#open()
    const handle = await open(join(this.directory, ACK_LOG), 'a')
    try {
      await handle.write(ids.join('\n') + '\n')
      await handle.datasync()
    } finally {
      await handle.close()
    }
    const touched = new Set<string>()
    for (const id of ids) touched.add(this.#markAcked(id))
    for (const name of touched) await this.#deleteIfDone(name)
  }

  async retain (records: readonly StoredRecord[]): Promise<void> {
    await this.put(records.map((r) => r.envelope))
    await this.ack(records.map((r) => r.id))
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#whenIdle()
    await this.#closeSegment()
  }

  async #whenIdle (): Promise<void> {
    while (this.#draining !== undefined) await this.#draining
  }

  async #segments (): Promise<string[]> {
    try {
      return (await readdir(this.directory)).filter((n) => SEGMENT.test(n)).sort(bySegmentOrder)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }

  #markAcked (id: string): string {
    const at = id.lastIndexOf(':')
    const name = id.slice(0, at)
    let lines = this.#acked.get(name)
    if (lines === undefined) this.#acked.set(name, lines = new Set())
    lines.add(Number(id.slice(at + 1)))
    return name
  }

  async #loadAckLog (): Promise<void> {
    if (this.#ackLogLoaded) return
    let text = ''
    try {
      text = await readFile(join(this.directory, ACK_LOG), 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const id of text.split('\n')) if (id.includes(':')) this.#markAcked(id)
    this.#ackLogLoaded = true
  }

  /** Deletes a segment once every line read from it is acked, then drops its ids from the ack log. */
  async #deleteIfDone (name: string): Promise<void> {
    const lines = this.#lineCounts.get(name)
    const acked = this.#acked.get(name)
    if (lines === undefined || acked === undefined || acked.size < lines || name === this.#segment?.name) return
    await unlink(join(this.directory, name)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
    this.#acked.delete(name)
    this.#lineCounts.delete(name)
    await this.#rewriteAckLog()
  }

  async #rewriteAckLog (): Promise<void> {
    const ids: string[] = []
    for (const [name, lines] of this.#acked) for (const line of lines) ids.push(`${name}:${line}`)
    const temp = join(this.directory, `${ACK_LOG}.tmp`)
    const handle = await open(temp, 'w')
    try {
      await handle.write(ids.length > 0 ? ids.join('\n') + '\n' : '')
      await handle.datasync()
    } finally {
      await handle.close()
    }
    await rename(temp, join(this.directory, ACK_LOG))
  }
}

function parseLine (text: string): FailoverEnvelope | undefined {
  try {
    const value = JSON.parse(text) as FailoverEnvelope
    return value !== null && typeof value === 'object' && 'record' in value ? value : undefined
  } catch {
    return undefined
  }
}

/** Segments sort by creation time, then writer pid, then sequence. */
function bySegmentOrder (a: string, b: string): number {
  const pa = a.split(/[-.]/).slice(1, 4).map(Number)
  const pb = b.split(/[-.]/).slice(1, 4).map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!
  return 0
}
