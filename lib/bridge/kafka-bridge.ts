import { EventEmitter } from 'node:events'
import { Kafka, logLevel, type Consumer, type EachBatchPayload } from 'kafkajs'
import { createHttpWritable, type HttpWritable } from '../sink/http-writable.js'
import { resolveOptions } from '../sink/options.js'
import type { EngineStats } from '../sink/delivery-engine.js'
import { resolveBridgeOptions, valueDecoder, type KafkaBridgeOptions, type ResolvedBridgeOptions } from './options.js'
import { ConsumedOffsets, type PartitionLag } from './consumed-offsets.js'
import { delayedRoundRobin } from '../shared/leader-delay.js'
import { RecordCoordinates } from './record-coordinates.js'

export interface BridgeStats extends EngineStats {
  /** Messages taken from Kafka (tombstones included: they are skipped, not written). */
  consumed: number
  /** Offset commits that succeeded. */
  commits: number
  /** Commits refused by the group (a rebalance under way); the next one covers them. */
  commitsFailed: number
  /** The partitions assigned to this member: high watermark, position, committed offset and lag. */
  partitions: PartitionLag[]
}

type Offsets = Array<{ topic: string, partition: number, offset: string }>

/**
 * Kafka topics → createHttpWritable, scaled out by consumer group. A partition's offset is
 * committed only past messages the writable has delivered or durably stored in failover: each
 * commit snapshots the offsets handed to the writable, waits for its flush() barrier (records
 * written after the snapshot do not delay it, and consumption goes on meanwhile), then commits the
 * snapshot. A full writable pauses consumption (eachBatch waits for 'drain', heartbeating), so
 * memory is bounded by queueCapacity plus one fetch, whatever the lag.
 */
export class KafkaBridge extends EventEmitter {
  readonly sink: HttpWritable
  readonly #o: ResolvedBridgeOptions
  readonly #consumer: Consumer
  readonly #offsets = new ConsumedOffsets()
  readonly #decode: (buf: Buffer | null) => unknown
  /** Hands a record to the writable; with `idempotencyKey: true` it first notes the record's coordinates (chosen once). */
  readonly #write: (record: unknown, topic: string, partition: number, offset: string) => boolean
  readonly #coordinates: RecordCoordinates | undefined
  #consumed = 0
  #commits = 0
  #commitsFailed = 0
  #timer: NodeJS.Timeout | undefined
  #committing: Promise<void> = Promise.resolve()
  /** Commits queued or waiting for their barrier: the timer skips its tick rather than queue another. */
  #pending = 0
  #stopping = false
  #running = false
  #stopped: Promise<BridgeStats> | undefined

