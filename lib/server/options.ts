import { InvalidOptionError } from '../errors.js'
import { compileOptions, show } from '../shared/validate.js'
import { parseAdvertisedUrl } from './advertised-url.js'
import { DEDUP_SCHEMA, resolveDedup, type DedupOptions, type DedupSettings } from './dedup-options.js'
import type { ServerAuth } from './auth.js'
import type { InlongTopicMapper, ServerLimits } from './context.js'
import { isReceiver, type Receiver } from './receivers/receiver.js'
import { KafkaReceiver, parseKafkaUri, type KafkaReceiverOptions } from './receivers/kafka.js'
import { MemoryReceiver, type MemoryReceiverOptions } from './receivers/memory.js'
import { NullReceiver } from './receivers/null.js'
import { defaultInlongTopic } from './routes/inlong.js'

export interface HttpStreamServerOptions extends MemoryReceiverOptions {
  /** 'memory', 'null', 'kafka://host:port[,host:port]' or your own Receiver. Default 'memory'. */
  receiver?: 'memory' | 'null' | string | Receiver
  /** kafkajs settings for a kafka:// receiver. Default {}. */
  kafka?: KafkaReceiverOptions
  /** Request body bytes at most (413 past it, checked while streaming). Default 16 MiB. */
  maxBodyBytes?: number
  /** JSON nesting depth at most. Default 64. */
  maxJsonDepth?: number
  /** Keys per JSON object at most (400 / 40005 past it, checked before parsing). Default 10000. */
  maxJsonKeys?: number
  /** Characters per JSON string at most, as written (400 / 40006 past it). Default 1 MiB (1048576). */
  maxJsonStringLength?: number
  /** Request header bytes at most (431 past it). Default 16384. */
  maxHeaderBytes?: number
  /** ms to receive the request headers (slowloris guard). Default 10000. */
  headersTimeout?: number
  /** ms to receive the whole request. Default 30000. */
  requestTimeout?: number
  /** ms an idle keep-alive connection stays open. Default 5000. */
  keepAliveTimeout?: number
  /** Longest long-poll a fetch may ask for (ms). Default 30000. */
  maxPollTimeout?: number
  /** Poll wait when a fetch names none (ms). Default 1000. */
  pollTimeout?: number
  /** Bytes per fetch answer at most. Default 8 MiB. */
  maxFetchBytes?: number
  /** Kafka REST consumer instances idle this long (ms) are deleted. Default 300000. */
  instanceTimeoutMs?: number
  /** This node's base URL as clients reach it, named in consumer instances' `base_uri` (Confluent's advertised.listeners). Default: the request's Host. */
  advertisedUrl?: string
  /** `{ token }` (Bearer) or `{ username, password }` (Basic), required on every route but /healthz. Default none. */
  auth?: ServerAuth
  /** InLong DataProxy routes: which topics a report may go to, and its length limit. Default every `groupId.streamId`, 65536. */
  inlong?: {
    /** `{ 'groupId.streamId': topic }` (only those are accepted) or a function; default `groupId.streamId`. */
    topics?: Record<string, string> | InlongTopicMapper
    /** InLong's max-msg-length: a longer request body is HTTP 413, a longer `body` field code 104. Default 65536. */
    maxMsgLength?: number
  }
  /** Idempotency-Key on produce routes: a key applied within `windowMs` is not applied again (its first answer is sent back); `false` turns it off. Default `{ windowMs: 300000, maxKeys: 100000 }`. */
  dedup?: DedupOptions | false
}

export const SERVER_DEFAULTS = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxJsonDepth: 64,
  maxJsonKeys: 10_000,
  maxJsonStringLength: 1024 * 1024,
  maxHeaderBytes: 16384,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5000,
  maxPollTimeout: 30_000,
  pollTimeout: 1000,
  maxFetchBytes: 8 * 1024 * 1024,
  instanceTimeoutMs: 300_000,
  inlongMaxMsgLength: 64 * 1024
}

const positiveInt = { type: 'integer', minimum: 1 }
const nonNegativeInt = { type: 'integer', minimum: 0 }

const check = compileOptions<HttpStreamServerOptions>({
  type: 'object',
  additionalProperties: false,
  properties: {
    receiver: { description: "'memory', 'null', 'kafka://host:port' or a Receiver", anyOf: [{ type: 'string', minLength: 1 }, { isObjectLike: true }] },
    kafka: { type: 'object' },
    retention: { type: 'object', additionalProperties: false, properties: { records: positiveInt, bytes: positiveInt } },
    onFull: { enum: ['reject', 'drop-oldest'] },
    maxBytes: positiveInt,
    maxTopics: positiveInt,
    autoCreateTopics: { type: 'boolean' },
    topics: { type: 'array', items: { type: 'string' } },
    schemas: { type: 'object', additionalProperties: { type: 'object' } },
    maxBodyBytes: positiveInt,
    maxJsonDepth: positiveInt,
    maxJsonKeys: positiveInt,
    maxJsonStringLength: positiveInt,
    maxHeaderBytes: { type: 'integer', minimum: 1024 },
    headersTimeout: positiveInt,
    requestTimeout: positiveInt,
    keepAliveTimeout: nonNegativeInt,
    maxPollTimeout: nonNegativeInt,
    pollTimeout: nonNegativeInt,
    maxFetchBytes: positiveInt,
    instanceTimeoutMs: positiveInt,
    advertisedUrl: { type: 'string', minLength: 1 },
    auth: { type: 'object' },
    dedup: DEDUP_SCHEMA,
    inlong: {
      type: 'object',
      additionalProperties: false,
      properties: {
        topics: { description: 'an object of topics or a function', anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { isFunction: true }] },
        maxMsgLength: positiveInt
      }
    }
  }
})

