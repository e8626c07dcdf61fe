import { Agent, request } from 'undici'
import { RequestTimeoutError } from '../errors.js'
import { CLIENT_DEFAULTS, checkClientOptions, parseServerUrl, type HttpStreamClientOptions } from './client-options.js'
import { StreamServerError } from './stream-server-error.js'
import { lowerCaseHeaders } from '../shared/headers.js'
import { isUndiciTimeout } from '../transports/undici.js'
import { V2, formatCodec, type EmbeddedFormat, type FormatCodec } from './embedded-format.js'

export type { HttpStreamClientOptions, EmbeddedFormat }

export interface ProduceInput {
  /** With format 'binary': a Buffer, Uint8Array, string (its UTF-8 bytes) or null. */
  key?: unknown
  /** With format 'binary': a Buffer, Uint8Array, string (its UTF-8 bytes) or null. */
  value: unknown
  partition?: number
}

export interface ProduceResult {
  offsets: Array<{ partition: number, offset: number }>
}

export interface SubscribeOptions {
  groupId: string
  /** Instance name; default a random one chosen by the server. */
  instanceId?: string
  /** Where to start when the group has no committed offset. Default 'earliest'. */
  from?: 'earliest' | 'latest'
  /** Let the server commit at each fetch what earlier fetches returned. Default false. */
  autoCommit?: boolean
  /** Aborts the requests (an instance already created is deleted). */
  signal?: AbortSignal
}

/** Options of the calls that can be aborted. */
export interface CallSignal {
  signal?: AbortSignal
}

export interface Subscription {
  groupId: string
  instanceId: string
  /** The instance URL the server gave (used for every later call when it is on the same origin). */
  baseUri: string
  topics: string[]
}

export interface FetchedRecord<T = unknown> {
  topic: string
  partition: number
  offset: number
  /** With format 'binary': a Buffer, or null. */
  key: unknown
  /** With format 'binary': a Buffer, or null. */
  value: T
  /** Epoch ms, when the server gives it (ours does). */
  timestamp?: number
}

export interface FetchOptions {
  /** ms the server may wait for records. Default 1000. */
  timeout?: number
  /** Response bytes at most. */
  maxBytes?: number
  signal?: AbortSignal
}

export interface PartitionRef { topic: string, partition: number }
export interface PartitionOffset extends PartitionRef { offset: number }

interface CallOptions {
  body?: unknown
  contentType?: string
  accept?: string
  timeout?: number
  signal?: AbortSignal
}

/**
 * spark-http-stream's HttpStreamClient over the Kafka REST Proxy v2 API: produce, fetchSchema,
 * subscribe (a consumer instance + its subscription), fetch, commit, unsubscribe; plus seeks and
 * committed offsets. Works against this package's server and any Kafka REST Proxy v2, in the JSON or
 * the binary embedded format (`format`). Failures are StreamServerError (status, errorCode) or
 * RequestTimeoutError; a value the binary format cannot carry is InvalidRecordError.
 */
export class HttpStreamClient {
  readonly url: string
  /** The embedded format of produce, of the consumer instances it creates and of their records. */
  readonly format: EmbeddedFormat
  private readonly codec: FormatCodec
  private readonly origin: string
  private readonly headers: Record<string, string>
  private readonly timeout: number
  private readonly agent: Agent

  /** Throws InvalidOptionError (naming the field) for a bad URL or option. */
  constructor (url: string, options: HttpStreamClientOptions = {}) {
    const parsed = parseServerUrl(url)
    const o = checkClientOptions(options)
    this.url = parsed.href.replace(/\/+$/, '')
    this.origin = parsed.origin
    this.timeout = o.timeout ?? CLIENT_DEFAULTS.timeout
    this.codec = formatCodec(o.format ?? CLIENT_DEFAULTS.format)
    this.format = this.codec.format
    this.headers = { ...lowerCaseHeaders(o.headers ?? {}), ...authHeader(o.auth) }
    this.agent = new Agent({ connections: o.connections ?? CLIENT_DEFAULTS.connections, keepAliveTimeout: 4000 })
  }

  /** Sends values (each becomes `{ value }`) to `topic`; resolves with their offsets once stored. */
  async produce (topic: string, values: unknown[]): Promise<ProduceResult> {
    return await this.produceRecords(topic, values.map(value => ({ value })))
  }

