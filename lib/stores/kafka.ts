/**
 * Failover to a Kafka topic (kafkajs): `kafka://host:port[,host:port]/topic`.
 * Each put is one producer `send` of all its envelopes with `acks: -1` (every in-sync replica), so
 * it resolves only once the brokers hold them. The producer is not idempotent and nothing calls
 * the controller (createTopics, InitProducerId): brokers that cannot answer those still work.
 * Replay reads with a consumer group and commits offsets past what was acked or retained; a
 * second replay in the same group at once is refused with ERR_STORE_LOCKED (kafka-group-claim.ts).
 */
import { inspect, debuglog } from 'node:util'
import type { Kafka, KafkaConfig, KafkaMessage, LogEntry, Message, Producer } from 'kafkajs'
import { StoreError, describeError } from '../errors.js'
import { envelopeJson, envelopeMeta, parseEnvelope, streamParkJson, toEnvelope } from './envelope-codec.js'
import { KafkaReadSession } from './kafka-read-session.js'
import type { FailoverEnvelope, ReadOptions, Store, StoredRecord } from './store.js'
import { inspectStore, parseStoreUri } from './store-uri.js'

/** `envelope`: the envelope JSON. `streampark`: StreamPark's `{"values":[record],"timestamp":ms}`, the other fields in a header. */
export type KafkaShape = 'envelope' | 'streampark'

export interface KafkaStoreOptions {
  brokers: string[]
  topic: string
  shape?: KafkaShape
  clientId?: string
  /** Consumer group that replay commits its progress in. */
  groupId?: string
  /** ms per broker request (and per send). */
  timeout?: number
  /** kafkajs retries per operation before put rejects. */
  retries?: number
  /** ms: the replay consumer's group session timeout. */
  sessionTimeout?: number
  /** The URI to report (already redacted). */
  uri?: string
}

const META_HEADER = 'failover-envelope'
const log = debuglog('http-stream:kafka')
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/

export class KafkaStore implements Store {
  readonly kind = 'kafka'
  readonly uri: string
  readonly topic: string
  readonly shape: KafkaShape
  readonly groupId: string
  /** kafkajs is imported on first use, so opening the package does not pay for it. */
  #kafka: Promise<Kafka> | undefined
  readonly #config: KafkaConfig
  readonly #timeout: number
  readonly #retries: number
  readonly #sessionTimeout: number
  #producer: Promise<Producer> | undefined
  #session: KafkaReadSession | undefined
  #closed = false

