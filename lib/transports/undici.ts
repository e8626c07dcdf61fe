import { Pool, type Dispatcher } from 'undici'
import { RequestTimeoutError } from '../errors.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import { MAX_BODY_TEXT } from './transport.js'

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** Whether undici gave up waiting (connect, headers, or a gap in the body). */
export function isUndiciTimeout (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && TIMEOUT_CODES.has(code)
}

/**
 * The default transport: one undici Pool of `connections` keep-alive sockets per origin, driven
 * through `dispatch` with a small handler: no body stream and no promise chain per response, and
 * the body is kept only when the caller wants it. `timeout` bounds connecting, waiting for the
 * response headers, and every gap while the body arrives (undici's own timers).
 */
export class UndiciTransport implements Transport {
  readonly #pools = new Map<string, Pool>()
  readonly #connections: number
  readonly #timeout: number
  #lastOrigin = ''
  #lastPool: Pool | undefined

  constructor (connections: number, timeout: number) {
    this.#connections = connections
    this.#timeout = timeout
  }

  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      this.#pool(request.origin).dispatch({
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body
      }, new ResponseHandler(options, resolve, reject))
    })
  }

  #pool (origin: string): Pool {
    if (origin === this.#lastOrigin && this.#lastPool !== undefined) return this.#lastPool
    let pool = this.#pools.get(origin)
    if (pool === undefined) {
      const timeout = this.#timeout
      pool = new Pool(origin, { connections: this.#connections, pipelining: 1, connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout })
      this.#pools.set(origin, pool)
    }
    this.#lastOrigin = origin
    this.#lastPool = pool
    return pool
  }

  async close (abort = false): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    this.#lastPool = undefined
    this.#lastOrigin = ''
    await Promise.all(pools.map((p) => abort ? p.destroy() : p.close()))
  }
}

/** Collects one response; resolves on completion, rejects (timeouts as ERR_REQUEST_TIMEOUT) on error. */
class ResponseHandler {
  readonly #options: SendOptions
  readonly #resolve: (response: TransportResponse) => void
  readonly #reject: (err: Error) => void
  #status = 0
  #rawHeaders: Buffer[] = []
  #chunks: Buffer[] | undefined
  #length = 0

  constructor (options: SendOptions, resolve: (response: TransportResponse) => void, reject: (err: Error) => void) {
    this.#options = options
    this.#resolve = resolve
    this.#reject = reject
  }

  onConnect (): void {}

  onHeaders (status: number, rawHeaders: Buffer[]): boolean {
    this.#status = status
    this.#rawHeaders = rawHeaders
    if (status >= 200 && this.#options.readBody(status)) this.#chunks = []
    return true
  }

  onData (chunk: Buffer): boolean {
    if (this.#chunks !== undefined && this.#length < (this.#options.maxBody ?? MAX_BODY_TEXT) * 4) {
      this.#chunks.push(chunk)
      this.#length += chunk.length
    }
    return true
  }

  onComplete (): void {
    const chunks = this.#chunks
    const body = chunks === undefined ? '' : (chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')).slice(0, this.#options.maxBody ?? MAX_BODY_TEXT)
    this.#resolve(new CollectedResponse(this.#status, this.#rawHeaders, body))
  }

  onError (err: Error): void {
    this.#reject(isUndiciTimeout(err) ? new RequestTimeoutError(this.#options.timeout, { cause: err }) : err)
  }
}

/** A response whose headers are parsed only if someone reads them (most successes never do). */
class CollectedResponse implements TransportResponse {
  readonly status: number
  readonly body: string
  #raw: Buffer[]
  #headers: Record<string, string | string[]> | undefined

  constructor (status: number, raw: Buffer[], body: string) {
    this.status = status
    this.#raw = raw
    this.body = body
  }

  get headers (): Record<string, string | string[]> {
    if (this.#headers === undefined) {
      const headers: Record<string, string | string[]> = {}
      for (let i = 0; i + 1 < this.#raw.length; i += 2) {
        const name = this.#raw[i]!.toString('latin1').toLowerCase()
        const value = this.#raw[i + 1]!.toString('latin1')
        const seen = headers[name]
        headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
      }
      this.#headers = headers
      this.#raw = []
    }
    return this.#headers
  }
}
