import type { MemoryTopic } from './memory-topic.js'
import {
  MUTUALLY_EXCLUSIVE, type ConsumedRecord, type ConsumerOptions, type PollOptions, type ReceiverConsumer, type TopicPartition,
  type TopicPartitionOffset, type TopicPartitionTimestamp
} from './receiver.js'
import { IllegalStateError, InvalidOffsetError, NOT_SUBSCRIBED, PartitionNotFoundError, TopicNotFoundError } from './receiver-errors.js'
import { jsonTextsOf } from './record-bytes.js'

/** What a consumer needs of the receiver that owns it: its topics, and whether reading creates them. */
export interface MemoryTopics {
  readonly topics: ReadonlyMap<string, MemoryTopic>
  readonly autoCreateTopics: boolean
  topicForWrite (name: string): MemoryTopic
  /** Calls `listener` with each topic created from now on; returns its remover. */
  onTopicCreated (listener: (topic: MemoryTopic) => void): () => void
}

/**
 * A consumer group: committed offsets per topic, the offset each topic was first tracked from
 * (what the group still needs before any commit), and which instance owns each topic now.
 */
export class MemoryGroup {
  readonly name: string
  readonly committed = new Map<string, number>()
  readonly owners = new Map<string, MemoryConsumer>()
  /** Live consumer instances of the group. */
  members = 0
  private readonly tracked = new Map<string, number>()

  constructor (name: string) {
    this.name = name
  }

  track (topic: string, from: number): void {
    if (!this.tracked.has(topic)) this.tracked.set(topic, from)
  }

  /** The lowest offset this group still needs from `topic`, or undefined when it does not read it. */
  floorOf (topic: string): number | undefined {
    return this.committed.get(topic) ?? this.tracked.get(topic)
  }

  *floors (): Iterable<[string, number]> {
    for (const topic of new Set([...this.tracked.keys(), ...this.committed.keys()])) {
      yield [topic, this.floorOf(topic) as number]
    }
  }
}

/**
 * One consumer instance. A topic (one partition) is read by one instance of the group at a time:
 * the newest subscriber takes it over and starts at the group's committed offset, so a restarted
 * reader resumes at once and only records fetched but not committed are seen again.
 * A manual assignment (`assign`) reads its topics outside that ownership (no instance takes them
 * over), from the group's committed offsets, and commits to the group.
 */
export class MemoryConsumer implements ReceiverConsumer {
  /** The topics read: the subscription's, or the manually assigned ones (partition 0). */
  private topics: string[] = []
  /** The manual assignment as given; undefined while not manually assigned. */
  private manual: TopicPartition[] | undefined
  private readonly positions = new Map<string, number>()
  /** Positions after everything returned so far: what `commit(null)` and auto-commit commit. */
  private readonly returned = new Map<string, number>()
  private readonly wakers = new Set<() => void>()
  /** The pattern subscribed to (Kafka's subscribe(Pattern)); undefined for a topic list. */
  private pattern: RegExp | undefined
  private stopWatching: (() => void) | undefined
  /** Polls waiting now: each also waits on a topic the pattern picks up meanwhile. */
  private readonly topicWaiters = new Set<(topic: MemoryTopic) => void>()
  private next = 0
  private closed = false

  constructor (
    private readonly receiver: MemoryTopics,
    private readonly group: MemoryGroup,
    private readonly options: ConsumerOptions,
    private readonly onClose: () => void
  ) {}

  async subscribe (topics: string[]): Promise<void> {
    const names = [...new Set(topics)]
    if (names.length === 0) return await this.unsubscribe()
    if (this.manual !== undefined || this.pattern !== undefined) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    // Topics are found (or created) first: a refusal (maxTopics) leaves the old subscription as it was.
    const found = names.map(name => this.receiver.autoCreateTopics ? this.receiver.topicForWrite(name) : this.receiver.topics.get(name))
    this.release()
    this.topics = names
    for (const topic of found) if (topic !== undefined) this.claim(topic)
  }

  /** Every topic whose whole name matches, and each matching topic created later (claimed at its creation when free). */
  async subscribePattern (pattern: RegExp): Promise<void> {
    if (this.manual !== undefined || (this.pattern === undefined && this.topics.length > 0)) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    this.release()
    this.pattern = pattern
    const found = [...this.receiver.topics.values()].filter(t => pattern.test(t.name))
    this.topics = found.map(t => t.name)
    for (const topic of found) this.claim(topic)
    this.stopWatching ??= this.receiver.onTopicCreated(topic => this.topicCreated(topic))
  }

  subscription (): string[] {
    return this.manual === undefined ? [...this.topics] : []
  }

