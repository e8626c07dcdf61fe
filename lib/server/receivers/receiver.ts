import type { ReceiverError } from './receiver-errors.js'

/**
 * The Receiver contract: what the stream server's HTTP surfaces (Kafka REST, /actions, InLong) call.
 * spark-http-stream's ActionsHandler idea as a TypeScript interface: a receiver says which
 * operations it supports (`operations`); the server answers 501 naming any other one.
 * Receivers throw the errors in `receiver-errors.ts`; the server maps them to HTTP answers.
 */

export type ReceiverOperation = 'produce' | 'topics' | 'schema' | 'consume'

export interface ProduceRecord {
  key?: unknown
  value: unknown
  /** Explicit partition; undefined lets the receiver choose. */
  partition?: number
  /** Small string metadata kept with the record (e.g. RowEx batchId/offsetInBatch). */
  headers?: Record<string, string>
  /** Byte size of the value's JSON text, as the route measured it (metrics; the memory receiver measures the text it stores). */
  bytes: number
  /** The value's JSON text when the server already has it (NDJSON lines), to avoid serialising again. */
  raw?: string
  /** Binary embedded format: the key and value bytes as sent (key and value are then ignored; null is no key / a tombstone). */
  binary?: BinaryPair
}

/** A record's key and value as bytes (Kafka's view); null is no key, or no value (a tombstone). */
export interface BinaryPair {
  key: Buffer | null
  value: Buffer | null
}

/** The embedded format of a consumer: how keys and values are handed over (Confluent's `format`). */
export type EmbeddedFormat = 'json' | 'binary'

export interface ProduceOptions {
  /** The caller answers record by record: resolve with per-record errors rather than throwing once some are stored. */
  partial?: boolean
}

export interface ProducedOffset {
  partition: number
  offset: number
  /** This record was not stored (Kafka REST answers it in the record's `error_code`/`error`); partition and offset are then -1. */
  error?: ReceiverError
}

export interface ConsumedRecord {
  topic: string
  partition: number
  offset: number
  key: unknown
  /** The key's JSON text, when the receiver stored it as text (the memory receiver): use `recordKeyJson`. */
  rawKey?: string
  /** The value; undefined when the receiver kept only its JSON text (`raw`): use `recordValue`. */
  value: unknown
  /** The value's JSON text, when the receiver stored it as text (the memory receiver): served without re-serialising. */
  raw?: string
  /** Epoch ms the receiver stored the record. */
  timestamp: number
  headers?: Record<string, string>
  /** Byte size of the value's JSON text. */
  bytes: number
  /** Binary consumers: the key and value bytes as stored (set by receivers that keep bytes). */
  binary?: BinaryPair
}

export interface TopicPartition {
  topic: string
  partition: number
}

/** For commit and seek: `offset` is the next offset to read (Kafka's committed-offset meaning). */
export interface TopicPartitionOffset extends TopicPartition {
  offset: number
}

export interface TopicPartitionTimestamp extends TopicPartition {
  /** Epoch ms: seek to the first record stored at or after it. */
  timestamp: number
}

export interface PartitionInfo {
  partition: number
  leader: number
  replicas: Array<{ broker: number, leader: boolean, in_sync: boolean }>
}

export interface TopicInfo {
  name: string
  configs: Record<string, string>
  partitions: PartitionInfo[]
}

export interface ClusterInfo {
  clusterId: string
  /** The controller's broker id, null when unknown. */
  controller: number | null
  brokers: Array<{ id: number, host: string | null, port: number | null }>
}

export interface ConsumerOptions {
  group: string
  /** The consumer instance name (unique within its group). */
  name: string
  /** Where to start when the group has no committed offset. */
  autoOffsetReset: 'earliest' | 'latest'
  /** Commit, at each poll, the positions reached by the previous polls. */
  autoCommit: boolean
  /** How keys and values are handed over; default 'json' (JSON texts). */
  format?: EmbeddedFormat
  /** The group exists only for this consumer (a spark-style subscriber): forget it when the consumer closes. */
  ephemeral?: boolean
}

/** Kafka's IllegalStateException text when subscribe, pattern subscribe and assign are mixed (SubscriptionState). */
export const MUTUALLY_EXCLUSIVE = 'Subscription to topics, partitions and pattern are mutually exclusive'

/** Kafka's internal topics, which a pattern subscription leaves out (`exclude.internal.topics=true`). */
export function isInternalTopic (name: string): boolean {
  return name.startsWith('__')
}

export interface PollOptions {
  /** ms to wait when no record is ready. */
  timeoutMs: number
  /** Value bytes per answer at most (at least one record is returned when any is ready). */
  maxBytes: number
  /** Aborts the wait (client went away, server closing). */
  signal?: AbortSignal
}

