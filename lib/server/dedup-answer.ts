import { EventEmitter } from 'node:events'
import type { ServerResponse } from 'node:http'

/** The first answer to a keyed request, as sent: what a retry with the same key gets back. */
export interface RecordedAnswer {
  status: number
  /** Headers as the route set them (lower-case names), content-length aside. */
  headers: ReadonlyArray<readonly [string, string]>
  body: Buffer
  /** What the answer holds in memory (charged to the dedup table). */
  bytes: number
}

type HeaderValue = string | number | readonly string[]

/**
 * Stands in for the ServerResponse while a keyed request is applied: the route answers into it with
 * the calls sendJson/sendText and streaming answers make (statusCode, setHeader, writeHead, write,
 * end), and the whole answer is kept. It is never "destroyed" by the client going away, so an answer
 * made after the client left (the Kafka receiver answers after the broker acked) is still recorded
 * and remembered: a retry of an applied request then gets it back instead of applying it again.
 * 'close' of the real response is passed on, for routes that stop work when the client leaves.
 */
export class AnswerRecorder extends EventEmitter {
  statusCode = 200
  statusMessage = ''
  headersSent = false
  writableEnded = false
  destroyed = false
  private readonly headers = new Map<string, HeaderValue>()
  private readonly chunks: Buffer[] = []
  private ended = false

  constructor (private readonly real: ServerResponse) {
    super()
    real.once('close', () => this.emit('close'))
  }

  /** The recorder typed as what routes take. */
  get response (): ServerResponse {
    return this as unknown as ServerResponse
  }

  setHeader (name: string, value: HeaderValue): this {
    this.headers.set(name.toLowerCase(), value)
    return this
  }

  getHeader (name: string): HeaderValue | undefined {
    return this.headers.get(name.toLowerCase())
  }

  hasHeader (name: string): boolean {
    return this.headers.has(name.toLowerCase())
  }

  removeHeader (name: string): void {
    this.headers.delete(name.toLowerCase())
  }

  writeHead (status: number, message?: string | Record<string, HeaderValue>, headers?: Record<string, HeaderValue>): this {
    this.statusCode = status
    const fields = typeof message === 'object' ? message : headers
    if (typeof message === 'string') this.statusMessage = message
    for (const [k, v] of Object.entries(fields ?? {})) this.setHeader(k, v)
    this.headersSent = true
    return this
  }

  write (chunk: string | Uint8Array, encoding?: BufferEncoding | (() => void), done?: () => void): boolean {
    this.headersSent = true
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk))
    const cb = typeof encoding === 'function' ? encoding : done
    if (cb !== undefined) queueMicrotask(cb)
    return true
  }

  end (chunk?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), done?: () => void): this {
    if (typeof chunk === 'function') done = chunk
    else if (chunk !== undefined) this.write(chunk, typeof encoding === 'string' ? encoding : undefined)
    if (typeof encoding === 'function') done = encoding
    this.headersSent = true
    this.writableEnded = true
    this.ended = true
    if (done !== undefined) queueMicrotask(done)
    return this
  }

  /** A route that gives up on the answer: the real connection goes too. */
  destroy (err?: Error): this {
    this.destroyed = true
    this.real.destroy(err)
    return this
  }

  /** The answer once the route ended it; undefined when it never did (or destroyed the response). */
  get answer (): RecordedAnswer | undefined {
    if (!this.ended || this.destroyed) return undefined
    const body = this.chunks.length === 1 ? this.chunks[0] as Buffer : Buffer.concat(this.chunks)
    const headers: Array<readonly [string, string]> = []
    let bytes = body.length + 64
    for (const [name, value] of this.headers) {
      if (name === 'content-length') continue
      const text = Array.isArray(value) ? value.join(', ') : String(value)
      headers.push([name, text])
      bytes += name.length + text.length + 32
    }
    return { status: this.statusCode, headers, body, bytes }
  }
}

/** Sends a recorded answer on the real response (unless the client is gone); `replayed` marks a repeat. */
export function sendRecorded (res: ServerResponse, answer: RecordedAnswer, replayed: boolean): void {
  if (res.headersSent || res.destroyed) return
  res.statusCode = answer.status
  for (const [name, value] of answer.headers) res.setHeader(name, value)
  if (replayed) res.setHeader('idempotent-replayed', 'true')
  if (answer.status === 204 || answer.status === 304) {
    res.end()
    return
  }
  res.setHeader('content-length', answer.body.length)
  res.end(answer.body)
}