  async unsubscribe (): Promise<void> {
    this.release()
    this.topics = []
    this.manual = undefined
    this.unwatch()
  }

  async assign (partitions: TopicPartition[]): Promise<void> {
    if (partitions.length === 0) return await this.unsubscribe()
    if (this.manual === undefined && (this.topics.length > 0 || this.pattern !== undefined)) throw new IllegalStateError(MUTUALLY_EXCLUSIVE)
    const unique = [...new Map(partitions.map(p => [`${p.topic}\u0000${p.partition}`, p])).values()]
    // A partition other than 0 is held as Kafka holds an unknown one: assigned, never read.
    const names = [...new Set(unique.filter(p => p.partition === 0).map(p => p.topic))]
    const found = names.map(name => this.receiver.autoCreateTopics ? this.receiver.topicForWrite(name) : this.receiver.topics.get(name))
    for (const name of this.topics) {
      if (names.includes(name)) continue
      this.positions.delete(name)
      this.returned.delete(name)
    }
    this.manual = unique.map(p => ({ topic: p.topic, partition: p.partition }))
    this.topics = names
    for (const topic of found) if (topic !== undefined && !this.positions.has(topic.name)) this.start(topic)
  }

  assignment (): TopicPartition[] {
    if (this.manual !== undefined) return this.manual.map(p => ({ ...p }))
    return this.topics.filter(name => this.group.owners.get(name) === this).map(topic => ({ topic, partition: 0 }))
  }

  async poll (options: PollOptions): Promise<ConsumedRecord[]> {
    if (this.topics.length === 0 && this.manual === undefined && this.pattern === undefined) throw new IllegalStateError(NOT_SUBSCRIBED)
    if (this.options.autoCommit) this.commitReturned()
    let records = this.collect(options.maxBytes)
    if (records.length > 0 || options.timeoutMs <= 0) return records
    await this.waitForRecords(options)
    records = this.collect(options.maxBytes)
    return records
  }

  async commit (offsets: TopicPartitionOffset[] | null): Promise<void> {
    if (offsets === null) {
      this.commitReturned()
      return
    }
    for (const o of offsets) this.checkPartition(o)
    for (const o of offsets) this.group.committed.set(o.topic, o.offset)
  }

  async committed (partitions: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    const out: TopicPartitionOffset[] = []
    for (const p of partitions) {
      const offset = p.partition === 0 ? this.group.committed.get(p.topic) : undefined
      if (offset !== undefined) out.push({ topic: p.topic, partition: 0, offset })
    }
    return out
  }

  async seek (offsets: TopicPartitionOffset[]): Promise<void> {
    const targets = offsets.map(o => [this.assigned(o), o.offset] as const)
    for (const [topic, offset] of targets) this.setPosition(topic, offset)
  }

  async seekToBeginning (partitions: TopicPartition[]): Promise<void> {
    for (const topic of partitions.map(p => this.assigned(p))) this.setPosition(topic, topic.startOffset)
  }

  async seekToEnd (partitions: TopicPartition[]): Promise<void> {
    for (const topic of partitions.map(p => this.assigned(p))) this.setPosition(topic, topic.nextOffset)
  }

  async seekToTimestamp (items: TopicPartitionTimestamp[]): Promise<void> {
    const targets = items.map(i => [this.assigned(i), i.timestamp] as const)
    for (const [topic, ts] of targets) this.setPosition(topic, topic.offsetForTimestamp(ts))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.release()
    this.unwatch()
    for (const wake of [...this.wakers]) wake()
    this.onClose()
  }

  /** A topic made after a pattern subscription: read it when it matches, from its start when no instance holds it. */
  private topicCreated (topic: MemoryTopic): void {
    if (this.pattern === undefined || this.closed || !this.pattern.test(topic.name) || this.topics.includes(topic.name)) return
    this.topics.push(topic.name)
    if (!this.group.owners.has(topic.name)) this.claim(topic)
    for (const wait of this.topicWaiters) wait(topic)
  }

  private unwatch (): void {
    this.pattern = undefined
    this.stopWatching?.()
    this.stopWatching = undefined
  }

  /** Takes the topic over for this instance, starting at the committed offset or per auto.offset.reset. */
  private claim (topic: MemoryTopic): void {
    this.group.owners.set(topic.name, this)
    this.start(topic)
  }

  /** Starts reading the topic at the group's committed offset, or per auto.offset.reset. */
  private start (topic: MemoryTopic): void {
    const committed = this.group.committed.get(topic.name)
    const start = committed ?? (this.options.autoOffsetReset === 'earliest' ? topic.startOffset : topic.nextOffset)
    this.group.track(topic.name, start)
    this.setPosition(topic, start)
  }