  constructor (options: KafkaBridgeOptions) {
    super()
    this.#o = resolveBridgeOptions(options)
    this.#decode = valueDecoder(this.#o.value)
    // Batched requests (a batch option, or a batch encoding such as ndjson) are rebuilt from their
    // bodies: their records are found by content.
    const coordinates = this.#o.writable.idempotencyKey === true ? new RecordCoordinates(resolveOptions(this.#o.writable).batch !== undefined) : undefined
    this.#coordinates = coordinates
    this.sink = createHttpWritable(coordinates === undefined ? this.#o.writable : { ...this.#o.writable, idempotencyKey: (records) => coordinates.key(records) })
    const sink = this.sink
    this.#write = coordinates === undefined
      ? (record) => sink.write(record)
      : (record, topic, partition, offset) => {
          coordinates.note(record, topic, partition, offset)
          return sink.write(record)
        }
    this.sink.on('error', (err) => this.emit('error', err))
    const kafka = new Kafka({ clientId: this.#o.clientId, brokers: this.#o.brokers, logLevel: logLevel.NOTHING })
    this.#consumer = kafka.consumer({
      groupId: this.#o.groupId,
      sessionTimeout: this.#o.sessionTimeout,
      rebalanceTimeout: this.#o.sessionTimeout,
      heartbeatInterval: Math.max(300, Math.floor(this.#o.sessionTimeout / 10)),
      maxWaitTimeInMs: 250,
      partitionAssigners: [delayedRoundRobin(300)]
    })
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, (event) => {
      this.#offsets.keepOnly(event.payload.memberAssignment)
      this.#coordinates?.keepOnly(event.payload.memberAssignment)
      // The partitions we keep: kafkajs would restart them from the last commit, but what we took
      // since is in the writable (delivered or stored later, committed by us): go on after it.
      for (const kept of this.#offsets.snapshot()) this.#consumer.seek(kept)
      this.emit('assigned', event.payload.memberAssignment)
    })
    this.#consumer.on(this.#consumer.events.CRASH, (event) => {
      if (event.payload.restart) return
      this.#running = false
      this.emit('error', event.payload.error)
    })
    this.#consumer.on(this.#consumer.events.STOP, () => { this.#running = false })
  }

  /** Joins the group and starts consuming; resolves once consumption runs. */
  async start (): Promise<void> {
    await this.#consumer.connect()
    for (const topic of this.#o.topics) await this.#consumer.subscribe({ topic, fromBeginning: this.#o.fromBeginning })
    this.#running = true
    await this.#consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async (payload) => await this.#onBatch(payload) })
    this.#timer = setInterval(() => { if (this.#pending === 0) void this.commit() }, this.#o.commitIntervalMs)
    this.#timer.unref()
  }

  stats (): BridgeStats {
    return { ...this.sink.stats(), consumed: this.#consumed, commits: this.#commits, commitsFailed: this.#commitsFailed, partitions: this.#offsets.lag() }
  }

  /**
   * Commits what has settled: the offsets handed to the writable before the call, once its flush()
   * resolves (bounded by settleTimeoutMs: past it nothing is committed this time). One at a time.
   */
  commit (): Promise<void> {
    this.#pending++
    this.#committing = this.#committing.then(async () => await this.#commitSettled(this.#o.settleTimeoutMs)).finally(() => { this.#pending-- })
    return this.#committing
  }

  async #commitSettled (boundMs: number): Promise<void> {
    const snapshot = this.#offsets.snapshot()
    if (snapshot.length === 0) return
    if (!await this.#settled(boundMs)) return
    await this.#commitOffsets(this.#stillOurs(snapshot))
  }

  /** Only the partitions still assigned (a revoked one may already be committed further by its new owner). */
  #stillOurs (snapshot: Offsets): Offsets {
    const now = new Set(this.#offsets.snapshot().map((e) => `${e.topic}\0${e.partition}`))
    return snapshot.filter((e) => now.has(`${e.topic}\0${e.partition}`))
  }

  async #settled (boundMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), boundMs) })
    try {
      return await Promise.race([this.sink.flush().then(() => true, () => false), late])
    } finally {
      clearTimeout(timer)
    }
  }

  async #commitOffsets (offsets: Offsets): Promise<void> {
    if (offsets.length === 0) return
    // kafkajs silently skips the commits of a consumer that is not running: count them as refused.
    if (!this.#running) {
      this.#commitsFailed++
      return
    }
    try {
      await this.#consumer.commitOffsets(offsets)
      this.#offsets.committed(offsets)
      this.#coordinates?.committed(offsets)
      this.#commits++
      this.emit('commit', offsets)
    } catch (err) {
      this.#commitsFailed++
      this.emit('commitFailed', err)
    }
  }

  async #onBatch ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    this.#offsets.fetched(batch.topic, batch.partition, batch.firstOffset() ?? batch.highWatermark, batch.highWatermark)
    for (const message of batch.messages) {
      if (this.#stopping || !isRunning() || isStale()) return
      const record = this.#decode(message.value)
      this.#consumed++
      const more = record === undefined || this.#write(record, batch.topic, batch.partition, message.offset)
      this.#offsets.note(batch.topic, batch.partition, message.offset)
      resolveOffset(message.offset)
      if (!more) await this.#room(heartbeat)
    }
  }

  /** Waits for the writable's 'drain' (the consumer takes nothing meanwhile), heartbeating. */
  async #room (heartbeat: () => Promise<void>): Promise<void> {
    const beat = Math.max(300, Math.floor(this.#o.sessionTimeout / 10))
    let drained = false
    let wake = (): void => {}
    const done = (): void => { drained = true; wake() }
    this.sink.once('drain', done)
    this.sink.once('close', done)
    try {
      while (!drained && !this.#stopping) {
        const timer = setTimeout(() => wake(), beat)
        await new Promise<void>((resolve) => { wake = resolve })
        clearTimeout(timer)
        await this.#heartbeat(heartbeat)
      }
    } finally {
      this.sink.off('drain', done)
      this.sink.off('close', done)
    }
  }

  /** A heartbeat refused because the group rebalances: settle and commit what we hold first, then let kafkajs rejoin. */
  async #heartbeat (heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat()
    } catch (err) {
      await this.commit()
      throw err
    }
  }

  /**
   * Stops taking messages, waits up to settleTimeoutMs for everything inside to be delivered (then
   * stores the rest in failover), commits, and leaves the group. `signal` cuts the wait short.
   */
  stop (options: { signal?: AbortSignal } = {}): Promise<BridgeStats> {
    this.#stopped ??= this.#stop(options.signal)
    return this.#stopped
  }

  async #stop (signal: AbortSignal | undefined): Promise<BridgeStats> {
    this.#stopping = true
    clearInterval(this.#timer)
    try {
      this.#consumer.pause(this.#o.topics.map((topic) => ({ topic })))
    } catch {
      // Never started (run() not reached): nothing to pause.
    }
    // Closing settles (or stores) everything, which also ends the barrier of a commit under way;
    // that commit lands before the final one, so an older offset never overwrites a newer.
    const closing = this.sink.close({ graceMs: this.#o.settleTimeoutMs, signal }).then(() => true, () => false)
    await this.#committing
    const closed = await closing
    // Everything handed to the writable is now delivered or stored (unless close failed: then keep the offsets uncommitted).
    if (closed) await this.#commitOffsets(this.#offsets.snapshot())
    await this.#consumer.disconnect()
    return this.stats()
  }
}

/** Kafka topics → HTTP, see KafkaBridge. Call `start()`, later `stop()`. */
export function createKafkaBridge (options: KafkaBridgeOptions): KafkaBridge {
  return new KafkaBridge(options)
}
