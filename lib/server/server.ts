import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { HttpStreamError, InvalidOptionError, describeError } from '../errors.js'
import { authCheck, type AuthCheck } from './auth.js'
import { ConsumerInstances } from './consumer-instances.js'
import { dedupTable } from './dedup-options.js'
import type { DedupTable } from './dedup-table.js'
import type { Route, RouteContext } from './context.js'
import { HttpProblem, notFound } from './http-problem.js'
import { sendJson } from './http-io.js'
import { ServerMetrics } from './metrics.js'
import { decodeSegment } from './names.js'
import type { Receiver } from './receivers/receiver.js'
import { ReceiverError, ReceiverFullError } from './receivers/receiver-errors.js'
import { actionRoutes } from './routes/actions.js'
import { inlongRoutes } from './routes/inlong.js'
import { consumerRoutes } from './routes/kafka-consumers.js'
import { topicRoutes, V2 } from './routes/kafka-rest.js'
import { brokerRoutes } from './routes/kafka-rest-partitions.js'
import { v3Routes } from './routes/kafka-rest-v3.js'
import { healthRoute, metricsRoute } from './routes/ops.js'
import { resolveServerOptions, type HttpStreamServerOptions, type ResolvedServerOptions } from './options.js'

/** First path segment → surface name (for metrics and error content types) and route. A Map: no name inherits. */
const ROUTES = new Map<string, [string, Route]>([
  ['topics', ['kafka-rest', topicRoutes]],
  ['consumers', ['kafka-rest', consumerRoutes]],
  ['brokers', ['kafka-rest', brokerRoutes]],
  ['v3', ['kafka-rest-v3', v3Routes]],
  ['actions', ['actions', actionRoutes]],
  ['dataproxy', ['inlong', inlongRoutes]],
  ['metrics', ['metrics', metricsRoute]],
  ['healthz', ['health', healthRoute]]
])

const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/

/**
 * The HTTP stream server: Kafka REST Proxy v2 (+ NDJSON bulk), spark-http-stream's /actions and
 * InLong's /dataproxy in front of one Receiver; /healthz and /metrics. Every bad request gets a 4xx
 * JSON answer; no handler error escapes (the server never crashes on input).
 */
export class HttpStreamServer {
  readonly receiver: Receiver
  readonly metrics = new ServerMetrics()
  /** The Idempotency-Key table (`dedup`); undefined with `dedup: false`. */
  readonly dedup: DedupTable | undefined
  private readonly options: ResolvedServerOptions
  private readonly http: Server
  private readonly instances: ConsumerInstances
  private readonly closing = new AbortController()
  private readonly ctx: RouteContext
  private readonly auth: AuthCheck | undefined
  private readonly sockets = new Set<Socket>()
  private base: string | undefined
  private closed: Promise<void> | undefined

