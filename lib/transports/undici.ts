import { Pool, type Dispatcher } from 'undici'
import type { IncomingHttpHeaders } from 'node:http'
import { RequestTimeoutError } from '../errors.js'
import { CappedBody } from './capped-body.js'
import { DeadlineSweep, type Expiring, type Tracked } from './deadline-sweep.js'
import { undiciProxyAgent } from './proxy.js'
import { asTlsError } from './tls-error.js'
import type { ConnectionOptions, OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
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
  readonly #poolOptions: Pool.Options
  readonly #sweep: DeadlineSweep
  /** With a proxy: one dispatcher for every origin (it keeps a pool per origin itself). */
  readonly #proxied: Dispatcher | undefined
  #lastOrigin = ''
  #lastPool: Pool | undefined

  constructor (connections: number, timeout: number, connection: ConnectionOptions = {}) {
    this.#sweep = new DeadlineSweep(timeout)
    const { tls, http2 = false, proxy } = connection
    const perOrigin: Pool.Options = { connections, pipelining: 1, headersTimeout: timeout, bodyTimeout: timeout, ...(http2 ? { allowH2: true } : {}) }
    this.#poolOptions = { ...perOrigin, connect: { timeout, ...tls } }
    // Through a proxy the agent hands each pool its own `connect` (the tunnel, or the proxy itself).
    this.#proxied = proxy === undefined ? undefined : undiciProxyAgent(proxy, (origin, options) => new Pool(origin, { ...options, ...perOrigin }), tls, timeout)
  }

  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      const handler = new ResponseHandler(options, this.#sweep, resolve, reject)
      if (this.#proxied !== undefined) {
        // The proxy agent writes `host` into the headers it is given: a copy, since ours are shared.
        this.#proxied.dispatch({ origin: request.origin, path: request.path, method: request.method as Dispatcher.HttpMethod, headers: { ...request.headers }, body: request.body }, handler)
        return
      }
      this.#pool(request.origin).dispatch({
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers,
        body: request.body
      }, handler)
    })
  }

  #pool (origin: string): Pool {
    if (origin === this.#lastOrigin && this.#lastPool !== undefined) return this.#lastPool
    let pool = this.#pools.get(origin)
    if (pool === undefined) {
      pool = new Pool(origin, this.#poolOptions)
      this.#pools.set(origin, pool)
    }
    this.#lastOrigin = origin
    this.#lastPool = pool
    return pool
  }

  async close (abort = false): Promise<void> {
    const dispatchers: Dispatcher[] = [...this.#pools.values()]
    if (this.#proxied !== undefined) dispatchers.push(this.#proxied)
    this.#pools.clear()
    this.#lastPool = undefined
    this.#lastOrigin = ''
    await Promise.all(dispatchers.map((d) => abort ? d.destroy() : d.close()))
  }
}

/**
 * Collects one response through undici's handler interface (`onRequestStart` … `onResponseEnd`,
 * undici 7 and later) and settles its promise exactly once: on completion, on error (timeouts as
 * ERR_REQUEST_TIMEOUT, certificate failures as ERR_TLS), or when the deadline sweep expires it,
 * whichever comes first. Whatever undici reports after that (bytes past the body, the abort's own
 * error) is ignored.
 */
class ResponseHandler implements Expiring, Dispatcher.DispatchHandler {
  readonly deadline: number
  readonly #options: SendOptions
  readonly #sweep: DeadlineSweep
  readonly #tracked: Tracked
  readonly #resolve: (response: TransportResponse) => void
  readonly #reject: (err: Error) => void
  #settled = false
  #controller: Dispatcher.DispatchController | undefined
  #status = 0
  #headers: IncomingHttpHeaders = {}
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
    this.#controller?.abort(err)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    if (this.#settled) controller.abort(new RequestTimeoutError(this.#options.timeout))
    else this.#controller = controller
  }

  onResponseStart (_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.#status = status
    this.#headers = headers
    if (status >= 200 && this.#options.readBody(status)) this.#body = new CappedBody(this.#options.maxBody ?? MAX_BODY_BYTES)
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.add(chunk)
  }

  onResponseEnd (): void {
    if (this.#settle()) this.#resolve({ status: this.#status, headers: this.#headers, body: this.#body?.text() ?? '' })
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.#settled) return
    this.#fail(isUndiciTimeout(err) ? new RequestTimeoutError(this.#options.timeout, { cause: err }) : asTlsError(err) ?? err)
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
