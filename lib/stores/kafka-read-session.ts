/**
 * One replay pass over a Kafka failover topic: a consumer in the store's group reads from the
 * committed offsets (or the beginning) up to the end offsets seen when the pass started, and yields
 * the envelopes in batches. The committed offset only moves past messages whose every envelope was
 * acked or retained (lowest first), and each commit carries, in its metadata, the offsets above it
 * that are already settled: a pass interrupted with gaps (a retain that failed, a crash) is resumed
 * by the next pass without sending an acked message again.
 * The consumer stays in the group after the last batch until everything yielded is settled.
 * Nothing is yielded before the session holds the group's replay claim (kafka-group-claim.ts):
 * a second replay of the same group at once is refused with ERR_STORE_LOCKED.
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs'
import { StoreError, StoreLockedError, describeError } from '../errors.js'
import { GroupClaim } from './kafka-group-claim.js'
import type { FailoverEnvelope, StoredRecord } from './store.js'

export type MessageDecoder = (message: KafkaMessage) => FailoverEnvelope[]

interface Pending { offset: number, unsettled: number }
interface Offset { topic: string, partition: number, offset: string, metadata: string }

const MAX_RESTARTS = 3

/** Brokers cap commit metadata (offset.metadata.max.bytes, 4096 by default); offsets that do not fit are read again. */
const METADATA_BYTES = 3500

/** `settled:` then offsets above the committed one, as base-36 deltas. */
function encodeSettled (committed: number, offsets: number[]): string {
  let text = 'settled:'
  for (const o of offsets) {
    const part = `${(o - committed).toString(36)},`
    if (text.length + part.length > METADATA_BYTES) break
    text += part
  }
  return text
}

function decodeSettled (committed: number, metadata: string | null): Set<number> {
  const skip = new Set<number>()
  if (metadata?.startsWith('settled:') !== true) return skip
  for (const part of metadata.slice(8).split(',')) {
    const delta = parseInt(part, 36)
    if (Number.isSafeInteger(delta) && delta > 0) skip.add(committed + delta)
  }
  return skip
}

interface PartitionState {
  /** Next offset to take from this partition. */
  next: number
  /** The group's committed offset. */
  committed: number
  /** Offsets at or above `committed` settled by an earlier pass (from the commit metadata). */
  skip: Set<number>
  /** End offset when the pass started: later messages belong to the next pass. */
  end: number
  done: boolean
  /** Yielded messages not yet committed past, in offset order. */
  pending: Pending[]
  byOffset: Map<number, Pending>
}

export interface SessionOptions {
  /** The store's URI, for errors. */
  store: string
  kafka: Kafka
  topic: string
  groupId: string
  retries: number
  /** ms without a heartbeat before the group drops the consumer. */
  sessionTimeout: number
  decode: MessageDecoder
}

export class KafkaReadSession {
  readonly #o: SessionOptions
  readonly #partitions = new Map<number, PartitionState>()
  readonly #settled = new Set<string>()
  #queue: StoredRecord[] = []
  #consumer: Consumer | undefined
  #running = false
  #error: Error | undefined
  /** Resolvers of the reader waiting for messages, and of eachBatch waiting for the reader. */
  #wakeReader: (() => void) | undefined
  #wakeBatch: (() => void) | undefined
  #readerGone = false
  #commits: Promise<void> = Promise.resolve()
  #closed: Promise<void> | undefined
  #claim: GroupClaim | undefined
  /** Consumers started again after a crash before the claim was held (nothing yielded, nothing to lose). */
  #restarts = 0

  constructor (options: SessionOptions) {
    this.#o = options
  }

