import { Transform, type TransformCallback } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent, request } from 'undici'
import { DeliveryFailedError, InvalidOptionError, RequestTimeoutError, describeError } from './errors.js'
import { isRetryableStatus, parseRetryAfter, retryDelay, type Backoff } from './retry.js'

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
  /** Default 'POST'. */
  method?: string
  headers?: Record<string, string>
  /** Emit results in input order (true, default) or as they complete. */
  ordered?: boolean
  /** Requests in flight at most. Default 64. */
  capacity?: number
  /** ms per attempt. Default 10000. */
  timeout?: number
  /** Attempts after the first, for network errors, timeouts, 408, 429 and 5xx but 501. Default 3. */
  retries?: number
  /** Exponential backoff with full jitter; Retry-After overrides, capped at max. Default { base: 100, max: 30000 }. */
  backoff?: Partial<Backoff>
  /** Builds each request from a record; default: the record as a JSON body to `url`. */
  request?: (record: unknown) => HttpTransformRequest
  /** What is emitted: 'json' (default: parsed JSON, or text), 'text', or 'response' ({ status, headers, body }). */
  response?: 'json' | 'text' | 'response'
}

interface Slot { done: boolean, value: unknown }

/**
 * Flink's async I/O as a Transform: one HTTP request per record, at most `capacity` in flight,
 * results emitted in input order (`ordered`) or as they complete, each attempt bounded by
 * `timeout` and retried with backoff. A record that cannot get a 2xx errors the stream with
 * ERR_DELIVERY_FAILED (as a failed async function fails a Flink job). Empty or JSON-null bodies are
 * emitted as undefined (a stream cannot carry null).
 */
export class HttpTransform extends Transform {
  private readonly o: Required<Omit<HttpTransformOptions, 'url' | 'request' | 'backoff'>> & { url?: URL, request?: HttpTransformOptions['request'], backoff: Backoff }
  private readonly agent: Agent
  private readonly abort = new AbortController()
  private readonly slots: Slot[] = []
  private inFlight = 0
  private held: TransformCallback | undefined
  private flushed: TransformCallback | undefined

  constructor (options: HttpTransformOptions) {
    const o = resolve(options)
    super({ objectMode: true, highWaterMark: o.capacity })
    this.o = o
    this.agent = new Agent({ connections: o.capacity, keepAliveTimeout: 4000 })
  }

  /** Requests under way now. */
  get pending (): number {
    return this.inFlight
  }

  override _transform (record: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    const slot: Slot = { done: false, value: undefined }
    if (this.o.ordered) this.slots.push(slot)
    this.inFlight++
    this.call(record).then((value) => {
      this.inFlight--
      slot.done = true
      slot.value = value
      this.emitReady(slot)
      this.release()
    }, (err: unknown) => {
      this.inFlight--
      if (!this.destroyed) this.destroy(err as Error)
    })
    if (this.occupied() < this.o.capacity) callback()
    else this.held = callback
  }

  override _flush (callback: TransformCallback): void {
    if (this.inFlight === 0) callback()
    else this.flushed = callback
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    this.abort.abort()
    this.agent.destroy().then(() => callback(error), () => callback(error))
  }

  /** Capacity counts, as in Flink, results not yet emitted: in ordered mode those behind a slow one too. */
  private occupied (): number {
    return this.o.ordered ? this.slots.length : this.inFlight
  }

  private emitReady (slot: Slot): void {
    if (!this.o.ordered) {
      this.push(slot.value)
      return
    }
    while (this.slots.length > 0 && (this.slots[0] as Slot).done) this.push((this.slots.shift() as Slot).value)
  }

  private release (): void {
    if (this.held !== undefined && this.occupied() < this.o.capacity) {
      const callback = this.held
      this.held = undefined
      callback()
    }
    if (this.flushed !== undefined && this.inFlight === 0) {
      const callback = this.flushed
      this.flushed = undefined
      callback()
    }
  }

