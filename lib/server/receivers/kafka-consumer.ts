import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import {
  isInternalTopic, MUTUALLY_EXCLUSIVE, type ConsumedRecord, type ConsumerOptions, type LagEntry, type PollOptions,
  type ReceiverConsumer, type TopicPartition, type TopicPartitionOffset, type TopicPartitionTimestamp
} from './receiver.js'
import { BackendError, IllegalStateError, NOT_SUBSCRIBED, ReceiverError } from './receiver-errors.js'
import type { KafkaReceiverOptions } from './kafka-options.js'
import { fromKafkaMessage, NotJsonMessageError } from './kafka-message.js'
import { GroupMember } from './kafka-member.js'
import { delayedRoundRobin } from '../../shared/leader-delay.js'

/** ms the group leader waits before assigning partitions (librdkafka's mock refuses a SyncGroup that comes after the leader's). */
const LEADER_DELAY_MS = 300

/** kafkajs errors that mean "the brokers could not be reached in time": trying again may work. */
const UNREACHABLE = new Set(['KafkaJSNumberOfRetriesExceeded', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSNoBrokerAvailableError', 'KafkaJSBrokerNotFound', 'KafkaJSLockTimeout'])

/** kafkajs errors → BackendError, 50003 when retrying may help, else 50002; our own errors pass through. */
export function kafkaFailure (err: unknown): ReceiverError {
  if (err instanceof ReceiverError) return err
  const e = err as { message?: string, name?: string, retriable?: boolean, cause?: { retriable?: boolean } }
  const retriable = e?.retriable === true || UNREACHABLE.has(e?.name ?? '') || e?.cause?.retriable === true
  return new BackendError(e?.message ?? String(err), retriable, { cause: err })
}

const EARLIEST = '-2'
const LATEST = '-1'

/**
 * A Kafka REST consumer instance backed by a kafkajs consumer in its group. kafkajs pushes batches;
 * they wait in a bounded buffer (partitions are paused past `maxBufferedRecords`) until a poll takes
 * them. Offsets are committed only when asked (or at the next poll with auto-commit), never by kafkajs.
 * Messages are decoded as JSON (`kafka-message.ts`); one that is not JSON stops the polls at its
 * offset with `NotJsonMessageError` (as Confluent's json consumer does) until a seek moves past it.
 */
export class KafkaConsumerInstance implements ReceiverConsumer {
  private consumer: Consumer | undefined
  private member: GroupMember | undefined
  private topics: string[] = []
  /** The pattern subscribed to; undefined for a topic list. */
  private pattern: RegExp | undefined
  /** The partitions the group gave this member at its last join (none until it joins). */
  private held: TopicPartition[] = []
  /** Records in arrival order; a message that is not JSON waits here as the error answering for it. */
  private buffer: Array<ConsumedRecord | NotJsonMessageError> = []
  private head = 0
  private readonly taken = new Map<string, TopicPartitionOffset>()
  private readonly highWatermarks = new Map<string, number>()
  private readonly committedSeen = new Map<string, number>()
  private readonly waiters = new Set<() => void>()
  private resumes: Array<() => void> = []
  private generation = 0
  private failure: ReceiverError | undefined
  private closed = false
  private readonly maxBuffered: number

  constructor (
    private readonly kafka: Kafka,
    private readonly options: ConsumerOptions,
    private readonly settings: KafkaReceiverOptions,
    private readonly admin: () => Promise<Admin>,
    private readonly onClose: () => void
  ) {
    this.maxBuffered = settings.maxBufferedRecords ?? 10000
  }

  async subscribe (topics: string[]): Promise<void> {
    if (topics.length > 0 && this.pattern !== undefined) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    await this.join([...new Set(topics)])
  }

  /**
   * The topics whose whole name matches when this is called, as kafkajs's `subscribe({ topics: [RegExp] })`
   * matches them (once, from the cluster's metadata): a matching topic created later is read only after
   * the instance subscribes again. No topic matching leaves the instance subscribed, reading nothing.
   */
  async subscribePattern (pattern: RegExp): Promise<void> {
    if (this.pattern === undefined && this.topics.length > 0) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    let names: string[]
    try {
      names = (await (await this.admin()).listTopics()).filter(t => !isInternalTopic(t) && pattern.test(t)).sort()
    } catch (err) {
      throw kafkaFailure(err)
    }
    await this.join(names)
    this.pattern = pattern
  }

  private async join (topics: string[]): Promise<void> {
    await this.stop()
    this.pattern = undefined
    this.topics = topics
    if (this.topics.length === 0 || this.closed) return
    const member = new GroupMember(this.kafka, {
      groupId: this.options.group,
      allowAutoTopicCreation: true,
      sessionTimeout: this.settings.sessionTimeout ?? 30000,
      rebalanceTimeout: this.settings.rebalanceTimeout ?? 60000,
      heartbeatInterval: this.settings.heartbeatInterval ?? 3000,
      maxWaitTimeInMs: this.settings.maxWaitTimeInMs ?? 100,
      // Instances on several server nodes join one group: the leader waits before it assigns (see leader-delay).
      partitionAssigners: [delayedRoundRobin(LEADER_DELAY_MS)]
    }, (assignment) => { if (this.member === member) this.keepAssigned(assignment) })
    const consumer = member.consumer
    this.member = member
    this.consumer = consumer
    try {
      await consumer.connect()
      await consumer.subscribe({ topics: this.topics, fromBeginning: this.options.autoOffsetReset === 'earliest' })
    } catch (err) {
      this.member = this.consumer = undefined
      await member.leave()
      throw kafkaFailure(err)
    }
    // Not awaited: run() resolves only once the group is joined, which can take a rebalance timeout.
    // Subscribing stays lazy as in Kafka; polls wait meanwhile, and a crash surfaces at the next poll.
    this.failure = undefined
    member.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (payload) => this.onBatch(consumer, payload) })
      .catch((err: unknown) => { if (this.consumer === consumer) this.failure = kafkaFailure(err) })
  }

  subscription (): string[] {
    return [...this.topics]
  }

  async unsubscribe (): Promise<void> {
    await this.stop()
    this.topics = []
    this.pattern = undefined
  }

  /**
   * kafkajs, the Kafka client behind this receiver, has no `assign()`: a consumer reads only what
   * its group gives it. `[]` unsubscribes as Kafka's assign does; assigning while subscribed is
   * Kafka's illegal state; any other assignment answers 501 rather than pretend.
   */
  async assign (partitions: TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return await this.unsubscribe()
    if (this.topics.length > 0 || this.pattern !== undefined) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    throw new ReceiverError('ERR_UNSUPPORTED_OPERATION', 501, 501,
      'The kafka receiver does not support manual partition assignment: its Kafka client (kafkajs) has no assign(), ' +
      'a consumer reads only the partitions its group gives it. Subscribe to the topics instead (POST …/subscription).')
  }

  assignment (): TopicPartition[] {
    return this.held.map(p => ({ ...p }))
  }

  async poll (options: PollOptions): Promise<ConsumedRecord[]> {
    if (this.failure !== undefined) throw this.failure
    if (this.topics.length === 0 && this.pattern === undefined) throw new IllegalStateError(NOT_SUBSCRIBED)
    if (this.options.autoCommit && this.taken.size > 0) await this.commit(null).catch(() => {})
    if (this.head === this.buffer.length && options.timeoutMs > 0 && !this.closed) await this.waitForRecords(options)
    const out: ConsumedRecord[] = []
    let bytes = 0
    while (this.head < this.buffer.length) {
      const r = this.buffer[this.head] as ConsumedRecord | NotJsonMessageError
      // Records before it are answered first; then it answers every poll until a seek moves past it.
      if (r instanceof NotJsonMessageError) {
        if (out.length > 0) break
        throw r
      }
      if (out.length > 0 && bytes + r.bytes > options.maxBytes) break
      out.push(r)
      bytes += r.bytes
      this.head++
      this.taken.set(`${r.topic}:${r.partition}`, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
    }
    this.compact()
    if (this.buffered() < this.maxBuffered / 2 && this.resumes.length > 0) {
      const resumes = this.resumes
      this.resumes = []
      for (const resume of resumes) resume()
    }
    return out
  }

  async commit (offsets: TopicPartitionOffset[] | null): Promise<void> {
    const list = offsets ?? [...this.taken.values()]
    if (list.length === 0) return
    const consumer = this.running()
    try {
      await consumer.commitOffsets(list.map(o => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })))
    } catch (err) {
      throw kafkaFailure(err)
    }
    for (const o of list) this.committedSeen.set(`${o.topic}:${o.partition}`, o.offset)
  }

  async committed (partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const topics = [...new Set(partitions.map(p => p.topic))]
    if (topics.length === 0) return []
    try {
      const admin = await this.admin()
      const answer = await admin.fetchOffsets({ groupId: this.options.group, topics })
      const out: TopicPartitionOffset[] = []
      for (const p of partitions) {
        const found = answer.find(t => t.topic === p.topic)?.partitions.find(x => x.partition === p.partition)
        if (found !== undefined && Number(found.offset) >= 0) out.push({ ...p, offset: Number(found.offset) })
      }
      return out
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  async seek (offsets: TopicPartitionOffset[]): Promise<void> {
    for (const o of offsets) this.seekTo(o, String(o.offset))
  }

  async seekToBeginning (partitions: TopicPartition[]): Promise<void> {
    for (const p of partitions) this.seekTo(p, EARLIEST)
  }

  async seekToEnd (partitions: TopicPartition[]): Promise<void> {
    for (const p of partitions) this.seekTo(p, LATEST)
  }

  async seekToTimestamp (items: TopicPartitionTimestamp[]): Promise<void> {
    this.running()
    const admin = await this.admin()
    for (const item of items) {
      let found
      try {
        found = await admin.fetchTopicOffsetsByTimestamp(item.topic, item.timestamp)
      } catch (err) {
        throw kafkaFailure(err)
      }
      const offset = found.find(p => p.partition === item.partition)?.offset
      this.seekTo(item, offset === undefined || Number(offset) < 0 ? LATEST : offset)
    }
  }

  lag (): LagEntry[] {
    const out: LagEntry[] = []
    for (const [key, hw] of this.highWatermarks) {
      const committed = this.committedSeen.get(key)
      if (committed === undefined) continue
      const [topic, partition] = splitKey(key)
      out.push({ group: this.options.group, topic, partition, lag: Math.max(0, hw - committed) })
    }
    return out
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.stop()
    this.onClose()
  }

  private async onBatch (from: Consumer, { batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload): Promise<void> {
    const generation = this.generation
    for (const m of batch.messages) {
      // A consumer this instance let go (unsubscribed, closed, re-subscribed) adds nothing.
      if (from !== this.consumer || !isRunning() || isStale() || generation !== this.generation) return
      this.buffer.push(fromKafkaMessage(batch.topic, batch.partition, m, this.options.format))
      resolveOffset(m.offset)
    }
    this.highWatermarks.set(`${batch.topic}:${batch.partition}`, Number(batch.highWatermark))
    for (const wake of [...this.waiters]) wake()
    if (this.buffered() >= this.maxBuffered) this.resumes.push(pause())
    await heartbeat()
  }

  /**
   * After a rebalance: records buffered for partitions this member no longer holds are dropped (their
   * new owner reads them from the group's committed offset), so a poll never answers for them, and
   * an auto-commit no longer commits them.
   */
  private keepAssigned (assignment: Record<string, number[]>): void {
    this.held = Object.entries(assignment).flatMap(([topic, ps]) => ps.map(partition => ({ topic, partition })))
    const held = (r: { topic: string, partition: number }): boolean =>
      Object.hasOwn(assignment, r.topic) && (assignment[r.topic] as number[]).includes(r.partition)
    for (const [k, p] of this.taken) if (!held(p)) this.taken.delete(k)
    const kept = this.buffer.slice(this.head).filter(held)
    if (kept.length === this.buffered()) return
    this.buffer = kept
    this.head = 0
  }

  private seekTo (p: TopicPartition, offset: string): void {
    const consumer = this.running()
    if (!this.topics.includes(p.topic)) throw new IllegalStateError(`No current assignment for partition ${p.topic}-${p.partition}`)
    this.generation++
    this.buffer = this.buffer.slice(this.head).filter(r => r.topic !== p.topic || r.partition !== p.partition)
    this.head = 0
    if (Number(offset) >= 0) this.taken.set(`${p.topic}:${p.partition}`, { ...p, offset: Number(offset) })
    else this.taken.delete(`${p.topic}:${p.partition}`)
    try {
      consumer.seek({ topic: p.topic, partition: p.partition, offset })
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  private running (): Consumer {
    if (this.consumer === undefined) throw new IllegalStateError(NOT_SUBSCRIBED)
    return this.consumer
  }

  private buffered (): number {
    return this.buffer.length - this.head
  }

  private compact (): void {
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head)
      this.head = 0
    }
  }

  private waitForRecords (options: PollOptions): Promise<void> {
    return new Promise(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        this.waiters.delete(done)
        options.signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, options.timeoutMs)
      this.waiters.add(done)
      if (options.signal?.aborted === true) done()
      else options.signal?.addEventListener('abort', done, { once: true })
    })
  }

  private async stop (): Promise<void> {
    const member = this.member
    this.member = this.consumer = undefined
    this.held = []
    this.generation++
    this.buffer = []
    this.head = 0
    this.taken.clear()
    this.resumes = []
    for (const wake of [...this.waiters]) wake()
    if (member === undefined) return
    // kafkajs waits for a join or rebalance under way before it leaves the group; answer within a
    // session timeout and let the leave finish in the background (it never rejects).
    const leaving = member.leave()
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>(resolve => { timer = setTimeout(resolve, Math.min(this.settings.sessionTimeout ?? 30000, 10000)) })
    await Promise.race([leaving, bound])
    clearTimeout(timer)
  }
}

function splitKey (key: string): [string, number] {
  const i = key.lastIndexOf(':')
  return [key.slice(0, i), Number(key.slice(i + 1))]
}
