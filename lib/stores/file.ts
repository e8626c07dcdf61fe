import { EventEmitter } from 'node:events'
import { createReadStream } from 'node:fs'
import { mkdir, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { StoreError } from '../errors.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { encodeEnvelopeLine } from './envelope-line.js'
import { mayBeAlive } from './file-owner.js'
import { ReplayLock, replayLockedSince } from './file-replay-lock.js'
import { listSegments, openSegmentName, sealSegment } from './file-segments.js'

const SEGMENT_BYTES = 64 * 1024 * 1024
const ACK_LOG = 'acked.log'

interface PendingWrite { text: string, resolve: () => void, reject: (err: Error) => void }
interface Segment { name: string, handle: FileHandle, bytes: number, createdAt: number }

/**
 * The embedded default store (`file:./dir`). Envelopes are appended as NDJSON lines to segment
 * files; `put` resolves only after fdatasync, and concurrent puts share one write and one sync
 * (group commit). Each store object writes only its own segment, open and named after its writer
 * (pid and host, see file-segments.ts), and seals it when it rotates, fails, closes or sees a
 * replay waiting. `read()` holds the directory's replay lock (file-replay-lock.ts) until it ends:
 * a second replay is refused with StoreLockedError. It reads sealed segments only, and the open
 * segment of a writer that is gone (sealing it first); never the segment of a live writer.
 * Replay bookkeeping: acked ids (`segment:line`) go to `acked.log` (synced); a sealed segment whose
 * every line is acked is deleted. A torn or corrupt line (a crash mid-write) is skipped and
 * reported with a 'corrupt-line' event, never a crash.
 */
export class FileStore extends EventEmitter implements Store {
  readonly kind = 'file'
  readonly uri: string
  readonly directory: string
  /** Lines skipped by read() because they were torn or not JSON. */
  corruptLines = 0

  #ready: Promise<void> | undefined
  #segment: Segment | undefined
  /** The replay lock while read() runs. */
  #lock: ReplayLock | undefined
  #pending: PendingWrite[] = []
  /** The write loop while it runs; puts made meanwhile join its next round. */
  #draining: Promise<void> | undefined
  #closed = false
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
    if (this.#segment !== undefined && (this.#segment.bytes >= SEGMENT_BYTES || await this.#replayWaiting(this.#segment.createdAt))) await this.#closeSegment()
    const segment = this.#segment ?? await this.#startSegment()
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

  /** A replay started after this segment was: seal it, so the replay can take what is in it. */
  async #replayWaiting (createdAt: number): Promise<boolean> {
    if (this.#lock !== undefined) return false
    const since = await replayLockedSince(this.directory)
    return since !== undefined && since >= createdAt
  }

  async #startSegment (): Promise<Segment> {
    const createdAt = Date.now()
    const name = openSegmentName()
    const handle = await open(join(this.directory, name), 'wx')
    this.#segment = { name, handle, bytes: 0, createdAt }
    return this.#segment
  }

  /** Closes and seals this store's segment: from now on replay may read and delete it. */
  async #closeSegment (): Promise<void> {
    const segment = this.#segment
    this.#segment = undefined
    if (segment === undefined) return
    await segment.handle.close()
    await sealSegment(this.directory, segment.name)
  }

  /**
   * Yields the unacked envelopes of every sealed segment, and of open segments whose writer is gone.
   * Holds the replay lock from the first batch to the end (or close()); rejects with
   * StoreLockedError when another replay holds it, and with StoreError when the directory does not exist.
   */
  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    const batchSize = options.batchSize ?? 1000
    const lock = await ReplayLock.acquire(this.directory, this.uri)
    this.#lock = lock
    try {
      // Another replay may have acked since this object last looked.
      this.#acked.clear()
      this.#lineCounts.clear()
      this.#ackLogLoaded = false
      await this.#loadAckLog()
      // Later puts (retained records, new failures) go to a segment this pass does not read.
      await this.#whenIdle()
      await this.#closeSegment()
      // Writers seal their segments when they see the lock: look again until nothing new is sealed.
      const seen = new Set<string>()
      for (;;) {
        const fresh = (await this.#sealedSegments()).filter((name) => !seen.has(name))
        if (fresh.length === 0) break
        for (const name of fresh) {
          seen.add(name)
          yield * this.#readSegment(name, batchSize)
        }
      }
    } finally {
      this.#lock = undefined
      await lock.release()
    }
  }

  async * #readSegment (name: string, batchSize: number): AsyncIterable<StoredRecord[]> {
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
    await this.#lock?.release()
  }

  async #whenIdle (): Promise<void> {
    while (this.#draining !== undefined) await this.#draining
  }

  /** Sealed segments, oldest first, after sealing the open ones whose writer is gone. */
  async #sealedSegments (): Promise<string[]> {
    let listing = await listSegments(this.directory)
    const abandoned = listing.open.filter((segment) => !mayBeAlive(segment.owner))
    if (abandoned.length === 0) return listing.sealed
    for (const segment of abandoned) await sealSegment(this.directory, segment.name)
    listing = await listSegments(this.directory)
    return listing.sealed
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
