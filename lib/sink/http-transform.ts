import { Transform, type TransformCallback } from 'node:stream'
import { DeliveryFailedError, InvalidOptionError, StreamDestroyedError } from '../errors.js'
import { DeliveryEngine, type Job } from './delivery-engine.js'
import type { SinkMetrics } from './sink-metrics.js'
import { resolveOptions, type HttpWritableOptions } from './options.js'
import { compileOptions } from '../shared/validate.js'
import { lowerCaseHeaders } from '../shared/headers.js'
import type { EncodeFunction } from '../encoders/index.js'
import type { TransportResponse } from '../transports/transport.js'
import type { Backoff } from '../shared/retry.js'

export interface HttpTransformRequest {
  url?: string
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
}

export interface HttpTransformResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON when the body is JSON, else its text; undefined when empty. */
  body: unknown
}

export interface HttpTransformOptions {
  /** Where each record goes (unless `request` says otherwise). */
  url?: string
  /** Any HTTP method; GET and HEAD send no body by default. Default 'POST'. */
  method?: string
  /** Headers added to every request. Default { 'content-type': 'application/json' }. */
  headers?: Record<string, string>
  /** Emit results in input order (true, default) or as they complete. */
  ordered?: boolean
  /** Requests in flight at most. Default 64. */
  capacity?: number
  /** ms per attempt, as the writable's `timeout`. Default 10000. */
  timeout?: number
  /** Attempts after the first, for network errors, timeouts, 408, 429 and 5xx but 501. Default 3. */
  retries?: number
  /** Exponential backoff with full jitter; Retry-After overrides, capped at max. Default { base: 100, max: 30000 }. */
  backoff?: Partial<Backoff>
  /** Builds each request from a record; default: the record as a JSON body to `url` (no body for GET and HEAD). */
  request?: (record: unknown) => HttpTransformRequest
  /** What is emitted: 'json' (default: parsed JSON, or text), 'text', or 'response' ({ status, headers, body }). */
  response?: 'json' | 'text' | 'response'
  /** 'undici' (default) or 'got', as the writable's. */
  transport?: 'undici' | 'got'
  /** got options, with `transport: 'got'`. Default {}. */
  got?: HttpWritableOptions['got']
  /** Client TLS, as the writable's `tls`. Default node's. */
  tls?: HttpWritableOptions['tls']
  /** Let undici negotiate HTTP/2, as the writable's. Default false. */
  http2?: HttpWritableOptions['http2']
  /** A forward proxy URL or 'env', as the writable's. Default none. */
  proxy?: HttpWritableOptions['proxy']
  /** Request body compression, as the writable's. Default off. */
  compression?: HttpWritableOptions['compression']
  /** Bearer, Basic or OAuth2 client credentials, as the writable's. Default none. */
  auth?: HttpWritableOptions['auth']
  /** Aborting it destroys the transform with ERR_STREAM_DESTROYED; `err.records` holds every record not answered. Default none. */
  signal?: AbortSignal
}

/** Endpoint options passed to the engine as they are; the writable's option checks judge them. */
const ENDPOINT_OPTIONS = ['got', 'tls', 'http2', 'proxy', 'compression', 'auth', 'signal'] as const

interface Slot { done: boolean, value: unknown }

const check = compileOptions<HttpTransformOptions>({
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { type: 'string' },
    method: { type: 'string' },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    ordered: { type: 'boolean' },
    capacity: { type: 'integer', minimum: 1 },
    timeout: { type: 'integer', minimum: 1 },
    retries: { type: 'integer', minimum: 0 },
    backoff: { type: 'object' },
    request: { isFunction: true, description: 'a function (record) => { url?, method?, headers?, body? }' },
    response: { enum: ['json', 'text', 'response'] },
    transport: { enum: ['undici', 'got'] },
    ...Object.fromEntries(ENDPOINT_OPTIONS.map((name) => [name, {}]))
  }
})

/**
 * Flink's async I/O as a Transform: one HTTP request per record, at most `capacity` in flight,
 * results emitted in input order (`ordered`) or as they complete. Requests go through the same
 * delivery engine as the writable (transports, timeouts, retries, Retry-After). A record that cannot
 * get a 2xx errors the stream with ERR_DELIVERY_FAILED carrying it (as a failed async function fails
 * a Flink job). Empty or JSON-null bodies are emitted as undefined (a stream cannot carry null).
 */
export class HttpTransform extends Transform {
  readonly #engine: DeliveryEngine
  readonly #ordered: boolean
  readonly #capacity: number
  readonly #response: NonNullable<HttpTransformOptions['response']>
  readonly #slots: Slot[] = []
  #held: TransformCallback | undefined
  #flushed: TransformCallback | undefined