  /** Finds where to start; false when there is nothing to read (no consumer is started then). */
  async open (): Promise<boolean> {
    const { kafka, topic, groupId } = this.#o
    const admin = kafka.admin()
    let ends: Array<{ partition: number, low: string, high: string }> = []
    await admin.connect()
    try {
      const topics = await admin.listTopics()
      if (!topics.includes(topic)) return false
      ends = await admin.fetchTopicOffsets(topic)
      const committed = new Map<number, { offset: number, metadata: string | null }>()
      for (const t of await admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const p of t.partitions) committed.set(p.partition, { offset: Number(p.offset), metadata: p.metadata })
      }
      for (const e of ends) {
        const end = Number(e.high)
        const last = committed.get(e.partition)
        const next = Math.max(Number(e.low), last?.offset ?? -1)
        const skip = next === last?.offset ? decodeSettled(next, last.metadata) : new Set<number>()
        if (next < end) this.#partitions.set(e.partition, { next, committed: next, skip, end, done: false, pending: [], byOffset: new Map() })
      }
    } finally {
      await admin.disconnect()
    }
    if (this.#partitions.size === 0) return false
    this.#claim = new GroupClaim({
      store: this.#o.store,
      topic,
      partitions: ends.map((e) => e.partition),
      waitMs: Math.max(30_000, 3 * this.#o.sessionTimeout),
      refuse: (err) => this.#fail(err),
      granted: () => this.#signal()
    })
    await this.#startConsumer()
    return true
  }

  async #startConsumer (): Promise<void> {
    const { kafka, topic, groupId, retries, sessionTimeout } = this.#o
    const consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      sessionTimeout,
      rebalanceTimeout: sessionTimeout,
      heartbeatInterval: this.#heartbeatMs,
      maxWaitTimeInMs: 250,
      retry: { retries, restartOnFailure: async () => false }
    })
    this.#consumer = consumer
    consumer.on(consumer.events.CRASH, (event) => {
      // A join that failed (a broker mid-rebalance) before this replay yielded anything: join again.
      if (event.payload.restart || this.#closed !== undefined) return
      if (this.#claim?.held === false && this.#error === undefined && this.#restarts++ < MAX_RESTARTS) {
        setTimeout(() => { if (this.#closed === undefined) this.#startConsumer().catch((err: unknown) => this.#fail(err)) }, 500)
        return
      }
      this.#fail(event.payload.error)
    })
    consumer.on(consumer.events.STOP, () => { this.#running = false })
    consumer.on(consumer.events.GROUP_JOIN, (event) => this.#claim?.joined(event.payload))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    this.#running = true
    consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.#onBatch(payload) })
      .catch((err: unknown) => this.#fail(err))
  }

  async #onBatch ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const state = this.#partitions.get(batch.partition)
    if (state === undefined || state.done) {
      this.#consumer?.pause([{ topic: this.#o.topic, partitions: [batch.partition] }])
      return
    }
    for (const message of batch.messages) {
      const offset = Number(message.offset)
      if (offset < state.next) continue
      if (offset >= state.end) break
      state.next = offset + 1
      const envelopes = state.skip.has(offset) ? [] : this.#o.decode(message)
      const pending: Pending = { offset, unsettled: envelopes.length }
      state.pending.push(pending)
      state.byOffset.set(offset, pending)
      envelopes.forEach((envelope, i) => this.#queue.push({ id: `${batch.partition}:${offset}:${i}`, envelope }))
    }
    resolveOffset(batch.lastOffset())
    if (state.next >= state.end) {
      state.done = true
      this.#consumer?.pause([{ topic: this.#o.topic, partitions: [batch.partition] }])
    }
    this.#signal()
    // Hold the batch until the reader took it all, heartbeating so the group keeps us.
    while (this.#queue.length > 0 && !this.#readerGone && this.#error === undefined && isRunning() && !isStale()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#heartbeatMs)
        this.#wakeBatch = () => { clearTimeout(timer); resolve() }
      })
      if (isRunning() && !isStale()) await heartbeat()
    }
  }

  get #heartbeatMs (): number {
    return Math.max(300, Math.floor(this.#o.sessionTimeout / 10))
  }

  #signal (): void {
    const reader = this.#wakeReader
    const batch = this.#wakeBatch
    this.#wakeReader = this.#wakeBatch = undefined
    reader?.()
    batch?.()
  }

  #fail (err: unknown): void {
    this.#error ??= err instanceof StoreLockedError ? err : new StoreError(`kafka replay consumer failed: ${describeError(err)}`, { cause: err })
    this.#running = false
    this.#signal()
  }

  get #allDone (): boolean {
    for (const state of this.#partitions.values()) if (!state.done) return false
    return true
  }

  async * batches (batchSize: number): AsyncGenerator<StoredRecord[]> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error
        const claimed = this.#claim?.held === true
        if (claimed && this.#queue.length > 0) {
          yield this.#queue.splice(0, batchSize)
          continue
        }
        if (claimed && this.#allDone) return
        this.#signal()
        await new Promise<void>((resolve) => { this.#wakeReader = resolve })
      }
    } finally {
      this.#readerGone = true
      this.#signal()
      if (this.#unsettled() === 0 || this.#error !== undefined) await this.close()
    }
  }

  owns (id: string): boolean {
    const [p, o] = id.split(':')
    return this.#partitions.get(Number(p))?.byOffset.has(Number(o)) === true
  }

  /** Marks ids acked or retained and commits past every message now fully settled. */
  settle (ids: readonly string[]): Promise<void> {
    const touched = new Set<number>()
    for (const id of ids) {
      if (this.#settled.has(id)) continue
      const [p, o] = id.split(':').map(Number) as [number, number]
      const pending = this.#partitions.get(p)?.byOffset.get(o)
      if (pending === undefined) throw new StoreError(`kafka store: id ${JSON.stringify(id)} was not yielded by the current read`)
      this.#settled.add(id)
      pending.unsettled--
      touched.add(p)
    }
    const commits: Offset[] = []
    for (const p of touched) {
      const state = this.#partitions.get(p)!
      while (state.pending.length > 0 && state.pending[0]!.unsettled <= 0) {
        const done = state.pending.shift()!
        state.byOffset.delete(done.offset)
        state.committed = done.offset + 1
      }
      // Settled above the committed offset: this pass's, and an earlier pass's not reached yet.
      const above = state.pending.filter((m) => m.unsettled <= 0).map((m) => m.offset)
      for (const o of state.skip) if (o >= state.next) above.push(o)
      commits.push({ topic: this.#o.topic, partition: p, offset: String(state.committed), metadata: encodeSettled(state.committed, above) })
    }
    if (commits.length === 0) return Promise.resolve()
    const commit = this.#commits.then(() => this.#commit(commits))
    this.#commits = commit.catch(() => {})
    return commit.then(() => this.#closeIfSettled())
  }

  async #commit (offsets: Offset[]): Promise<void> {
    const consumer = this.#consumer
    // kafkajs silently skips commits of a consumer that is not running: refuse instead.
    if (consumer === undefined || !this.#running) throw this.#error ?? new StoreError('kafka store: the replay consumer is gone; offsets not committed')
    await consumer.commitOffsets(offsets)
    if (!this.#running) throw this.#error ?? new StoreError('kafka store: the replay consumer stopped while committing')
  }

  #unsettled (): number {
    let n = 0
    for (const state of this.#partitions.values()) for (const m of state.pending) if (m.unsettled > 0) n++
    return n
  }

  async #closeIfSettled (): Promise<void> {
    if (this.#readerGone && this.#unsettled() === 0) await this.close()
  }

  close (): Promise<void> {
    this.#closed ??= (async () => {
      this.#claim?.stop()
      this.#readerGone = true
      this.#signal()
      await this.#commits
      await this.#consumer?.disconnect().catch(() => {})
      this.#running = false
    })()
    return this.#closed
  }
}