  /** Sends Kafka REST records (`key`, `value`, `partition`), in the client's `format`. */
  async produceRecords (topic: string, records: ProduceInput[]): Promise<ProduceResult> {
    const body = { records: this.codec.encode(records) }
    const answer = await this.call('POST', `/topics/${seg(topic)}`, { body, contentType: this.codec.contentType, accept: V2 }) as { offsets?: unknown }
    const offsets = Array.isArray(answer?.offsets) ? answer.offsets as Array<{ partition: number, offset: number, error_code?: number | null, error?: string | null }> : []
    const failed = offsets.find(o => o.error_code !== null && o.error_code !== undefined)
    if (failed !== undefined) throw new StreamServerError(200, failed.error_code ?? null, `produce to ${topic} failed for a record: ${failed.error ?? 'unknown error'}`)
    return { offsets: offsets.map(o => ({ partition: o.partition, offset: o.offset })) }
  }

  /** The topic's JSON Schema, or null when it has none (or the topic does not exist). */
  async fetchSchema (topic: string): Promise<object | null> {
    try {
      return await this.call('GET', `/topics/${seg(topic)}/schema`, { accept: 'application/json' }) as object
    } catch (err) {
      if (err instanceof StreamServerError && err.status === 404) return null
      throw err
    }
  }

  async setSchema (topic: string, schema: object): Promise<void> {
    await this.call('PUT', `/topics/${seg(topic)}/schema`, { body: schema, contentType: 'application/json' })
  }

  async topics (): Promise<string[]> {
    return await this.call('GET', '/topics', { accept: V2 }) as string[]
  }

  /** Topic metadata; null when it does not exist. */
  async topic (name: string, options: CallSignal = {}): Promise<{ name: string, partitions: Array<{ partition: number }> } | null> {
    try {
      return await this.call('GET', `/topics/${seg(name)}`, { accept: V2, signal: options.signal }) as { name: string, partitions: Array<{ partition: number }> }
    } catch (err) {
      if (err instanceof StreamServerError && err.status === 404) return null
      throw err
    }
  }

  /** Creates a consumer instance in `groupId` and subscribes it to the topics. */
  async subscribe (topics: string | string[], options: SubscribeOptions): Promise<Subscription> {
    const list = typeof topics === 'string' ? [topics] : topics
    const created = await this.call('POST', `/consumers/${seg(options.groupId)}`, {
      body: {
        ...(options.instanceId === undefined ? {} : { name: options.instanceId }),
        format: this.format,
        'auto.offset.reset': options.from ?? 'earliest',
        'auto.commit.enable': String(options.autoCommit ?? false)
      },
      contentType: V2,
      accept: V2,
      signal: options.signal
    }) as { instance_id: string, base_uri: string }
    const sub: Subscription = { groupId: options.groupId, instanceId: created.instance_id, baseUri: created.base_uri, topics: list }
    try {
      await this.call('POST', this.instancePath(sub, '/subscription'), { body: { topics: list }, contentType: V2, signal: options.signal })
    } catch (err) {
      await this.unsubscribe(sub).catch(() => {})
      throw err
    }
    return sub
  }

  /**
   * Records after the instance's position; waits up to `timeout` ms on the server when none is ready.
   * With format 'binary' keys and values are Buffers (null stays null).
   */
  async fetch<T = unknown> (sub: Subscription, options: FetchOptions = {}): Promise<Array<FetchedRecord<T>>> {
    const wait = options.timeout ?? 1000
    const query = new URLSearchParams({ timeout: String(wait) })
    if (options.maxBytes !== undefined) query.set('max_bytes', String(options.maxBytes))
    const records = await this.call('GET', this.instancePath(sub, `/records?${query.toString()}`), {
      accept: this.codec.contentType, timeout: this.timeout + wait, signal: options.signal
    })
    return Array.isArray(records) ? this.codec.decode(records as FetchedRecord[]) as Array<FetchedRecord<T>> : []
  }

  /**
   * Commits the offsets of the last records consumed (the group resumes after them); with no list,
   * everything fetched so far.
   */
  async commit (sub: Subscription, records?: PartitionOffset[], options: CallSignal = {}): Promise<void> {
    const body = records === undefined ? undefined : { offsets: records.map(r => ({ topic: r.topic, partition: r.partition, offset: r.offset })) }
    await this.call('POST', this.instancePath(sub, '/offsets'), { body, contentType: V2, signal: options.signal })
  }