  static fromUri (uri: string, field = 'failover'): KafkaStore {
    const example = 'kafka://host:port[,host:port]/topic?shape=envelope|streampark'
    const u = parseStoreUri(uri, field, { example, multiHost: true, params: ['shape', 'clientId', 'group', 'timeout', 'retries', 'sessionTimeout'] })
    if (u.path === '') u.fail('no topic')
    if (!TOPIC.test(u.path)) u.fail(`bad topic name ${JSON.stringify(u.path)} (letters, digits, . _ -)`)
    return new KafkaStore({
      brokers: u.hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`),
      topic: u.path,
      shape: u.params.choice('shape', ['envelope', 'streampark'] as const, 'envelope'),
      clientId: u.params.string('clientId'),
      groupId: u.params.string('group'),
      timeout: u.params.int('timeout', 30_000, 1, 600_000),
      retries: u.params.int('retries', 5, 0, 100),
      sessionTimeout: u.params.int('sessionTimeout', 10_000, 1000, 300_000),
      uri: u.redacted
    })
  }

  constructor (options: KafkaStoreOptions) {
    this.topic = options.topic
    this.shape = options.shape ?? 'envelope'
    this.groupId = options.groupId ?? 'http-stream-replay'
    this.#timeout = options.timeout ?? 30_000
    this.#retries = options.retries ?? 5
    this.#sessionTimeout = options.sessionTimeout ?? 10_000
    this.uri = options.uri ?? `kafka://${options.brokers.join(',')}/${options.topic}`
    this.#config = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'http-stream-connector',
      requestTimeout: this.#timeout,
      connectionTimeout: Math.min(this.#timeout, 10_000),
      retry: { retries: this.#retries }
    }
  }

  #client (): Promise<Kafka> {
    this.#kafka ??= import('kafkajs').then(({ Kafka, logLevel }) => new Kafka({
      ...this.#config,
      logLevel: logLevel.INFO,
      logCreator: () => ({ namespace, level, log: entry }: LogEntry) => {
        if (log.enabled) log('%s %s %s', logLevel[level], namespace, entry.message)
      }
    }))
    return this.#kafka
  }

  async put (envelopes: readonly FailoverEnvelope[]): Promise<void> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    if (envelopes.length === 0) return
    try {
      const producer = await this.#connectProducer()
      await producer.send({ topic: this.topic, acks: -1, timeout: this.#timeout, messages: envelopes.map((e) => this.#message(e)) })
    } catch (err) {
      throw new StoreError(`${this.uri} could not store ${envelopes.length} envelope(s): ${describeError(err)}`, { cause: err })
    }
  }

  /** An envelope with an idempotencyKey is keyed by it: the envelopes of one request stay on one partition, in order, for replay to group. */
  #message (envelope: FailoverEnvelope): Message {
    const key = envelope.idempotencyKey === undefined ? {} : { key: envelope.idempotencyKey }
    if (this.shape === 'envelope') return { ...key, value: envelopeJson(envelope) }
    return { ...key, value: streamParkJson(envelope), headers: { [META_HEADER]: JSON.stringify(envelopeMeta(envelope)) } }
  }

  #connectProducer (): Promise<Producer> {
    this.#producer ??= (async () => {
      const { Partitioners } = await import('kafkajs')
      const producer = (await this.#client()).producer({ allowAutoTopicCreation: true, idempotent: false, createPartitioner: Partitioners.DefaultPartitioner })
      await producer.connect()
      return producer
    })()
    return this.#producer.catch((err: unknown) => {
      this.#producer = undefined
      throw err
    })
  }

  async * read (options: ReadOptions = {}): AsyncIterable<StoredRecord[]> {
    if (this.#closed) throw new StoreError(`${this.uri} is closed`)
    await this.#session?.close()
    const session = new KafkaReadSession({ store: this.uri, kafka: await this.#client(), topic: this.topic, groupId: this.groupId, retries: this.#retries, sessionTimeout: this.#sessionTimeout, decode: decodeMessage })
    this.#session = session
    try {
      if (!await session.open()) return
    } catch (err) {
      await session.close()
      throw new StoreError(`${this.uri} cannot be read: ${describeError(err)}`, { cause: err })
    }
    yield * session.batches(Math.max(1, options.batchSize ?? 500))
  }

  async ack (ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return
    await this.#settle(ids)
  }

  /** Re-produces the updated envelopes, then commits past the old messages (a crash between: a duplicate, never a loss). */
  async retain (records: readonly StoredRecord[]): Promise<void> {
    if (records.length === 0) return
    this.#sessionFor(records.map((r) => r.id))
    await this.put(records.map((r) => r.envelope))
    await this.#settle(records.map((r) => r.id))
  }

  #sessionFor (ids: readonly string[]): KafkaReadSession {
    const session = this.#session
    const stray = session === undefined ? ids[0] : ids.find((id) => !session.owns(id))
    if (session === undefined || stray !== undefined) throw new StoreError(`${this.uri}: id ${JSON.stringify(stray)} is not from the current read`)
    return session
  }

  async #settle (ids: readonly string[]): Promise<void> {
    try {
      await this.#sessionFor(ids).settle(ids)
    } catch (err) {
      throw err instanceof StoreError ? err : new StoreError(`${this.uri} could not commit replay progress: ${describeError(err)}`, { cause: err })
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#session?.close()
    const producer = this.#producer
    this.#producer = undefined
    if (producer !== undefined) await producer.then((p) => p.disconnect(), () => {})
  }

  [inspect.custom] (): string {
    return inspectStore('KafkaStore', this.uri)
  }
}

/**
 * A message back to envelopes: the envelope JSON; or StreamPark's shape (one envelope per value,
 * fields from our header, or defaults for messages StreamPark itself wrote); anything else becomes
 * one envelope holding the raw text, so nothing in the topic is silently dropped.
 */
export function decodeMessage (message: KafkaMessage): FailoverEnvelope[] {
  const text = message.value?.toString('utf8') ?? 'null'
  const envelope = parseEnvelope(text)
  if (envelope !== undefined) return [envelope]
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return [toEnvelope(text, { error: 'not a failover envelope', failedAt: Number(message.timestamp) })]
  }
  const values = (value as { values?: unknown } | null)?.values
  if (!Array.isArray(values)) return [toEnvelope(value, { error: 'not a failover envelope', failedAt: Number(message.timestamp) })]
  const header = message.headers?.[META_HEADER]
  let meta: Record<string, unknown> = { failedAt: (value as { timestamp?: unknown }).timestamp }
  if (header !== undefined) {
    try {
      meta = JSON.parse(header.toString()) as Record<string, unknown>
    } catch {}
  }
  return values.map((record) => toEnvelope(record, { ...meta, url: meta.url ?? (typeof record === 'string' ? record : '') }))
}
