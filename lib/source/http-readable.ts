import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { InvalidOptionError } from '../errors.js'
import { HttpStreamClient, type FetchedRecord, type HttpStreamClientOptions, type PartitionOffset, type Subscription } from './http-stream-client.js'
import { StreamServerError } from './stream-server-error.js'

export type ReadFrom = 'earliest' | 'latest' | { timestamp: number | string | Date } | { offset: number }

export interface HttpReadableOptions extends HttpStreamClientOptions {
  topic: string
  /** Consumer group: readers of one group share the work and its committed offsets. Default `http-stream.<topic>`. */
  groupId?: string
  /** Where a group with no committed offset starts. Default 'earliest'. */
  from?: ReadFrom
  /** Bytes per fetch at most. Default 1 MiB. */
  maxBytes?: number
  /** ms the server may wait for records per fetch. Default 1000. */
  pollTimeout?: number
  /** Add the record's timestamp (epoch ms) to each value under `timestampField`. Default false. */
  includeTimestamp?: boolean
  /** Default '_TIMESTAMP_' (spark-http-stream's column name). */
  timestampField?: string
  /** Commit the offsets of records the consumer has taken, before each fetch and on destroy. Default true. */
  autoCommit?: boolean
  /** Emit `{ topic, partition, offset, key, value, timestamp }` instead of the bare value. Default false. */
  withMetadata?: boolean
  /** Records buffered before fetching stops. Default 1000. */
  highWaterMark?: number
  /** Consumer instance name. Default: chosen by the server. */
  instanceId?: string
}

/**
 * An object-mode Readable over a stream server's consumer API (ours or any Kafka REST Proxy v2).
 * It fetches only when the consumer asks for more (no fetch while its buffer is full), commits the
 * offsets of records the consumer has taken, and deletes its consumer instance on destroy. A reader
 * restarted in the same group resumes where the last commit left it: no gap, and at most the records
 * taken after the last commit are read again.
 */
export class HttpReadable extends Readable {
  readonly client: HttpStreamClient
  private readonly o: ResolvedReadableOptions
  private sub: Subscription | undefined
  /** Offsets of pushed records, in push order; the first (pushed − still buffered) were taken. */
  private pushed: PartitionOffset[] = []
  private readonly taken = new Map<string, PartitionOffset>()
  private readonly committedUpTo = new Map<string, number>()
  private reading = false
  private wanted = false
  private readonly abort = new AbortController()

  constructor (url: string, options: HttpReadableOptions) {
    // Everything is checked before super(): a Readable schedules _construct as soon as it exists.
    const o = resolveOptions(options)
    const client = new HttpStreamClient(url, options)
    super({ objectMode: true, highWaterMark: o.highWaterMark })
    this.o = o
    this.client = client
  }

  /** The consumer instance, once created. */
  get subscription (): Subscription | undefined {
    return this.sub
  }

  /** Commits the offsets of every record the consumer has taken so far (what autoCommit does). */
  async commit (): Promise<void> {
    const n = this.pushed.length - this.readableLength
    if (n > 0) {
      for (const p of this.pushed.splice(0, n)) this.taken.set(`${p.topic}:${p.partition}`, p)
    }
    const due = [...this.taken.values()].filter(p => (this.committedUpTo.get(`${p.topic}:${p.partition}`) ?? -1) < p.offset)
    if (due.length === 0 || this.sub === undefined) return
    await this.client.commit(this.sub, due)
    for (const p of due) this.committedUpTo.set(`${p.topic}:${p.partition}`, p.offset)
  }

  override _construct (callback: (error?: Error | null) => void): void {
    this.open().then(() => callback(), callback)
  }

  override _read (): void {
    // Node calls _read again while a fetch's records are being pushed; it will not call again until
    // something is pushed, so such a call is remembered and served once the current pump ends.
    if (this.reading) {
      this.wanted = true
      return
    }
    this.reading = true
    this.pump().then(() => {
      this.reading = false
      if (this.wanted && !this.destroyed) {
        this.wanted = false
        this._read()
      }
    }, (err: unknown) => {
      this.reading = false
      if (!this.destroyed) this.destroy(err as Error)
    })
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.abort.abort()
    const cleanup = async (): Promise<void> => {
      if (this.o.autoCommit) await this.commit().catch(() => {})
      if (this.sub !== undefined) await this.client.unsubscribe(this.sub).catch(() => {})
      await this.client.close().catch(() => {})
    }
    cleanup().then(() => callback(error), () => callback(error))
  }

  private async open (): Promise<void> {
    const from = this.o.from
    this.sub = await this.client.subscribe(this.o.topic, {
      groupId: this.o.groupId,
      instanceId: this.o.instanceId,
      from: from === 'latest' ? 'latest' : 'earliest',
      autoCommit: false
    })
    if (typeof from === 'object') await this.seekUncommitted(from)
  }