export interface ResolvedServerOptions {
  receiver: Receiver
  /** The server closes the receiver it made; one given as an object is left to its owner. */
  ownsReceiver: boolean
  limits: ServerLimits
  maxHeaderBytes: number
  headersTimeout: number
  requestTimeout: number
  keepAliveTimeout: number
  instanceTimeoutMs: number
  /** `advertisedUrl` checked, without a trailing slash; undefined: base_uri from the request's Host. */
  advertisedUrl: string | undefined
  auth: ServerAuth | undefined
  inlongTopic: InlongTopicMapper
  inlongMaxMsgLength: number
  /** `dedup` resolved; undefined when off. */
  dedup: DedupSettings | undefined
}

export function resolveServerOptions (options: HttpStreamServerOptions = {}): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', `must be an object (got ${show(options)})`)
  const o = check(options)
  const d = SERVER_DEFAULTS
  const headersTimeout = o.headersTimeout ?? d.headersTimeout
  const requestTimeout = Math.max(o.requestTimeout ?? d.requestTimeout, headersTimeout)
  return {
    ...makeReceiver(o),
    limits: {
      maxBodyBytes: o.maxBodyBytes ?? d.maxBodyBytes,
      maxJsonDepth: o.maxJsonDepth ?? d.maxJsonDepth,
      maxJsonKeys: o.maxJsonKeys ?? d.maxJsonKeys,
      maxJsonStringLength: o.maxJsonStringLength ?? d.maxJsonStringLength,
      maxPollTimeoutMs: o.maxPollTimeout ?? d.maxPollTimeout,
      defaultPollTimeoutMs: Math.min(o.pollTimeout ?? d.pollTimeout, o.maxPollTimeout ?? d.maxPollTimeout),
      maxFetchBytes: o.maxFetchBytes ?? d.maxFetchBytes
    },
    maxHeaderBytes: o.maxHeaderBytes ?? d.maxHeaderBytes,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: o.keepAliveTimeout ?? d.keepAliveTimeout,
    instanceTimeoutMs: o.instanceTimeoutMs ?? d.instanceTimeoutMs,
    advertisedUrl: parseAdvertisedUrl(o.advertisedUrl),
    auth: o.auth,
    inlongTopic: inlongMapper(o.inlong?.topics),
    inlongMaxMsgLength: o.inlong?.maxMsgLength ?? d.inlongMaxMsgLength,
    dedup: resolveDedup(o.dedup)
  }
}

function makeReceiver (o: HttpStreamServerOptions): { receiver: Receiver, ownsReceiver: boolean } {
  const r = o.receiver ?? 'memory'
  const memoryOnly = (['retention', 'onFull', 'schemas', 'maxBytes', 'maxTopics'] as const).find(k => o[k] !== undefined)
  if (r !== 'memory' && memoryOnly !== undefined) throw new InvalidOptionError(memoryOnly, 'applies to the memory receiver only')
  if (o.kafka !== undefined && !(typeof r === 'string' && r.startsWith('kafka:'))) throw new InvalidOptionError('kafka', 'applies to a kafka:// receiver only')
  if (typeof r === 'object') {
    if (!isReceiver(r)) throw new InvalidOptionError('receiver', 'an object must implement Receiver (kind, operations: Set, produce, close)')
    return { receiver: r, ownsReceiver: false }
  }
  if (r === 'memory') return { receiver: new MemoryReceiver(o), ownsReceiver: true }
  if (r === 'null') return { receiver: new NullReceiver(), ownsReceiver: true }
  if (r.startsWith('kafka:')) return { receiver: new KafkaReceiver(parseKafkaUri(r, 'receiver'), o.kafka ?? {}), ownsReceiver: true }
  throw new InvalidOptionError('receiver', `must be 'memory', 'null', 'kafka://host:port' or a Receiver (got ${show(r)})`)
}

function inlongMapper (topics: Record<string, string> | InlongTopicMapper | undefined): InlongTopicMapper {
  if (topics === undefined) return defaultInlongTopic
  if (typeof topics === 'function') {
    return (groupId, streamId) => {
      const t = topics(groupId, streamId)
      return typeof t === 'string' ? t : undefined
    }
  }
  const table = new Map(Object.entries(topics))
  return (groupId, streamId) => table.get(`${groupId}.${streamId}`)
}