export interface ReceiverConsumer {
  subscribe (topics: string[]): Promise<void>
  /**
   * Kafka's `subscribe(Pattern)`: every topic whose whole name matches (`pattern` is anchored), now
   * and, where the receiver can, created later. Replaces a pattern subscription; while subscribed to
   * a topic list (or assigned) it throws IllegalStateError, as `subscribe(topics)` does while
   * subscribed to a pattern. Absent: the server answers 501.
   */
  subscribePattern? (pattern: RegExp): Promise<void>
  /** The topics subscribed to; for a pattern, the topics it matched (Kafka's `subscription()`). */
  subscription (): string[]
  /** Leaves the group's subscription, or drops a manual assignment. */
  unsubscribe (): Promise<void>
  /**
   * Manual assignment (Kafka's `assign()`): reads these partitions outside the group protocol (no
   * rebalance), starting at the group's committed offsets; commits still go to the group. Replaces a
   * previous assignment (positions of partitions kept are kept); `[]` unsubscribes, as in Kafka.
   * Throws IllegalStateError (409 / 40903) while subscribed, and subscribe throws it while assigned.
   * Absent when the receiver cannot assign manually (the server answers 501).
   */
  assign? (partitions: TopicPartition[]): Promise<void>
  /** The partitions this instance holds now: its manual assignment, or what the group gave it (absent: 501). */
  assignment? (): TopicPartition[]
  poll (options: PollOptions): Promise<ConsumedRecord[]>
  /** Commits next-to-read offsets; `null` commits the positions of everything returned so far. */
  commit (offsets: TopicPartitionOffset[] | null): Promise<void>
  /** The group's committed next-to-read offsets; partitions without a commit are left out. */
  committed (partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>
  seek (offsets: TopicPartitionOffset[]): Promise<void>
  seekToBeginning (partitions: TopicPartition[]): Promise<void>
  seekToEnd (partitions: TopicPartition[]): Promise<void>
  seekToTimestamp (items: TopicPartitionTimestamp[]): Promise<void>
  close (): Promise<void>
}

export interface LagEntry {
  group: string
  topic: string
  partition: number
  /** End offset minus the group's committed offset. */
  lag: number
}

export interface ReceiverStats {
  /** Records evicted before every group had consumed them (onFull: 'drop-oldest'), per topic. */
  dropped: Record<string, number>
}

export interface Receiver {
  /** 'memory', 'kafka', 'null' or a custom name. */
  readonly kind: string
  readonly operations: ReadonlySet<ReceiverOperation>
  /**
   * Resolves with one offset per record, in order, or throws when none was stored. With `partial`
   * (Kafka REST, which answers per record) a receiver that stored only some (the Kafka receiver, when
   * a send fails midway) resolves with the others' `error`; without it, it throws that error.
   */
  produce (topic: string, records: ProduceRecord[], options?: ProduceOptions): Promise<ProducedOffset[]>
  listTopics? (): Promise<string[]>
  /** null when the topic does not exist. */
  describeTopic? (topic: string): Promise<TopicInfo | null>
  /** The cluster behind the receiver: its id and broker ids (Kafka REST's `/brokers`, v3's `/clusters`). */
  describeCluster? (): Promise<ClusterInfo>
  /** First and next offsets of a partition; null when the topic or partition does not exist. */
  partitionOffsets? (topic: string, partition: number): Promise<{ beginning: number, end: number } | null>
  /** undefined when the topic does not exist, null when it has no schema. */
  getSchema? (topic: string): Promise<object | null | undefined>
  setSchema? (topic: string, schema: object): Promise<void>
  createConsumer? (options: ConsumerOptions): Promise<ReceiverConsumer>
  lag? (): Promise<LagEntry[]>
  stats? (): ReceiverStats
  close (): Promise<void>
}

/** A consumed record's value, parsing its JSON text when that is all the receiver kept. */
export function recordValue (r: ConsumedRecord): unknown {
  return r.raw !== undefined ? JSON.parse(r.raw) : r.value
}

/** A consumed record's value as JSON text. */
export function recordJson (r: ConsumedRecord): string {
  return r.raw ?? JSON.stringify(r.value ?? null)
}

/** A consumed record's key as JSON text. */
export function recordKeyJson (r: ConsumedRecord): string {
  return r.rawKey ?? JSON.stringify(r.key ?? null)
}

export function isReceiver (value: unknown): value is Receiver {
  if (value === null || typeof value !== 'object') return false
  const r = value as Record<string, unknown>
  return typeof r.kind === 'string' && r.operations instanceof Set && typeof r.produce === 'function' && typeof r.close === 'function'
}
