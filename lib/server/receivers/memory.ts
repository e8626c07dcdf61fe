import { Ajv } from 'ajv'
import { InvalidOptionError } from '../../errors.js'
import { MemoryConsumer, MemoryGroup } from './memory-consumer.js'
import { MemoryTopic, type StoredRecord } from './memory-topic.js'
import { isValidTopicName } from '../names.js'
import type { BinaryPair, ClusterInfo, ConsumerOptions, LagEntry, ProducedOffset, ProduceRecord, Receiver, ReceiverConsumer, ReceiverOperation, ReceiverStats, TopicInfo } from './receiver.js'
import {
  InvalidSchemaError, MemoryBudgetFullError, PartitionNotFoundError, PayloadTooLargeError, ReceiverClosedError,
  ReceiverFullError, SchemaMismatchError, TopicLimitError, TopicNotFoundError
} from './receiver-errors.js'
import { jsonTextOf } from './record-bytes.js'

/** The cluster id the memory receiver reports (Kafka REST v3 `/clusters`). */
export const MEMORY_CLUSTER_ID = 'memory'

export interface MemoryReceiverOptions {
  /** Per topic: records and value bytes kept at most. Defaults 100000 and 64 MiB. */
  retention?: { records?: number, bytes?: number }
  /** At the limit: 'reject' answers 429 (default); 'drop-oldest' evicts, counting unconsumed records as dropped. */
  onFull?: 'reject' | 'drop-oldest'
  /** Memory budget of all topics together, in bytes (each record's JSON text + 128). Default 256 MiB. */
  maxBytes?: number
  /** Topics at most; creating one more answers 422 / 42220. Default 1000. */
  maxTopics?: number
  /** Create a topic at its first produce or subscribe. Default true. */
  autoCreateTopics?: boolean
  /** Topics that exist from the start. */
  topics?: string[]
  /** JSON Schemas per topic, set at start. */
  schemas?: Record<string, object>
}

/** What else may hold part of a memory receiver's budget. */
export interface BudgetSharer {
  readonly bytes: number
  /** Drops what it can spare until it holds at most `bytes`. */
  shrinkTo: (bytes: number) => void
}

export const MEMORY_DEFAULTS = { records: 100_000, bytes: 64 * 1024 * 1024, maxBytes: 256 * 1024 * 1024, maxTopics: 1000 }

/** Bytes charged per record beyond its text: the entry object, its slot and two string headers. */
export const RECORD_OVERHEAD = 128

/**
 * Topics in memory with retention by records and bytes, consumer groups with committed offsets, and
 * an optional JSON Schema per topic. Records every tracking group has committed are evicted first;
 * when the rest does not fit, producers get 429 (or, with 'drop-oldest', counted drops). Records are
 * kept as JSON text, and all topics together hold at most `maxBytes` of it (a server-wide budget,
 * answered like a full topic) in at most `maxTopics` topics.
 */
export class MemoryReceiver implements Receiver {
  readonly kind = 'memory'
  readonly operations: ReadonlySet<ReceiverOperation> = new Set<ReceiverOperation>(['produce', 'topics', 'schema', 'consume'])
  readonly topics = new Map<string, MemoryTopic>()
  /** Pattern subscribers, told of each topic made (kept empty, and so free, without them). */
  private readonly topicListeners = new Set<(topic: MemoryTopic) => void>()
  readonly groups = new Map<string, MemoryGroup>()
  /** Per topic: records and value bytes kept at most (`retention`). */
  readonly maxRecords: number
  readonly maxBytes: number
  /** All topics together: memory held at most (`maxBytes` option), and topics at most. */
  readonly budgetBytes: number
  readonly maxTopics: number
  readonly onFull: 'reject' | 'drop-oldest'
  readonly autoCreateTopics: boolean
  private readonly consumers = new Set<MemoryConsumer>()
  private held = 0
  /** Another holder of the budget (the server's Idempotency-Key table): counted, and shrunk before unread records go. */
  private sharer: BudgetSharer | undefined
  private closed = false