  /** The group's committed (next-to-read) offsets; partitions never committed are left out. */
  async committed (sub: Subscription, partitions: PartitionRef[], options: CallSignal = {}): Promise<PartitionOffset[]> {
    const answer = await this.call('GET', this.instancePath(sub, '/offsets'), { body: { partitions }, contentType: V2, accept: V2, signal: options.signal }) as { offsets?: PartitionOffset[] }
    return (answer?.offsets ?? []).filter(o => o.offset >= 0).map(o => ({ topic: o.topic, partition: o.partition, offset: o.offset }))
  }

  async seek (sub: Subscription, offsets: PartitionOffset[], options: CallSignal = {}): Promise<void> {
    await this.call('POST', this.instancePath(sub, '/positions'), { body: { offsets }, contentType: V2, signal: options.signal })
  }

  /** Seeks to the first record stored at or after `timestamp` (epoch ms). An extension of this server. */
  async seekToTimestamp (sub: Subscription, partitions: PartitionRef[], timestamp: number, options: CallSignal = {}): Promise<void> {
    const timestamps = partitions.map(p => ({ ...p, timestamp }))
    await this.call('POST', this.instancePath(sub, '/positions'), { body: { timestamps }, contentType: V2, signal: options.signal })
  }

  async seekToBeginning (sub: Subscription, partitions: PartitionRef[]): Promise<void> {
    await this.call('POST', this.instancePath(sub, '/positions/beginning'), { body: { partitions }, contentType: V2 })
  }

  async seekToEnd (sub: Subscription, partitions: PartitionRef[]): Promise<void> {
    await this.call('POST', this.instancePath(sub, '/positions/end'), { body: { partitions }, contentType: V2 })
  }

  /** Deletes the consumer instance (its group keeps the committed offsets). */
  async unsubscribe (sub: Subscription, options: CallSignal = {}): Promise<void> {
    await this.call('DELETE', this.instancePath(sub, ''), { contentType: V2, signal: options.signal })
  }

  async close (): Promise<void> {
    await this.agent.close()
  }

  private instancePath (sub: Subscription, rest: string): string {
    let base = `${this.url}/consumers/${seg(sub.groupId)}/instances/${seg(sub.instanceId)}`
    try {
      if (new URL(sub.baseUri).origin === this.origin) base = sub.baseUri.replace(/\/+$/, '')
    } catch {}
    return base + rest
  }

  private async call (method: string, pathOrUrl: string, o: CallOptions = {}): Promise<unknown> {
    const target = pathOrUrl.startsWith('http') ? pathOrUrl : this.url + pathOrUrl
    const headers: Record<string, string> = { ...this.headers }
    if (o.accept !== undefined) headers.accept = o.accept
    const body = o.body === undefined ? undefined : JSON.stringify(o.body)
    if (body !== undefined) headers['content-type'] = o.contentType ?? 'application/json'
    const timeout = o.timeout ?? this.timeout
    let res
    try {
      res = await request(target, { method: method as 'GET', headers, body, dispatcher: this.agent, headersTimeout: timeout, bodyTimeout: timeout, signal: o.signal })
    } catch (err) {
      throw networkError(err, timeout, method, target)
    }
    let text: string
    try {
      text = await res.body.text()
    } catch (err) {
      throw networkError(err, timeout, method, target)
    }
    const json = parse(text)
    if (res.statusCode >= 400) {
      const e = json as { error_code?: unknown, message?: unknown } | undefined
      const code = typeof e?.error_code === 'number' ? e.error_code : null
      const message = typeof e?.message === 'string' ? e.message : text.slice(0, 200)
      throw new StreamServerError(res.statusCode, code, `${method} ${new URL(target).pathname}: ${res.statusCode} ${message}`)
    }
    return json
  }
}

function networkError (err: unknown, timeout: number, method: string, target: string): Error {
  if (isUndiciTimeout(err)) return new RequestTimeoutError(timeout, { cause: err })
  if ((err as Error)?.name === 'AbortError') return err as Error
  return new StreamServerError(null, null, `${method} ${target}: ${(err as Error)?.message ?? String(err)}`, { cause: err })
}

function parse (text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function seg (name: string): string {
  return encodeURIComponent(name)
}

function authHeader (auth: HttpStreamClientOptions['auth']): Record<string, string> {
  if (auth === undefined) return {}
  if ('token' in auth) return { authorization: `Bearer ${auth.token}` }
  return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
}