  constructor (options: HttpTransformOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object')
    const o = check(options)
    if (o.url === undefined && o.request === undefined) throw new InvalidOptionError('url', 'is required unless request() gives each record its url')
    const capacity = o.capacity ?? 64
    super({ objectMode: true, highWaterMark: capacity })
    this.#ordered = o.ordered ?? true
    this.#capacity = capacity
    this.#response = o.response ?? 'json'
    const resolved = resolveOptions(engineOptions(o, capacity))
    this.#engine = new DeliveryEngine(resolved, { keepResponses: true, fail: (job) => this.#fail(job) })
    this.#engine.onSettled = (job, outcome, response) => {
      if (outcome === 'delivered') this.#answered(job.tags![0] as Slot, response!)
    }
    this.#engine.on('error', (err: Error) => this.destroy(err))
    if (resolved.signal !== undefined) this.#destroyOnAbort(resolved.signal)
  }

  /** `signal`: aborting (or already aborted) destroys the transform, reporting the records not answered. */
  #destroyOnAbort (signal: AbortSignal): void {
    const abort = (): void => { this.#abort(signal.reason) }
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    this.once('close', () => signal.removeEventListener('abort', abort))
  }

  #abort (reason: unknown): void {
    if (this.destroyed) return
    const state = (this as unknown as { _writableState?: { getBuffer?: () => Array<{ chunk: unknown }> } })._writableState
    const buffered = state?.getBuffer?.().map((c) => c.chunk) ?? []
    const records = [...this.#engine.stop().flatMap((job) => this.#engine.recordsOf(job)), ...buffered]
    this.destroy(new StreamDestroyedError(records, { message: `aborted with ${records.length} record(s) not answered`, cause: reason }))
  }

  /** Counters and the request latency histogram, as the writable's metrics(). */
  metrics (): SinkMetrics {
    return this.#engine.meter.snapshot(this.#engine.stats())
  }

  /** Requests under way now. */
  get pending (): number {
    return this.#engine.stats().inFlight
  }

  override _transform (record: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const slot: Slot = { done: false, value: undefined }
    if (this.#ordered) this.#slots.push(slot)
    this.#engine.push(record, slot)
    if (this.#occupied() < this.#capacity) callback()
    else this.#held = callback
  }

  override _flush (callback: TransformCallback): void {
    if (this.#engine.inside === 0) callback()
    else this.#flushed = callback
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.#engine.stop()
    this.#engine.close().then(() => callback(error), () => callback(error))
  }

  /** Capacity counts, as in Flink, results not yet emitted: in ordered mode those behind a slow one too. */
  #occupied (): number {
    return this.#ordered ? this.#slots.length : this.#engine.inside
  }

  #answered (slot: Slot, response: TransportResponse): void {
    slot.done = true
    slot.value = this.#shape(response)
    if (!this.#ordered) this.push(slot.value)
    else while (this.#slots.length > 0 && this.#slots[0]!.done) this.push(this.#slots.shift()!.value)
    if (this.#held !== undefined && this.#occupied() < this.#capacity) {
      const callback = this.#held
      this.#held = undefined
      callback()
    }
    if (this.#flushed !== undefined && this.#engine.inside === 0) {
      const callback = this.#flushed
      this.#flushed = undefined
      callback()
    }
  }

  #fail (job: Job): void {
    const request = job.request === undefined ? '' : `${job.request.method} ${job.request.origin}${job.request.path} `
    this.destroy(new DeliveryFailedError(`${request}failed after ${job.attempts} attempt(s): ${job.error ?? 'unknown error'}`, this.#engine.recordsOf(job)))
  }

  #shape (response: TransportResponse): unknown {
    if (this.#response === 'text') return response.body
    let body: unknown
    if (response.body !== '') {
      try {
        body = JSON.parse(response.body) ?? undefined
      } catch {
        body = response.body
      }
    }
    return this.#response === 'response' ? { status: response.status, headers: response.headers, body } : body
  }
}

/** The transform's options as the delivery engine's: one request per record, no failover. */
function engineOptions (o: HttpTransformOptions, capacity: number): HttpWritableOptions {
  const method = (o.method ?? 'POST').toUpperCase()
  const build = o.request
  const encode: EncodeFunction = ([record]) => {
    const custom = build?.(record)
    const body = custom !== undefined && 'body' in custom ? custom.body : (method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(record))
    return { url: custom?.url, method: custom?.method, headers: custom?.headers, body }
  }
  return {
    ...(o.url === undefined ? {} : { url: o.url }),
    method: method as HttpWritableOptions['method'],
    headers: { 'content-type': 'application/json', ...lowerCaseHeaders(o.headers ?? {}) },
    numWriters: capacity,
    ...(o.timeout === undefined ? {} : { timeout: o.timeout }),
    ...(o.retries === undefined ? {} : { retries: o.retries }),
    ...(o.backoff === undefined ? {} : { backoff: o.backoff }),
    ...(o.transport === undefined ? {} : { transport: o.transport }),
    ...Object.fromEntries(ENDPOINT_OPTIONS.filter((name) => o[name] !== undefined).map((name) => [name, o[name]])),
    encoding: encode,
    failover: false
  }
}

/** Creates an HttpTransform; see HttpTransformOptions. */
export function createHttpTransform (options: HttpTransformOptions): HttpTransform {
  return new HttpTransform(options)
}