  constructor (options: HttpStreamServerOptions = {}) {
    this.options = resolveServerOptions(options)
    this.auth = authCheck(this.options.auth)
    this.receiver = this.options.receiver
    this.dedup = dedupTable(this.options.dedup, this.receiver)
    // The memory receiver is one node's; with any other, an instance unknown here may live on another node.
    this.instances = new ConsumerInstances(this.options.instanceTimeoutMs, this.receiver.kind !== 'memory')
    this.ctx = {
      receiver: this.receiver,
      limits: this.options.limits,
      metrics: this.metrics,
      instances: this.instances,
      inlongTopic: this.options.inlongTopic,
      inlongMaxMsgLength: this.options.inlongMaxMsgLength,
      dedup: this.dedup,
      closing: this.closing.signal,
      baseUrl: (req) => this.baseUrl(req)
    }
    const { headersTimeout, requestTimeout, keepAliveTimeout, maxHeaderBytes } = this.options
    this.http = createServer({
      maxHeaderSize: maxHeaderBytes,
      headersTimeout,
      requestTimeout,
      keepAliveTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4)))
    }, (req, res) => { void this.handle(req, res) })
    this.http.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
    })
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => { clientError(err, socket) })
  }

  /** `http://127.0.0.1:PORT` once listening. */
  get url (): string {
    if (this.base === undefined) throw new HttpStreamError('ERR_NOT_LISTENING', 'server.url: the server is not listening yet (await server.listen() first)')
    return this.base
  }

  /** Resolves once listening; port 0 picks a free port. */
  listen (port = 0, host = '127.0.0.1'): Promise<this> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return Promise.reject(new InvalidOptionError('port', `must be a whole number from 0 to 65535 (got ${String(port)})`))
    if (typeof host !== 'string' || host === '') return Promise.reject(new InvalidOptionError('host', `must be a host name or address (got ${String(host)})`))
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err)
      this.http.once('error', onError)
      this.http.listen(port, host, () => {
        this.http.off('error', onError)
        const address = this.http.address()
        const p = typeof address === 'object' && address !== null ? address.port : port
        this.base = `http://${host.includes(':') ? `[${host}]` : host}:${p}`
        resolve(this)
      })
    })
  }

  /** Stops accepting, ends long polls, closes consumer instances and (if it made it) the receiver. */
  close (): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort()
      const stopped = new Promise<void>(resolve => this.http.close(() => resolve()))
      this.http.closeIdleConnections()
      const grace = setTimeout(() => { for (const s of this.sockets) s.destroy() }, 2000)
      await this.instances.closeAll()
      if (this.options.ownsReceiver) await this.receiver.close()
      if (!this.http.listening) clearTimeout(grace)
      await stopped
      clearTimeout(grace)
    })()
    return this.closed
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    let surface = 'other'
    let contentType = 'application/json'
    res.once('finish', () => this.metrics.request(surface, res.statusCode))
    try {
      const url = new URL(req.url ?? '/', 'http://localhost')
      const segments = url.pathname.split('/').filter(s => s !== '').map(decodeSegment)
      const entry = ROUTES.get(segments[0] ?? '')
      if (entry === undefined) throw notFound()
      surface = entry[0]
      if (surface === 'kafka-rest') contentType = V2
      if (surface !== 'health') this.auth?.(req)
      await entry[1](this.ctx, { req, res, url, segments })
    } catch (err) {
      this.fail(res, err, contentType)
    }
  }

  private fail (res: ServerResponse, err: unknown, contentType: string): void {
    if (res.headersSent) {
      res.destroy()
      return
    }
    if (err instanceof HttpProblem) {
      sendJson(res, err.status, { error_code: err.errorCode, message: err.message }, contentType, err.headers)
      return
    }
    if (err instanceof ReceiverError) {
      const headers: Record<string, string> = {}
      if (err instanceof ReceiverFullError) {
        headers['retry-after'] = String(err.retryAfterSeconds)
        this.metrics.throttle(err.topic)
      }
      sendJson(res, err.status, { error_code: err.errorCode, message: err.message }, contentType, headers)
      return
    }
    sendJson(res, 500, { error_code: 500, message: `Internal server error: ${describeError(err)}` }, contentType)
  }

  private baseUrl (req: IncomingMessage): string {
    if (this.options.advertisedUrl !== undefined) return this.options.advertisedUrl
    const host = req.headers.host
    return typeof host === 'string' && HOST.test(host) ? `http://${host}` : this.url
  }
}

/** Malformed HTTP, header overflow, timeouts: answer in JSON when the socket can still take it. */
function clientError (err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const body = JSON.stringify({ error_code: status, message: `HTTP ${status} ${STATUS_CODES[status] ?? ''}` })
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
}

/** Creates a stream server; call `await server.listen()` to start it. */
export function createHttpStreamServer (options?: HttpStreamServerOptions): HttpStreamServer {
  return new HttpStreamServer(options)
}

export type { HttpStreamServerOptions } from './options.js'