  /** Every attempt for one record; resolves with what to emit, rejects with DeliveryFailedError. */
  private async call (record: unknown): Promise<unknown> {
    const req = this.build(record)
    let last = ''
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined
      try {
        const res = await this.attempt(req)
        if (res.status >= 200 && res.status <= 299) return this.shape(res)
        last = `status ${res.status}`
        if (!isRetryableStatus(res.status)) break
        retryAfter = parseRetryAfter(res.headers['retry-after'])
      } catch (err) {
        if (this.abort.signal.aborted) throw err
        last = describeError(err)
      }
      if (attempt > this.o.retries) break
      await sleep(retryDelay(attempt, this.o.backoff, retryAfter), undefined, { signal: this.abort.signal })
    }
    throw new DeliveryFailedError(`${req.method} ${req.url} failed: ${last}`, [record])
  }

  private build (record: unknown): Required<HttpTransformRequest> & { url: string } {
    const custom = this.o.request?.(record)
    const url = custom?.url !== undefined ? new URL(custom.url, this.o.url).href : this.o.url?.href
    if (url === undefined) throw new DeliveryFailedError('no url: give the url option or return one from request()', [record])
    const body = custom !== undefined && 'body' in custom ? custom.body ?? '' : JSON.stringify(record) ?? ''
    const headers = { 'content-type': 'application/json', ...this.o.headers, ...lower(custom?.headers ?? {}) }
    return { url, method: (custom?.method ?? this.o.method).toUpperCase(), headers, body }
  }

  private async attempt (req: Required<HttpTransformRequest>): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string }> {
    const timeout = this.o.timeout
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(timeout)])
    try {
      const res = await request(req.url as string, {
        method: req.method as 'POST',
        headers: req.headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body,
        dispatcher: this.agent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal
      })
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
    } catch (err) {
      if (!this.abort.signal.aborted && (signal.aborted || /TIMEOUT/.test(String((err as { code?: string }).code)))) throw new RequestTimeoutError(timeout, { cause: err })
      throw err
    }
  }

  private shape (res: { status: number, headers: Record<string, string | string[] | undefined>, text: string }): unknown {
    if (this.o.response === 'text') return res.text
    let body: unknown = res.text === '' ? undefined : res.text
    if (res.text !== '') {
      try {
        body = JSON.parse(res.text) ?? undefined
      } catch {}
    }
    return this.o.response === 'response' ? { status: res.status, headers: res.headers, body } : body
  }
}

function resolve (options: HttpTransformOptions): HttpTransform['o'] {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object')
  const int = (field: 'capacity' | 'timeout' | 'retries', fallback: number, min: number): number => {
    const v = options[field]
    if (v === undefined) return fallback
    if (!Number.isSafeInteger(v) || v < min) throw new InvalidOptionError(field, `must be an integer >= ${min} (got ${JSON.stringify(v)})`)
    return v
  }
  let url: URL | undefined
  if (options.url !== undefined) {
    try {
      url = new URL(options.url)
    } catch {
      throw new InvalidOptionError('url', `not a URL (got ${JSON.stringify(options.url)})`)
    }
  } else if (options.request === undefined) {
    throw new InvalidOptionError('url', 'is required unless request() gives each record its url')
  }
  if (options.request !== undefined && typeof options.request !== 'function') throw new InvalidOptionError('request', 'must be a function (record) => { url?, method?, headers?, body? }')
  const response = options.response ?? 'json'
  if (!['json', 'text', 'response'].includes(response)) throw new InvalidOptionError('response', "must be 'json', 'text' or 'response'")
  const backoff = { base: 100, max: 30000, ...options.backoff }
  if (!Number.isSafeInteger(backoff.base) || !Number.isSafeInteger(backoff.max) || backoff.base < 0 || backoff.base > backoff.max) {
    throw new InvalidOptionError('backoff', 'must be { base, max } with 0 <= base <= max (ms)')
  }
  return {
    url,
    method: options.method ?? 'POST',
    headers: lower(options.headers ?? {}),
    ordered: options.ordered ?? true,
    capacity: int('capacity', 64, 1),
    timeout: int('timeout', 10000, 1),
    retries: int('retries', 3, 0),
    backoff,
    request: options.request,
    response
  }
}

function lower (headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

/** Creates an HttpTransform; see HttpTransformOptions. */
export function createHttpTransform (options: HttpTransformOptions): HttpTransform {
  return new HttpTransform(options)
}
