/**
 * A real HTTP receiver on 127.0.0.1 (port 0) for the delivery tests. It records every request and
 * every record it accepted (a multiset keyed by JSON text), and answers by a programmable fault plan:
 * a status per request (with headers such as Retry-After), a connection reset, no answer at all,
 * a slow answer, or an answer held until a promise settles. It can go down and come back on the
 * same port. Records are parsed from JSON, NDJSON, JSON-array and StreamPark URL-as-JSON bodies.
 */
import { EventEmitter } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** How a request body turns into records. `auto`: NDJSON by content type, else JSON (an array is a batch), else lines. */
export type BodyFormat = 'auto' | 'url' | 'none'

export type Reply =
  | { status: number, headers?: Record<string, string>, body?: string, delayMs?: number, until?: Promise<unknown> }
  | { reset: true }
  | { hang: true }

export interface ReceivedRequest {
  /** 0-based arrival order. */
  seq: number
  method: string
  path: string
  /** The query string without `?` ('' when none). */
  query: string
  headers: http.IncomingHttpHeaders
  body: string
  records: unknown[]
  /** performance.now() when the body had been read. */
  arrivedAt: number
  /** performance.now() when the answer was sent (or the socket reset). */
  answeredAt?: number
  outcome?: 'answered' | 'reset' | 'hang' | 'aborted'
  status?: number
}

/** Decides the reply to each request; `undefined` means 200. */
export type FaultPlan = (req: ReceivedRequest) => Reply | undefined

export interface ReceiverOptions {
  plan?: FaultPlan
  format?: BodyFormat
}

export const recordKey = (record: unknown): string => typeof record === 'string' ? record : JSON.stringify(record)

export class Receiver extends EventEmitter {
  plan: FaultPlan
  readonly format: BodyFormat
  readonly requests: ReceivedRequest[] = []
  /** Records of requests answered with a 2xx status, by recordKey. */
  readonly delivered = new Map<string, number>()
  active = 0
  maxActive = 0
  port = 0
  private readonly server: http.Server
  private readonly sockets = new Set<import('node:net').Socket>()

  constructor (options: ReceiverOptions = {}) {
    super()
    this.plan = options.plan ?? (() => undefined)
    this.format = options.format ?? 'auto'
    this.server = http.createServer((req, res) => { this.handle(req, res) })
    this.server.on('connection', (socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  /** Every record accepted, counting repeats. */
  get deliveredCount (): number {
    let n = 0
    for (const c of this.delivered.values()) n += c
    return n
  }

  async listen (): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    this.port = (this.server.address() as AddressInfo).port
    return this
  }

  /** Stops listening and cuts every connection, including held and hung requests. */
  async down (): Promise<void> {
    if (!this.server.listening) return
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const socket of this.sockets) socket.destroy()
    await closed
  }

  /** Listens again on the same port. */
  async up (): Promise<void> { await this.listen() }

  async close (): Promise<void> {
    await this.down()
    this.removeAllListeners()
  }

  /** Resolves once `predicate()` holds, checked now and after every request event. */
  async waitFor (predicate: () => boolean): Promise<void> {
    if (predicate()) return
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (!predicate()) return
        this.off('change', check)
        resolve()
      }
      this.on('change', check)
    })
  }

  private handle (req: http.IncomingMessage, res: http.ServerResponse): void {
    this.active++
    this.maxActive = Math.max(this.maxActive, this.active)
    res.on('close', () => {
      this.active--
      this.emit('change')
    })
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('error', () => {})
    req.on('end', () => {
      const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s)
      const body = Buffer.concat(chunks).toString('utf8')
      const entry: ReceivedRequest = {
        seq: this.requests.length,
        method: req.method ?? '',
        path,
        query,
        headers: req.headers,
        body,
        records: [],
        arrivedAt: performance.now()
      }
      entry.records = this.parse(entry)
      this.requests.push(entry)
      this.emit('request', entry)
      this.emit('change')
      this.answer(entry, req, res, this.plan(entry) ?? { status: 200 })
    })
  }

  private answer (entry: ReceivedRequest, req: http.IncomingMessage, res: http.ServerResponse, reply: Reply): void {
    if ('hang' in reply) {
      entry.outcome = 'hang'
      return
    }
    if ('reset' in reply) {
      entry.outcome = 'reset'
      entry.answeredAt = performance.now()
      req.socket.resetAndDestroy()
      return
    }
    const send = (): void => {
      if (req.socket.destroyed || res.writableEnded) {
        entry.outcome = 'aborted'
        this.emit('change')
        return
      }
      entry.outcome = 'answered'
      entry.status = reply.status
      entry.answeredAt = performance.now()
      if (reply.status >= 200 && reply.status < 300) {
        for (const record of entry.records) {
          const key = recordKey(record)
          this.delivered.set(key, (this.delivered.get(key) ?? 0) + 1)
        }
      }
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
      res.end(reply.body ?? (reply.status < 300 ? '{"ok":true}' : `{"error":${reply.status}}`))
      this.emit('answered', entry)
      this.emit('change')
    }
    const later = (): void => {
      if (reply.delayMs !== undefined && reply.delayMs > 0) setTimeout(send, reply.delayMs)
      else send()
    }
    if (reply.until !== undefined) reply.until.then(later, later)
    else later()
  }

  private parse (entry: ReceivedRequest): unknown[] {
    if (this.format === 'none') return []
    if (this.format === 'url') return [this.urlRecord(entry)]
    const body = entry.body
    if (body.trim() === '') return []
    const type = String(entry.headers['content-type'] ?? '')
    if (!type.includes('ndjson')) {
      try {
        const value: unknown = JSON.parse(body)
        return Array.isArray(value) ? value : [value]
      } catch {}
    }
    return body.split('\n').filter((line) => line.trim() !== '').map((line) => {
      try { return JSON.parse(line) as unknown } catch { return line }
    })
  }

  /** StreamPark: the record was `base + path + '?' + query`, and the query travelled as a JSON body (or stayed in the URL). */
  private urlRecord (entry: ReceivedRequest): string {
    let query = entry.query
    if (entry.body.trim() !== '') {
      const params = JSON.parse(entry.body) as Record<string, unknown>
      const pairs = Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => [k, String(one)]))
      query = new URLSearchParams(pairs).toString()
    }
    return `${this.url}${entry.path}${query === '' ? '' : `?${query}`}`
  }
}

export async function startReceiver (options: ReceiverOptions = {}): Promise<Receiver> {
  return await new Receiver(options).listen()
}

/** The first record of a request, as an object (undefined when the body held none). */
export function firstRecord (req: ReceivedRequest): Record<string, unknown> | undefined {
  const r = req.records[0]
  return r !== null && typeof r === 'object' ? r as Record<string, unknown> : undefined
}

/** A plan answering `reply` to the requests whose seq is in [from, to), 200 otherwise. */
export function burst (from: number, to: number, reply: Reply | ((seq: number) => Reply)): FaultPlan {
  return (req) => {
    if (req.seq < from || req.seq >= to) return undefined
    return typeof reply === 'function' ? reply(req.seq) : reply
  }
}

/** A plan answering `reply` to every request carrying a record that matches `poison`. */
export function poison (isPoison: (record: Record<string, unknown>) => boolean, reply: Reply = { status: 400 }): FaultPlan {
  return (req) => req.records.some((r) => r !== null && typeof r === 'object' && isPoison(r as Record<string, unknown>)) ? reply : undefined
}

/** A promise with its resolve function: hold answers with `{ status: 200, until: gate.promise }`. */
export function gate (): { promise: Promise<void>, open: () => void } {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}