  /** Whether this instance reads the topic now: manually assigned, or the group's owner of it. */
  private holds (topic: string): boolean {
    return this.manual !== undefined || this.group.owners.get(topic) === this
  }

  private release (): void {
    for (const name of this.topics) {
      if (this.group.owners.get(name) === this) this.group.owners.delete(name)
      this.positions.delete(name)
      this.returned.delete(name)
    }
  }

  private setPosition (topic: MemoryTopic, offset: number): void {
    const clamped = Math.min(Math.max(offset, topic.startOffset), topic.nextOffset)
    this.positions.set(topic.name, clamped)
    this.returned.set(topic.name, clamped)
  }

  private commitReturned (): void {
    for (const [topic, offset] of this.returned) {
      if (this.holds(topic)) this.group.committed.set(topic, offset)
    }
  }

  /** The topic of a subscribed or assigned partition, for seeks. */
  private assigned (p: TopicPartition): MemoryTopic {
    const topic = this.checkPartition(p)
    if (!this.topics.includes(p.topic)) throw new IllegalStateError(`No current assignment for partition ${p.topic}-${p.partition}`)
    if (this.manual === undefined && this.group.owners.get(p.topic) !== this) this.claim(topic)
    else if (!this.positions.has(p.topic)) this.start(topic)
    return topic
  }

  private checkPartition (p: TopicPartition & { offset?: number }): MemoryTopic {
    if (p.offset !== undefined && (!Number.isSafeInteger(p.offset) || p.offset < 0)) throw new InvalidOffsetError(`Invalid offset for ${p.topic}-${p.partition}`)
    const topic = this.receiver.topics.get(p.topic)
    if (topic === undefined) throw new TopicNotFoundError(p.topic)
    if (p.partition !== 0) throw new PartitionNotFoundError(p.topic, p.partition)
    return topic
  }

  /** Records from every owned topic, round-robin, up to `maxBytes` (at least one when any is ready). */
  private collect (maxBytes: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = []
    if (this.closed || this.topics.length === 0) return out
    let bytes = 0
    const n = this.topics.length
    const first = this.next++ % n
    for (let k = 0; k < n; k++) {
      const name = this.topics[(first + k) % n] as string
      const topic = this.receiver.topics.get(name)
      if (topic === undefined) continue
      if (this.manual !== undefined) {
        if (!this.positions.has(name)) this.start(topic)
      } else {
        const owner = this.group.owners.get(name)
        if (owner === undefined) this.claim(topic)
        else if (owner !== this) continue
      }
      let pos = Math.max(this.positions.get(name) ?? topic.startOffset, topic.startOffset)
      while (pos < topic.nextOffset) {
        const e = topic.at(pos)
        if (e === undefined) break
        if (out.length > 0 && bytes + e.bytes > maxBytes) break
        let rawKey = e.key
        let raw = e.value
        if (e.binary !== undefined && this.options.format !== 'binary') {
          // A json consumer reads binary-produced bytes as JSON texts; one that is not stops the polls here.
          const texts = jsonTextsOf(e.binary, name, 0, e.offset)
          if (texts instanceof Error) {
            if (out.length > 0) break
            this.positions.set(name, pos)
            throw texts
          }
          rawKey = texts.key
          raw = texts.value
        }
        out.push({ topic: name, partition: 0, offset: e.offset, key: undefined, rawKey, value: undefined, raw, binary: this.options.format === 'binary' ? e.binary : undefined, timestamp: e.timestamp, headers: e.headers, bytes: e.bytes })
        bytes += e.bytes
        pos++
      }
      this.positions.set(name, pos)
      this.returned.set(name, pos)
      if (bytes >= maxBytes) break
    }
    return out
  }

  private waitForRecords (options: PollOptions): Promise<void> {
    return new Promise(resolve => {
      const removers: Array<() => void> = []
      const done = (): void => {
        clearTimeout(timer)
        for (const remove of removers) remove()
        options.signal?.removeEventListener('abort', done)
        this.wakers.delete(done)
        this.topicWaiters.delete(onTopic)
        resolve()
      }
      const onTopic = (topic: MemoryTopic): void => { removers.push(topic.onAppend(done)) }
      const timer = setTimeout(done, options.timeoutMs)
      for (const name of this.topics) {
        const topic = this.receiver.topics.get(name)
        if (topic !== undefined) removers.push(topic.onAppend(done))
      }
      if (options.signal?.aborted === true) {
        done()
        return
      }
      options.signal?.addEventListener('abort', done, { once: true })
      this.wakers.add(done)
      if (this.pattern !== undefined) this.topicWaiters.add(onTopic)
    })
  }
}