  constructor (options: MemoryReceiverOptions = {}) {
    this.maxRecords = positive(options.retention?.records, MEMORY_DEFAULTS.records, 'retention.records')
    this.maxBytes = positive(options.retention?.bytes, MEMORY_DEFAULTS.bytes, 'retention.bytes')
    this.budgetBytes = positive(options.maxBytes, MEMORY_DEFAULTS.maxBytes, 'maxBytes')
    this.maxTopics = positive(options.maxTopics, MEMORY_DEFAULTS.maxTopics, 'maxTopics')
    const onFull = options.onFull ?? 'reject'
    if (onFull !== 'reject' && onFull !== 'drop-oldest') throw new InvalidOptionError('onFull', `must be 'reject' or 'drop-oldest' (got ${JSON.stringify(onFull)})`)
    this.onFull = onFull
    this.autoCreateTopics = options.autoCreateTopics ?? true
    for (const name of options.topics ?? []) this.create(name, 'topics')
    for (const [name, schema] of Object.entries(options.schemas ?? {})) {
      try {
        this.applySchema(this.create(name, 'schemas'), schema)
      } catch (err) {
        throw new InvalidOptionError(`schemas.${name}`, (err as Error).message)
      }
    }
  }

  async produce (topicName: string, records: ProduceRecord[]): Promise<ProducedOffset[]> {
    this.checkOpen()
    const topic = this.topicForWrite(topicName)
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as ProduceRecord
      if (r.partition !== undefined && r.partition !== 0) throw new PartitionNotFoundError(topicName, r.partition)
      if (topic.validate !== undefined && !topic.validate(r.binary === undefined ? r.value : schemaValueOf(r.binary, topicName, i))) {
        const e = topic.validate.errors?.[0]
        throw new SchemaMismatchError(topicName, i, e?.instancePath ?? '', e?.message ?? 'is invalid')
      }
    }
    const stored = records.map(storedRecord)
    let bytes = 0
    let cost = 0
    for (const r of stored) {
      bytes += r.bytes
      cost += r.cost
    }
    this.makeRoom(topic, stored.length, bytes, cost)
    const first = topic.append(stored, Date.now())
    this.held += cost
    return records.map((_, i) => ({ partition: 0, offset: first + i }))
  }

  /** Memory the stored records hold, all topics together (what `maxBytes` bounds). */
  /**
   * Lets `sharer` hold part of the budget: its bytes count against `maxBytes`; when records need
   * room it is asked to shrink after committed records went and before unread ones go.
   */
  shareBudget (sharer: BudgetSharer): void {
    this.sharer = sharer
  }

  get heldBytes (): number {
    return this.held
  }

  async listTopics (): Promise<string[]> {
    return [...this.topics.keys()]
  }

  async describeTopic (name: string): Promise<TopicInfo | null> {
    if (!this.topics.has(name)) return null
    return {
      name,
      configs: { 'retention.records': String(this.maxRecords), 'retention.bytes': String(this.maxBytes), 'server.max.bytes': String(this.budgetBytes) },
      partitions: [{ partition: 0, leader: 0, replicas: [{ broker: 0, leader: true, in_sync: true }] }]
    }
  }

  /** One broker (0) in a cluster named after the receiver. */
  async describeCluster (): Promise<ClusterInfo> {
    return { clusterId: MEMORY_CLUSTER_ID, controller: 0, brokers: [{ id: 0, host: null, port: null }] }
  }

  async partitionOffsets (name: string, partition: number): Promise<{ beginning: number, end: number } | null> {
    const topic = this.topics.get(name)
    if (topic === undefined || partition !== 0) return null
    return { beginning: topic.startOffset, end: topic.nextOffset }
  }

  async getSchema (name: string): Promise<object | null | undefined> {
    return this.topics.get(name)?.schema
  }

  async setSchema (name: string, schema: object): Promise<void> {
    this.checkOpen()
    this.applySchema(this.topicForWrite(name), schema)
  }

  async createConsumer (options: ConsumerOptions): Promise<ReceiverConsumer> {
    this.checkOpen()
    let group = this.groups.get(options.group)
    if (group === undefined) {
      group = new MemoryGroup(options.group)
      this.groups.set(options.group, group)
    }
    const joined = group
    joined.members++
    const consumer = new MemoryConsumer(this, joined, options, () => {
      this.consumers.delete(consumer)
      // A group made for one subscriber must not keep pinning records once it is gone.
      if (--joined.members === 0 && options.ephemeral === true && this.groups.get(joined.name) === joined) this.groups.delete(joined.name)
    })
    this.consumers.add(consumer)
    return consumer
  }

  async lag (): Promise<LagEntry[]> {
    const out: LagEntry[] = []
    for (const group of this.groups.values()) {
      for (const [name, floor] of group.floors()) {
        const topic = this.topics.get(name)
        if (topic !== undefined) out.push({ group: group.name, topic: name, partition: 0, lag: Math.max(0, topic.nextOffset - floor) })
      }
    }
    return out
  }

  stats (): ReceiverStats {
    const dropped: Record<string, number> = {}
    for (const [name, t] of this.topics) if (t.dropped > 0) dropped[name] = t.dropped
    return { dropped }
  }

  async close (): Promise<void> {
    this.closed = true
    await Promise.all([...this.consumers].map(c => c.close()))
  }

  /** The topic, created when allowed; TopicNotFoundError otherwise. */
  topicForWrite (name: string): MemoryTopic {
    const topic = this.topics.get(name)
    if (topic !== undefined) return topic
    if (!this.autoCreateTopics) throw new TopicNotFoundError(name)
    return this.create(name, 'topic')
  }

  onTopicCreated (listener: (topic: MemoryTopic) => void): () => void {
    this.topicListeners.add(listener)
    return () => { this.topicListeners.delete(listener) }
  }

  /** Lowest offset some group tracking the topic still needs; the end offset when no group does. */
  floor (topic: MemoryTopic): number {
    let floor = Infinity
    for (const group of this.groups.values()) {
      const f = group.floorOf(topic.name)
      if (f !== undefined && f < floor) floor = f
    }
    return floor === Infinity ? topic.startOffset : floor
  }

  private makeRoom (topic: MemoryTopic, records: number, bytes: number, cost: number): void {
    if (records > this.maxRecords || bytes > this.maxBytes) {
      throw new PayloadTooLargeError(`Request of ${records} record(s), ${bytes} bytes is larger than the retention of topic ${topic.name} (${this.maxRecords} records, ${this.maxBytes} bytes).`)
    }
    if (cost > this.budgetBytes) {
      throw new PayloadTooLargeError(`Request of ${records} record(s) holding ${cost} bytes is larger than the server's memory budget (maxBytes ${this.budgetBytes}).`)
    }
    this.fitTopic(topic, records, bytes)
    this.fitBudget(topic, cost)
  }

  /** Room in the topic's retention: committed records go first, then (drop-oldest) the oldest, else 429. */
  private fitTopic (topic: MemoryTopic, records: number, bytes: number): void {
    const over = (): boolean => topic.count + records > this.maxRecords || topic.bytes + bytes > this.maxBytes
    if (!over()) return
    const floor = this.floor(topic)
    this.evict(topic, () => topic.evictBelow(floor))
    if (!over()) return
    if (this.onFull === 'drop-oldest') {
      this.evict(topic, () => topic.evictWhile(over, floor))
      return
    }
    const ratio = Math.max((topic.count + records - this.maxRecords) / this.maxRecords, (topic.bytes + bytes - this.maxBytes) / this.maxBytes)
    throw new ReceiverFullError(topic.name, retryAfter(ratio))
  }

  /**
   * Room in the server-wide budget: records committed by every group, in any topic, go first; then
   * (drop-oldest) the oldest records of this topic and then of the others; else 429 / 42902.
   */
  private fitBudget (topic: MemoryTopic, cost: number): void {
    const shared = (): number => this.sharer?.bytes ?? 0
    const over = (): boolean => this.held + shared() + cost > this.budgetBytes
    if (!over()) return
    for (const t of this.topics.values()) {
      const floor = this.floor(t)
      if (t.startOffset < floor) this.evict(t, () => t.evictBelow(floor))
      if (!over()) return
    }
    this.sharer?.shrinkTo(Math.max(0, this.budgetBytes - this.held - cost))
    if (!over()) return
    if (this.onFull === 'drop-oldest') {
      for (const t of [topic, ...this.topics.values()]) {
        const elsewhere = this.held + shared() - t.cost
        const floor = this.floor(t)
        this.evict(t, () => t.evictWhile(() => elsewhere + t.cost + cost > this.budgetBytes, floor))
        if (!over()) return
      }
    }
    throw new MemoryBudgetFullError(topic.name, retryAfter((this.held + shared() + cost - this.budgetBytes) / this.budgetBytes), this.budgetBytes)
  }

  /** Runs an eviction on `topic`, keeping the server-wide count of held bytes right. */
  private evict (topic: MemoryTopic, run: () => void): void {
    const before = topic.cost
    run()
    this.held -= before - topic.cost
  }

  private applySchema (topic: MemoryTopic, schema: unknown): void {
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) throw new InvalidSchemaError('a JSON Schema must be an object')
    try {
      const ajv = new Ajv({ allErrors: false, strict: false })
      topic.validate = ajv.compile(schema)
    } catch (err) {
      throw new InvalidSchemaError((err as Error).message)
    }
    topic.schema = schema
  }

  /** The topic, made when new; `field` names the option it comes from ('topic': a request, answered 422 past maxTopics). */
  private create (name: string, field: string): MemoryTopic {
    if (!isValidTopicName(name)) throw new InvalidOptionError(field, `invalid topic name ${JSON.stringify(name)}`)
    let topic = this.topics.get(name)
    if (topic === undefined) {
      if (this.topics.size >= this.maxTopics) {
        if (field === 'topic') throw new TopicLimitError(name, this.maxTopics)
        throw new InvalidOptionError(field, `names more topics than maxTopics (${this.maxTopics})`)
      }
      topic = new MemoryTopic(name)
      this.topics.set(name, topic)
      for (const listener of this.topicListeners) listener(topic)
    }
    return topic
  }

  private checkOpen (): void {
    if (this.closed) throw new ReceiverClosedError(this.kind)
  }
}

