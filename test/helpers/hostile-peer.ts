/**
 * A hostile HTTP/1.1 peer on a raw `node:net` socket (127.0.0.1, port 0), for what a well-behaved
 * `node:http` server cannot do: trickle a body forever, write bytes past the body it announced,
 * answer with hundreds of megabytes (generated lazily, honouring backpressure). It parses requests
 * itself (Content-Length bodies, keep-alive), records every one, and keeps the records of requests
 * it answered with a complete 2xx response (`acknowledged`).
 */
import { once } from 'node:events'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { recordKey } from './receiver.js'

export interface RawRequest {
  /** 0-based arrival order. */
  seq: number
  method: string
  path: string
  headers: Record<string, string>
  body: string
  /** The JSON body as one record (none if the body is empty or not JSON). */
  records: unknown[]
  /** How many times a request with this body arrived, counting this one. */
  attempt: number
}

/** Writes the answer to one request; resolves once it is written (or the socket is gone). */
export type Answer = (socket: net.Socket, peer: HostilePeer) => Promise<void>

export type AnswerPlan = (req: RawRequest) => Answer

const CHUNK = Buffer.alloc(64 * 1024, 'x')

export class HostilePeer {
  readonly requests: RawRequest[] = []
  /** Records of requests answered with a complete 2xx response, by recordKey (counting repeats). */
  readonly acknowledged = new Map<string, number>()
  /** Bytes of response bodies written in all. */
  bodyBytesWritten = 0
  port = 0
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  readonly #attempts = new Map<string, number>()

  constructor (plan: AnswerPlan) {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
      socket.on('error', () => {})
      this.#serve(socket, plan)
    })
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  async listen (): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as AddressInfo).port
    return this
  }

  async close (): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    for (const socket of this.#sockets) socket.destroy()
    await closed
  }

  /** Counts `req`'s records as acknowledged (call once a complete 2xx answer is written). */
  acknowledge (req: RawRequest): void {
    for (const record of req.records) {
      const key = recordKey(record)
      this.acknowledged.set(key, (this.acknowledged.get(key) ?? 0) + 1)
    }
  }

  /** Reads requests off one connection and answers them in order. */
  #serve (socket: net.Socket, plan: AnswerPlan): void {
    let buffered: Buffer = Buffer.alloc(0)
    let busy = false
    const next = (): void => {
      if (busy || socket.destroyed) return
      const req = this.#take(buffered)
      if (req === undefined) return
      buffered = req.rest
      busy = true
      const answer = plan(req.request)
      answer(socket, this).then(() => {
        busy = false
        next()
      }, () => socket.destroy())
    }
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data])
      next()
    })
  }

  #take (buffered: Buffer): { request: RawRequest, rest: Buffer } | undefined {
    const end = buffered.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const [line = '', ...fields] = buffered.subarray(0, end).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const field of fields) {
      const colon = field.indexOf(':')
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    if (buffered.length < end + 4 + length) return undefined
    const body = buffered.subarray(end + 4, end + 4 + length).toString('utf8')
    const [method = '', path = ''] = line.split(' ')
    let records: unknown[] = []
    try {
      records = body === '' ? [] : [JSON.parse(body)]
    } catch {}
    const attempt = (this.#attempts.get(body) ?? 0) + 1
    this.#attempts.set(body, attempt)
    const request: RawRequest = { seq: this.requests.length, method, path, headers, body, records, attempt }
    this.requests.push(request)
    return { request, rest: buffered.subarray(end + 4 + length) }
  }
}

export async function startHostilePeer (plan: AnswerPlan): Promise<HostilePeer> {
  return await new HostilePeer(plan).listen()
}

/** Resolves once `data` is written (or at once if the socket is gone). */
async function write (socket: net.Socket, data: string | Buffer): Promise<void> {
  if (socket.destroyed) return
  await new Promise<void>((resolve) => {
    socket.write(data, () => resolve())
  })
}

/** A complete answer; `extra` is written right after the body, in the same write, as if part of it. */
export function answer (req: RawRequest, status: number, body = '{"ok":true}', extra = ''): Answer {
  return async (socket, peer) => {
    const head = `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`
    peer.bodyBytesWritten += Buffer.byteLength(body)
    await write(socket, head + body + extra)
    if (status >= 200 && status < 300 && !socket.destroyed) peer.acknowledge(req)
  }
}

/** A complete chunked answer followed by `garbage` after the terminating chunk. */
export function chunkedAnswer (req: RawRequest, status: number, body: string, garbage: string): Answer {
  return async (socket, peer) => {
    const size = Buffer.byteLength(body).toString(16)
    peer.bodyBytesWritten += Buffer.byteLength(body)
    await write(socket, `HTTP/1.1 ${status} X\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${body}\r\n0\r\n\r\n${garbage}`)
    if (status >= 200 && status < 300 && !socket.destroyed) peer.acknowledge(req)
  }
}

/** The status line and headers of a chunked answer, then one byte every `everyMs`, never ending. */
export function trickle (status: number, everyMs: number): Answer {
  return async (socket, peer) => {
    await write(socket, `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`)
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (socket.destroyed) return
        peer.bodyBytesWritten++
        socket.write('1\r\nx\r\n')
      }, everyMs)
      socket.once('close', () => {
        clearInterval(timer)
        resolve()
      })
    })
  }
}

/** An answer with a body of `bytes` bytes, written in 64 KiB pieces as fast as the client reads. */
export function huge (req: RawRequest, status: number, bytes: number): Answer {
  return async (socket, peer) => {
    await write(socket, `HTTP/1.1 ${status} X\r\nContent-Type: text/plain\r\nContent-Length: ${bytes}\r\n\r\n`)
    const closed = once(socket, 'close')
    let left = bytes
    while (left > 0 && !socket.destroyed) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
      left -= piece.length
      peer.bodyBytesWritten += piece.length
      if (!socket.write(piece)) await Promise.race([once(socket, 'drain'), closed])
    }
    if (left === 0 && status >= 200 && status < 300 && !socket.destroyed) peer.acknowledge(req)
  }
}
