import { Pool, type Dispatcher } from 'undici'
import { RequestTimeoutError } from '../errors.js'
import { CappedBody } from './capped-body.js'
import { DeadlineSweep, type Expiring, type Tracked } from './deadline-sweep.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import { MAX_BODY_BYTES } from './transport.js'

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** Whether undici gave up waiting (connect, headers, or a gap in the body). */
export function isUndiciTimeout (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && TIMEOUT_CODES.has(code)
}

/**
 * The default transport: one undici Pool of `connections` keep-alive sockets per origin, driven
 * through `dispatch` with a small handler: no body stream and no promise chain per response, and
 * the body is kept only when the caller wants it (its first `maxBody` bytes). `timeout` bounds the
 * whole attempt, connect to last byte: undici's own timers cut a silent connect, wait for headers
 * or gap in the body, and one DeadlineSweep per transport cuts a body that trickles in too slowly.
 */
export class UndiciTransport implements Transport {
  readonly #pools = new Map<string, Pool>()
  readonly #connections: number
  readonly #timeout: number
  readonly #sweep: DeadlineSweep
  #lastOrigin = ''
  #lastPool: Pool | undefined

  constructor (connections: number, timeout: number) {
    this.#connections = connections
    this.#timeout = timeout
    this.#sweep = new DeadlineSweep(timeout)
  }

  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      this.#pool(request.origin).dispatch({
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body
      }, new ResponseHandler(options, this.#sweep, resolve, reject))
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

/**
 * Collects one response and settles its promise exactly once: on completion, on error (timeouts as
 * ERR_REQUEST_TIMEOUT), or when the deadline sweep expires it, whichever comes first. Whatever
 * undici reports after that (bytes past the body, the abort's own error) is ignored.
 */
class ResponseHandler implements Expiring {
  readonly deadline: number
  readonly #options: SendOptions
  readonly #sweep: DeadlineSweep
  readonly #tracked: Tracked
  readonly #resolve: (response: TransportResponse) => void
  readonly #reject: (err: Error) => void
  #settled = false
  #abort: ((err: Error) => void) | undefined
  #status = 0
  #rawHeaders: Buffer[] = []
  #body: CappedBody | undefined

  constructor (options: SendOptions, sweep: DeadlineSweep, resolve: (response: TransportResponse) => void, reject: (err: Error) => void) {
    this.deadline = performance.now() + options.timeout
    this.#options = options
    this.#sweep = sweep
    this.#resolve = resolve
    this.#reject = reject
    this.#tracked = sweep.track(this)
  }

  /** Past the deadline: fail now, and cut the request (at once, or as soon as undici hands it a socket). */
  expire (): void {
    const err = new RequestTimeoutError(this.#options.timeout)
    this.#fail(err)
    this.#abort?.(err)
  }

  onConnect (abort: (err: Error) => void): void {
    if (this.#settled) abort(new RequestTimeoutError(this.#options.timeout))
    else this.#abort = abort
  }

  onHeaders (status: number, rawHeaders: Buffer[]): boolean {
    this.#status = status
    this.#rawHeaders = rawHeaders
    if (status >= 200 && this.#options.readBody(status)) this.#body = new CappedBody(this.#options.maxBody ?? MAX_BODY_BYTES)
    return true
  }

  onData (chunk: Buffer): boolean {
    this.#body?.add(chunk)
    return true
  }

  onComplete (): void {
    if (this.#settle()) this.#resolve(new CollectedResponse(this.#status, this.#rawHeaders, this.#body?.text() ?? ''))
  }

  onError (err: Error): void {
    this.#fail(isUndiciTimeout(err) ? new RequestTimeoutError(this.#options.timeout, { cause: err }) : err)
  }

  #fail (err: Error): void {
    if (this.#settle()) this.#reject(err)
  }

  /** True the first time only. */
  #settle (): boolean {
    if (this.#settled) return false
    this.#settled = true
    this.#sweep.untrack(this.#tracked)
    return true
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
