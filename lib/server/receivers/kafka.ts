import { Kafka, logLevel, Partitioners, type Admin, type Message, type Producer } from 'kafkajs'
import { InvalidOptionError } from '../../errors.js'
import { KafkaConsumerInstance, kafkaFailure } from './kafka-consumer.js'
import { toKafkaMessage } from './kafka-message.js'
import type { ClusterInfo, ConsumerOptions, LagEntry, ProducedOffset, ProduceOptions, ProduceRecord, Receiver, ReceiverConsumer, ReceiverOperation, TopicInfo } from './receiver.js'
import { BackendError, ReceiverClosedError } from './receiver-errors.js'
import type { KafkaReceiverOptions } from './kafka-options.js'

export type { KafkaReceiverOptions } from './kafka-options.js'

/** Messages per producer send: kafkajs groups a send's messages with a quadratic copy, so sends stay small. */
const SEND_CHUNK = 1000

/** `kafka://host:port[,host:port…]` → brokers. */
export function parseKafkaUri (uri: string, field: string): string[] {
  const m = /^kafka:\/\/([^/?#]+)\/?$/.exec(uri)
  const brokers = m?.[1]?.split(',') ?? []
  if (brokers.length === 0 || brokers.some(b => !/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(b))) {
    throw new InvalidOptionError(field, `must be kafka://host:port[,host:port…] (got ${JSON.stringify(uri)})`)
  }
  return brokers
}

/**
 * Forwards records to Kafka with kafkajs: produce answers only after the brokers ack (acks -1; not
 * idempotent, no admin/controller calls, so librdkafka's mock cluster serves it). Consumer instances
 * are kafkajs consumers in their group, so reads work too. Keys and values are in Confluent's JSON
 * embedded format on the wire (`kafka-message.ts`), so any Kafka client reads what we wrote.
 */
export class KafkaReceiver implements Receiver {
  readonly kind = 'kafka'
  readonly operations: ReadonlySet<ReceiverOperation> = new Set<ReceiverOperation>(['produce', 'topics', 'consume'])
  readonly brokers: string[]
  private readonly kafka: Kafka
  private readonly options: KafkaReceiverOptions
  private readonly partitionOf = new WeakMap<Message, number>()
  private producer: Promise<Producer> | undefined
  private admin: Promise<Admin> | undefined
  private readonly consumers = new Set<KafkaConsumerInstance>()
  private closed = false

  constructor (brokers: string[], options: KafkaReceiverOptions = {}) {
    this.brokers = brokers
    this.options = options
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'http-stream-server',
      brokers,
      connectionTimeout: options.connectionTimeout ?? 3000,
      requestTimeout: options.requestTimeout ?? 30000,
      retry: { retries: 5, ...options.retry },
      logLevel: logLevel.NOTHING
    })
  }

  async produce (topic: string, records: ProduceRecord[], options?: ProduceOptions): Promise<ProducedOffset[]> {
    this.checkOpen()
    const producer = await this.connected('producer')
    const messages = records.map(r => toKafkaMessage(r))
    const offsets: ProducedOffset[] = []
    for (let i = 0; i < messages.length; i += SEND_CHUNK) {
      const chunk = messages.slice(i, i + SEND_CHUNK)
      let meta
      try {
        meta = await producer.send({ topic, acks: -1, messages: chunk })
      } catch (err) {
        // Chunks before it are stored: this one and the rest answer with the error, record by record (as Confluent does).
        const error = kafkaFailure(err)
        if (offsets.length === 0 || options?.partial !== true) throw error
        while (offsets.length < messages.length) offsets.push({ partition: -1, offset: -1, error })
        return offsets
      }
      const next = new Map(meta.map(m => [m.partition, Number(m.baseOffset ?? m.offset ?? -1)]))
      for (const m of chunk) {
        const partition = this.partitionOf.get(m) ?? m.partition ?? 0
        const offset = next.get(partition)
        if (offset === undefined) {
          // No ack for that partition (it does not exist): the Java producer's KafkaException "Invalid partition", 50002.
          const error = new BackendError(`Invalid partition given with record: ${partition} of topic ${topic}`, false)
          if (options?.partial !== true) throw error
          offsets.push({ partition: -1, offset: -1, error })
          continue
        }
        next.set(partition, offset + 1)
        offsets.push({ partition, offset })
      }
    }
    return offsets
  }

  async listTopics (): Promise<string[]> {
    const admin = await this.connected('admin')
    try {
      return (await admin.listTopics()).filter(t => !t.startsWith('__')).sort()
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  async describeTopic (topic: string): Promise<TopicInfo | null> {
    if (!(await this.listTopics()).includes(topic)) return null
    const admin = await this.connected('admin')
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
      const partitions = (topics[0]?.partitions ?? []).map(p => ({
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas.map(b => ({ broker: b, leader: b === p.leader, in_sync: p.isr.includes(b) }))
      })).sort((a, b) => a.partition - b.partition)
      return { name: topic, configs: {}, partitions }
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  async describeCluster (): Promise<ClusterInfo> {
    const admin = await this.connected('admin')
    try {
      const c = await admin.describeCluster()
      const brokers = c.brokers.map(b => ({ id: b.nodeId, host: b.host, port: b.port })).sort((a, b) => a.id - b.id)
      return { clusterId: c.clusterId, controller: c.controller, brokers }
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  async partitionOffsets (topic: string, partition: number): Promise<{ beginning: number, end: number } | null> {
    if (!(await this.listTopics()).includes(topic)) return null
    const admin = await this.connected('admin')
    try {
      const found = (await admin.fetchTopicOffsets(topic)).find(p => p.partition === partition)
      return found === undefined ? null : { beginning: Number(found.low), end: Number(found.high) }
    } catch (err) {
      throw kafkaFailure(err)
    }
  }

  async createConsumer (options: ConsumerOptions): Promise<ReceiverConsumer> {
    this.checkOpen()
    const consumer = new KafkaConsumerInstance(this.kafka, options, this.options, () => this.connected('admin'), () => this.consumers.delete(consumer))
    this.consumers.add(consumer)
    return consumer
  }

  async lag (): Promise<LagEntry[]> {
    return [...this.consumers].flatMap(c => c.lag())
  }

  async close (): Promise<void> {
    this.closed = true
    await Promise.all([...this.consumers].map(c => c.close()))
    const [producer, admin] = [this.producer, this.admin]
    this.producer = this.admin = undefined
    await Promise.all([producer, admin].map(async p => { if (p !== undefined) await (await p.catch(() => undefined))?.disconnect().catch(() => {}) }))
  }

  /** The connected producer or admin client, connecting once; a failed connect is retried at the next call. */
  private connected (which: 'producer'): Promise<Producer>
  private connected (which: 'admin'): Promise<Admin>
  private connected (which: 'producer' | 'admin'): Promise<Producer | Admin> {
    const existing = which === 'producer' ? this.producer : this.admin
    if (existing !== undefined) return existing
    const client = which === 'producer'
      ? this.kafka.producer({ allowAutoTopicCreation: true, idempotent: false, createPartitioner: () => this.recordingPartitioner() })
      : this.kafka.admin()
    const ready = client.connect().then(() => client, (err: unknown) => {
      if (which === 'producer') this.producer = undefined
      else this.admin = undefined
      throw kafkaFailure(err)
    })
    if (which === 'producer') this.producer = ready as Promise<Producer>
    else this.admin = ready as Promise<Admin>
    return ready
  }

  /** kafkajs's default partitioner, noting each message's partition so produce can give its offset. */
  private recordingPartitioner (): (args: { topic: string, partitionMetadata: unknown[], message: Message }) => number {
    const choose = Partitioners.DefaultPartitioner() as unknown as (args: { topic: string, partitionMetadata: unknown[], message: Message }) => number
    return (args) => {
      const partition = choose(args)
      this.partitionOf.set(args.message, partition)
      return partition
    }
  }

  private checkOpen (): void {
    if (this.closed) throw new ReceiverClosedError(this.kind)
  }
}
