import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import { HttpStreamClient, type FetchedRecord, type PartitionOffset, type Subscription } from './http-stream-client.js'
import { resolveReadableOptions, type HttpReadableOptions, type ResolvedReadableOptions } from './readable-options.js'
import { CLIENT_PROPERTIES, type HttpStreamClientOptions } from './client-options.js'
import { PositionLostError } from './position-lost-error.js'
import { StreamServerError } from './stream-server-error.js'
import { ReconnectClock, gaveUp, isInstanceGone, isInstanceTaken, isNoAnswer, isTransient } from './reconnect.js'

export type { HttpReadableOptions, ReadFrom } from './readable-options.js'

/** ms the best-effort delete of an instance whose create was cut short may take on destroy. */
const BLIND_DELETE_MS = 1000

/** What `'reconnect'` listeners get before each wait. */
export interface ReconnectEvent {
  /** 1 for the first retry of a run of failures. */
  attempt: number
  delayMs: number
  error: Error
  /** The server node the next attempt goes to (another of `urls` when this one gave no answer). */
  url: string
}

/** The events of an HttpReadable and what their listeners receive. */
export interface HttpReadableEvents {
  /** The server could not be reached (or lost the consumer instance): the reader waits and tries again. */
  reconnect: [event: ReconnectEvent]
  data: [record: unknown]
  error: [err: Error]
  end: []
  close: []
  pause: []
  resume: []
  readable: []
}