  /** `{ offset }` / `{ timestamp }` apply to partitions the group has not committed (a restart resumes instead). */
  private async seekUncommitted (from: { timestamp: number | string | Date } | { offset: number }): Promise<void> {
    const sub = this.sub as Subscription
    const info = await this.client.topic(this.o.topic)
    const refs = (info?.partitions ?? [{ partition: 0 }]).map(p => ({ topic: this.o.topic, partition: p.partition }))
    const committed = new Set((await this.client.committed(sub, refs)).map(c => c.partition))
    const fresh = refs.filter(r => !committed.has(r.partition))
    if (fresh.length === 0) return
    if ('offset' in from) await this.client.seek(sub, fresh.map(r => ({ ...r, offset: from.offset })))
    else await this.client.seekToTimestamp(sub, fresh, new Date(from.timestamp).getTime())
  }

  private async pump (): Promise<void> {
    while (!this.destroyed) {
      // Before every fetch: what the consumer took since the last one (no request when nothing).
      if (this.o.autoCommit) await this.commitTolerant()
      let records: FetchedRecord[]
      try {
        records = await this.client.fetch(this.sub as Subscription, { timeout: this.o.pollTimeout, maxBytes: this.o.maxBytes, signal: this.abort.signal })
      } catch (err) {
        if (this.destroyed) return
        if (err instanceof StreamServerError && err.errorCode === 40403) {
          await this.open()
          continue
        }
        throw err
      }
      if (this.destroyed) return
      if (records.length === 0) {
        if (this.o.pollTimeout < 50) await delay(50)
        continue
      }
      for (const r of records) {
        this.pushed.push({ topic: r.topic, partition: r.partition, offset: r.offset })
        this.push(this.shape(r))
      }
      return
    }
  }

  /** Commit failures (a rebalance, a restarting server) only delay the commit to the next fetch. */
  private async commitTolerant (): Promise<void> {
    try {
      await this.commit()
    } catch (err) {
      if (err instanceof StreamServerError && err.errorCode === 40403) await this.open()
      else if (!(err instanceof StreamServerError) || err.status === null || err.status < 500) throw err
    }
  }

  private shape (r: FetchedRecord): unknown {
    if (this.o.withMetadata) return r
    if (!this.o.includeTimestamp) return r.value
    const ts = r.timestamp ?? null
    const v = r.value
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return { ...v, [this.o.timestampField]: ts }
    return { value: v, [this.o.timestampField]: ts }
  }
}

type ResolvedReadableOptions = Required<Omit<HttpReadableOptions, keyof HttpStreamClientOptions | 'instanceId'>> & { instanceId?: string }

function resolveOptions (o: HttpReadableOptions): ResolvedReadableOptions {
  if (o === null || typeof o !== 'object') throw new InvalidOptionError('options', 'must be an object with at least { topic }')
  if (typeof o.topic !== 'string' || o.topic === '') throw new InvalidOptionError('topic', 'is required (a topic name)')
  checkFrom(o.from)
  for (const k of ['maxBytes', 'pollTimeout', 'highWaterMark'] as const) {
    const v = o[k]
    const min = k === 'pollTimeout' ? 0 : 1
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new InvalidOptionError(k, `must be an integer >= ${min}`)
  }
  return {
    topic: o.topic,
    groupId: o.groupId ?? `http-stream.${o.topic}`,
    from: o.from ?? 'earliest',
    maxBytes: o.maxBytes ?? 1024 * 1024,
    pollTimeout: o.pollTimeout ?? 1000,
    includeTimestamp: o.includeTimestamp ?? false,
    timestampField: o.timestampField ?? '_TIMESTAMP_',
    autoCommit: o.autoCommit ?? true,
    withMetadata: o.withMetadata ?? false,
    highWaterMark: o.highWaterMark ?? 1000,
    instanceId: o.instanceId
  }
}

function checkFrom (from: unknown): void {
  if (from === undefined || from === 'earliest' || from === 'latest') return
  if (from !== null && typeof from === 'object') {
    const f = from as Record<string, unknown>
    if ('offset' in f && Number.isSafeInteger(f.offset) && (f.offset as number) >= 0) return
    if ('timestamp' in f && !Number.isNaN(new Date(f.timestamp as string).getTime())) return
  }
  throw new InvalidOptionError('from', `must be 'earliest', 'latest', { timestamp } or { offset } (got ${JSON.stringify(from)})`)
}

/** Creates an HttpReadable; see HttpReadableOptions. */
export function createHttpReadable (url: string, options: HttpReadableOptions): HttpReadable {
  return new HttpReadable(url, options)
}