/** Retry-After seconds for a request `ratio` over a limit (0.1 over → 1 s … 3 times over → 30 s). */
function retryAfter (ratio: number): number {
  return Math.min(30, Math.max(1, Math.ceil(10 * ratio)))
}

/** A record as kept: key and value serialised once (NDJSON lines as received), charged what they hold. */
/** A binary record checked against the topic's JSON Schema: its value bytes must be a JSON text. */
function schemaValueOf (binary: BinaryPair, topic: string, index: number): unknown {
  if (binary.value === null) return null
  try {
    return JSON.parse(jsonTextOf(binary.value))
  } catch {
    throw new SchemaMismatchError(topic, index, '', 'is not a JSON text (the topic has a JSON Schema)')
  }
}

function storedRecord (r: ProduceRecord): StoredRecord {
  if (r.binary !== undefined) {
    const { key, value } = r.binary
    const bytes = value?.length ?? 0
    return { key: 'null', value: 'null', headers: r.headers, bytes, cost: RECORD_OVERHEAD + bytes + (key?.length ?? 0) + headersCost(r.headers), binary: r.binary }
  }
  const value = r.raw ?? JSON.stringify(r.value ?? null)
  const key = r.key === undefined || r.key === null ? 'null' : JSON.stringify(r.key)
  const bytes = Buffer.byteLength(value)
  const cost = RECORD_OVERHEAD + bytes + (key === 'null' ? 0 : Buffer.byteLength(key)) + headersCost(r.headers)
  return { key, value, headers: r.headers, bytes, cost }
}

function headersCost (headers: Record<string, string> | undefined): number {
  let cost = 0
  if (headers !== undefined) for (const [k, v] of Object.entries(headers)) cost += k.length + v.length + 16
  return cost
}

function positive (value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError(field, `must be a positive integer (got ${JSON.stringify(value)})`)
  return value
}