/** Typed listeners for the events above; other names keep EventEmitter's untyped (`any`) form. */
export interface HttpReadable {
  on: (<E extends keyof HttpReadableEvents>(event: E, listener: (...args: HttpReadableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
  once: (<E extends keyof HttpReadableEvents>(event: E, listener: (...args: HttpReadableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
  off: (<E extends keyof HttpReadableEvents>(event: E, listener: (...args: HttpReadableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
}

/**
 * An object-mode Readable over a stream server's consumer API (ours or any Kafka REST Proxy v2).
 * It fetches only when the consumer asks for more (no fetch while its buffer is full), commits the
 * offsets of records the consumer has taken, and deletes its consumer instance on destroy. A reader
 * restarted in the same group resumes where the last commit left it: no gap, and at most the records
 * taken after the last commit are read again.
 *
 * A server that cannot be reached or answers 408/429/5xx is retried with jittered backoff for
 * `reconnectMs`; a consumer instance the server lost (40403, e.g. after a restart) is created again
 * and the reader resumes from the group's committed offsets, skipping records it had already pushed.
 * A server that lost the topic or the group's offsets ends the stream with PositionLostError.
 * With `urls` (several server nodes on one Kafka cluster), a node that gives no answer is left for
 * the next: the reader creates its instance there and resumes from the committed offsets (no gap;
 * the records taken after the last commit may reach another reader of the group again).
 */
export class HttpReadable extends Readable {
  /** One client per server node (`url`, then `urls`); the reader uses one at a time. */
  private readonly clients: HttpStreamClient[]
  private node = 0
  private readonly o: ResolvedReadableOptions
  private readonly instanceName: string
  private sub: Subscription | undefined
  /** True once an instance was made: a later one is a recovery, checked against what the reader knows. */
  private opened = false
  /** True while a create is in flight or was cut short: its instance may exist though no answer came. */
  private createUnanswered = false
  /** Offsets of pushed records, in push order; the first (pushed − still buffered) were taken. */
  private pushed: PartitionOffset[] = []
  private readonly taken = new Map<string, PartitionOffset>()
  private readonly committedUpTo = new Map<string, number>()
  /** Per partition, the offset after the last record pushed: anything below it was pushed already. */
  private readonly nextOffset = new Map<string, number>()
  private reading = false
  private wanted = false
  private readonly abort = new AbortController()
  private readonly clock: ReconnectClock
  private redelivered = 0
  private nullValues = 0

  constructor (url: string, options: HttpReadableOptions) {
    // Everything is checked before super(): a Readable schedules _construct as soon as it exists.
    const o = resolveReadableOptions(options)
    const first = new HttpStreamClient(url, clientOptions(options))
    const others = o.urls.filter((u, i) => u !== first.url && o.urls.indexOf(u) === i)
    const clients = [first, ...others.map(u => new HttpStreamClient(u, clientOptions(options)))]
    super({ objectMode: true, highWaterMark: o.highWaterMark })
    this.o = o
    this.clients = clients
    this.instanceName = o.instanceId ?? `http-stream-${randomUUID()}`
    this.clock = new ReconnectClock(o.reconnectMs)
  }

  /** The client of the server node the reader uses now. */
  get client (): HttpStreamClient {
    return this.clients[this.node] as HttpStreamClient
  }

  /** Records a re-created instance delivered again that this reader had pushed already (not pushed twice). */
  get skipped (): number {
    return this.redelivered
  }

  /**
   * Records whose value was null (a tombstone) read without `withMetadata`: a Readable ends at a
   * pushed null, so these are passed over (withMetadata emits them as records).
   */
  get nullsSkipped (): number {
    return this.nullValues
  }

  /** The consumer instance, once created. */
  get subscription (): Subscription | undefined {
    return this.sub
  }

  /** Commits the offsets of every record the consumer has taken so far (what autoCommit does). */
  async commit (): Promise<void> {
    await this.commitTaken(this.abort.signal)
  }

  /** Aborts what is in flight at once (quietly: destroy() without an error emits none). */
  override destroy (error?: Error): this {
    this.abort.abort()
    return super.destroy(error)
  }

  override _construct (callback: (error?: Error | null) => void): void {
    this.retrying(() => this.open()).then(() => callback(), (err: Error) => callback(this.abort.signal.aborted ? null : err))
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
    const cleanup = async (): Promise<void> => {
      // Not under the aborted signal: the last commit and the delete are best-effort, after the abort.
      if (this.o.autoCommit) await this.commitTaken(undefined).catch(() => {})
      if (this.sub !== undefined) await this.client.unsubscribe(this.sub).catch(() => {})
      // A create cut short may have made the instance: delete it by name (only a name this reader
      // chose), waiting little, since a server that did not answer the create may not answer this.
      else if (this.createUnanswered && this.o.instanceId === undefined) {
        await this.client.unsubscribe(this.ownInstance(), { signal: AbortSignal.timeout(BLIND_DELETE_MS) }).catch(() => {})
      }
      await Promise.all(this.clients.map(async c => { await c.close().catch(() => {}) }))
    }
    cleanup().then(() => callback(error), () => callback(error))
  }

  /** Runs `attempt` until it succeeds, retrying transient failures for `reconnectMs`; emits 'reconnect'. */
  private async retrying<T> (attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const value = await attempt()
        this.clock.reset()
        return value
      } catch (err) {
        if (this.abort.signal.aborted) throw err
        if (isInstanceGone(err)) this.sub = undefined
        else if (!isTransient(err)) throw err
        if (this.clients.length > 1 && isNoAnswer(err)) this.nextNode()
        const wait = this.clock.next()
        if (wait === undefined) throw gaveUp(err, this.o.reconnectMs, this.clock.attempts)
        this.emit('reconnect', { attempt: this.clock.attempts, delayMs: wait, error: err as Error, url: this.client.url } satisfies ReconnectEvent)
        await delay(wait, undefined, { signal: this.abort.signal }).catch(() => {})
      }
    }
  }

  /**
   * Moves to the next server node: the instance lived on the node that gave no answer, so the next
   * attempt creates one on the next node, which resumes from the group's committed offsets.
   */
  private nextNode (): void {
    const [old, sub] = [this.client, this.sub]
    this.node = (this.node + 1) % this.clients.length
    this.sub = undefined
    // A node that is only slow or cut off keeps the instance (and its partitions) until it expires: ask it to let go.
    if (sub !== undefined) void old.unsubscribe(sub, { signal: AbortSignal.timeout(BLIND_DELETE_MS) }).catch(() => {})
  }

  /**
   * Creates the consumer instance and subscribes it. A recovery (the reader had read before) checks
   * that the server still knows where the group was; an instance that fails its checks or its seek is
   * deleted, and is never committed to.
   */
  private async open (): Promise<void> {
    const signal = this.abort.signal
    const recovering = this.opened && this.nextOffset.size > 0
    if (recovering) await this.checkTopic()
    this.createUnanswered = true
    const sub = await this.create()
    try {
      if (recovering) await this.checkCommitted(sub)
      else if (!this.opened && typeof this.o.from === 'object') await this.seekUncommitted(sub, this.o.from)
    } catch (err) {
      if (!signal.aborted) {
        this.createUnanswered = false
        await this.client.unsubscribe(sub, { signal }).catch(() => {})
      }
      throw err
    }
    this.createUnanswered = false
    this.sub = sub
    this.opened = true
  }

  private async create (): Promise<Subscription> {
    const signal = this.abort.signal
    const from = this.o.from === 'latest' ? 'latest' : 'earliest'
    const subscribe = async (): Promise<Subscription> => await this.client.subscribe(this.o.topic, { groupId: this.o.groupId, instanceId: this.instanceName, from, autoCommit: false, signal })
    try {
      return await subscribe()
    } catch (err) {
      // An answer means no instance is left over (subscribe deletes one it could not subscribe).
      if (err instanceof StreamServerError && err.status !== null) this.createUnanswered = false
      // A create whose answer was lost may have made our instance: ours alone when the reader named it.
      if (!isInstanceTaken(err) || this.o.instanceId !== undefined) throw err
      await this.client.unsubscribe(this.ownInstance(), { signal }).catch(() => {})
      this.createUnanswered = true
      return await subscribe()
    }
  }

  /** The instance this reader creates, for deleting it when its create may have been cut short. */
  private ownInstance (): Subscription {
    const base = `${this.client.url}/consumers/${encodeURIComponent(this.o.groupId)}/instances/${encodeURIComponent(this.instanceName)}`
    return { groupId: this.o.groupId, instanceId: this.instanceName, baseUri: base, topics: [this.o.topic] }
  }

  private async checkTopic (): Promise<void> {
    let info
    try {
      info = await this.client.topic(this.o.topic, { signal: this.abort.signal })
    } catch (err) {
      if (err instanceof StreamServerError && err.status === 501) return // the receiver cannot describe topics
      throw err
    }
    if (info === null) throw new PositionLostError('topic-gone', { topic: this.o.topic })
  }

  /** Every partition the reader committed must be committed at least as far on the server. */
  private async checkCommitted (sub: Subscription): Promise<void> {
    const refs = [...this.committedUpTo.keys()].map(splitKey)
    if (refs.length === 0) return
    const server = await this.client.committed(sub, refs, { signal: this.abort.signal })
    for (const ref of refs) {
      const mine = (this.committedUpTo.get(key(ref)) as number) + 1
      const theirs = server.find(s => s.topic === ref.topic && s.partition === ref.partition)?.offset
      if (theirs === undefined || theirs < mine) throw new PositionLostError('offsets-lost', { ...ref, committed: mine, serverCommitted: theirs })
    }
  }

  /** `{ offset }` / `{ timestamp }` apply to partitions the group has not committed (a restart resumes instead). */
  private async seekUncommitted (sub: Subscription, from: { timestamp: number | string | Date } | { offset: number }): Promise<void> {
    const signal = this.abort.signal
    const info = await this.client.topic(this.o.topic, { signal })
    const refs = (info?.partitions ?? [{ partition: 0 }]).map(p => ({ topic: this.o.topic, partition: p.partition }))
    const committed = new Set((await this.client.committed(sub, refs, { signal })).map(c => c.partition))
    const fresh = refs.filter(r => !committed.has(r.partition))
    if (fresh.length === 0) return
    if ('offset' in from) await this.client.seek(sub, fresh.map(r => ({ ...r, offset: from.offset })), { signal })
    else await this.client.seekToTimestamp(sub, fresh, new Date(from.timestamp).getTime(), { signal })
  }

  private async pump (): Promise<void> {
    while (!this.destroyed) {
      const records = await this.retrying(() => this.nextBatch())
      if (this.destroyed) return
      let fresh = 0
      for (const r of records) {
        const k = key(r)
        // A re-created instance resumes at the committed offset: what was pushed since is skipped.
        if (r.offset < (this.nextOffset.get(k) ?? 0)) {
          this.redelivered++
          continue
        }
        this.nextOffset.set(k, r.offset + 1)
        const shaped = this.shape(r)
        if (shaped === null) {
          this.nullValues++
          continue
        }
        this.pushed.push({ topic: r.topic, partition: r.partition, offset: r.offset })
        this.push(shaped)
        fresh++
      }
      if (fresh > 0) return
      if (this.o.pollTimeout < 50) await delay(50)
    }
  }

  /** One fetch (re-creating the instance first when it was lost), after committing what was taken. */
  private async nextBatch (): Promise<FetchedRecord[]> {
    if (this.sub === undefined) await this.open()
    if (this.o.autoCommit) await this.commitTolerant()
    return await this.client.fetch(this.sub as Subscription, { timeout: this.o.pollTimeout, maxBytes: this.o.maxBytes, signal: this.abort.signal })
  }

  /** A commit that fails transiently (a rebalance, a restarting server) is only delayed to the next fetch. */
  private async commitTolerant (): Promise<void> {
    try {
      await this.commit()
    } catch (err) {
      if (!isTransient(err)) throw err
    }
  }

  /** Commits what the consumer took (the pushed records no longer buffered) and the server was not told. */
  private async commitTaken (signal: AbortSignal | undefined): Promise<void> {
    const n = this.pushed.length - this.readableLength
    for (const p of this.pushed.splice(0, Math.max(0, n))) this.taken.set(key(p), p)
    const due = [...this.taken.values()].filter(p => (this.committedUpTo.get(key(p)) ?? -1) < p.offset)
    if (due.length === 0 || this.sub === undefined) return
    await this.client.commit(this.sub, due, { signal })
    for (const p of due) this.committedUpTo.set(key(p), p.offset)
  }

  private shape (r: FetchedRecord): unknown {
    if (this.o.withMetadata) return r
    if (!this.o.includeTimestamp) return r.value
    const ts = r.timestamp ?? null
    const v = r.value
    // A binary value (a Buffer) is kept whole under `value`, as arrays and scalars are.
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)) return { ...v, [this.o.timestampField]: ts }
    return { value: v, [this.o.timestampField]: ts }
  }
}

function key (p: { topic: string, partition: number }): string {
  return `${p.topic}:${p.partition}`
}

function splitKey (k: string): { topic: string, partition: number } {
  const i = k.lastIndexOf(':')
  return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)) }
}

/** The options the client takes, out of the reader's (already validated). */
function clientOptions (o: HttpReadableOptions): HttpStreamClientOptions {
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(CLIENT_PROPERTIES)) if ((o as unknown as Record<string, unknown>)[k] !== undefined) out[k] = (o as unknown as Record<string, unknown>)[k]
  return out as HttpStreamClientOptions
}

/** Creates an HttpReadable; see HttpReadableOptions. */
export function createHttpReadable (url: string, options: HttpReadableOptions): HttpReadable {
  return new HttpReadable(url, options)
}
