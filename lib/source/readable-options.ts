import { InvalidOptionError } from '../errors.js'
import { compileOptions, show } from '../shared/validate.js'
import { CLIENT_PROPERTIES, checkObject, parseServerUrl, type HttpStreamClientOptions } from './client-options.js'

export type ReadFrom = 'earliest' | 'latest' | { timestamp: number | string | Date } | { offset: number }

export interface HttpReadableOptions extends HttpStreamClientOptions {
  /** The topic to read. Required. */
  topic: string
  /** Consumer group: readers of one group share the work and its committed offsets. Default `http-stream.<topic>`. */
  groupId?: string
  /** Where a group with no committed offset starts. Default 'earliest'. */
  from?: ReadFrom
  /** Bytes per fetch at most. Default 1 MiB. */
  maxBytes?: number
  /** ms the server may wait for records per fetch. Default 1000. */
  pollTimeout?: number
  /** Add the record's timestamp (epoch ms) to each value under `timestampField`. Default false. */
  includeTimestamp?: boolean
  /** Default '_TIMESTAMP_' (spark-http-stream's column name). */
  timestampField?: string
  /** Commit the offsets of records the consumer has taken, before each fetch and on destroy. Default true. */
  autoCommit?: boolean
  /** Emit `{ topic, partition, offset, key, value, timestamp }` instead of the bare value. Default false. */
  withMetadata?: boolean
  /** Records buffered before fetching stops. Default 1000. */
  highWaterMark?: number
  /** Consumer instance name. Default: `http-stream-<random uuid>`, chosen by the reader. */
  instanceId?: string
  /**
   * ms the reader keeps retrying (jittered backoff) while the server cannot be reached or answers
   * 408/429/5xx, at start and after any failure; past it the stream errors. 0: no retry. Default 30000.
   */
  reconnectMs?: number
  /**
   * Other server nodes serving the same cluster (several `serve` processes on one Kafka receiver).
   * When the reader's node gives no answer (refused, reset, timed out) it re-creates its consumer
   * instance on the next node and resumes from the group's committed offsets. Default [] (one node).
   */
  urls?: string[]
}

export type ResolvedReadableOptions = Required<Omit<HttpReadableOptions, keyof HttpStreamClientOptions | 'instanceId'>> & { instanceId?: string }

const positiveInt = { type: 'integer', minimum: 1 }
const nonNegativeInt = { type: 'integer', minimum: 0 }
const name = { type: 'string', minLength: 1 }

const check = compileOptions<HttpReadableOptions>({
  type: 'object',
  additionalProperties: false,
  required: ['topic'],
  properties: {
    ...CLIENT_PROPERTIES,
    topic: name,
    groupId: name,
    from: {
      anyOf: [
        // The first branch's error is the one reported: its description says what `from` takes.
        { enum: ['earliest', 'latest'], description: "'earliest', 'latest', { timestamp } or { offset: integer >= 0 }" },
        { type: 'object', additionalProperties: false, required: ['offset'], properties: { offset: nonNegativeInt } },
        { type: 'object', additionalProperties: false, required: ['timestamp'], properties: { timestamp: { anyOf: [{ type: 'number' }, { type: 'string' }, { isObjectLike: true }] } } }
      ]
    },
    maxBytes: positiveInt,
    pollTimeout: nonNegativeInt,
    includeTimestamp: { type: 'boolean' },
    timestampField: name,
    autoCommit: { type: 'boolean' },
    withMetadata: { type: 'boolean' },
    highWaterMark: positiveInt,
    instanceId: name,
    reconnectMs: nonNegativeInt,
    urls: { type: 'array', items: { type: 'string' } }
  }
})

/** Validates the reader's options once, at construction, and fills in defaults. Throws InvalidOptionError. */
export function resolveReadableOptions (options: unknown): ResolvedReadableOptions {
  checkObject(options)
  const o = check(options)
  if (typeof o.from === 'object' && 'timestamp' in o.from && Number.isNaN(new Date(o.from.timestamp).getTime())) {
    throw new InvalidOptionError('from.timestamp', `must be epoch ms, an ISO-8601 date or a Date (got ${show(o.from.timestamp)})`)
  }
  return {
    topic: o.topic,
    groupId: o.groupId ?? `http-stream.${o.topic}`,
    from: o.from ?? 'earliest',
    maxBytes: o.maxBytes ?? 1024 * 1024,
    pollTimeout: o.pollTimeout ?? 1000,
    includeTimestamp: o.includeTimestamp ?? false,
    timestampField: o.timestampField ?? '_TIMESTAMP_',
    autoCommit: o.autoCommit ?? true,
    withMetadata: o.withMetadata ?? false,
    highWaterMark: o.highWaterMark ?? 1000,
    instanceId: o.instanceId,
    reconnectMs: o.reconnectMs ?? 30000,
    urls: (o.urls ?? []).map((u, i) => parseServerUrl(u, `urls[${i}]`).href.replace(/\/+$/, ''))
  }
}
