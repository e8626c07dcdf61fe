import { Agent } from 'undici'
import { RequestTimeoutError } from '../errors.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import { MAX_BODY_TEXT } from './transport.js'

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'])

/** The default transport: an undici Agent keeping `connections` keep-alive sockets per origin. */
export class UndiciTransport implements Transport {
  readonly #agent: Agent

  constructor (connections: number, timeout: number) {
    this.#agent = new Agent({ connections, pipelining: 1, connect: { timeout }, headersTimeout: timeout, bodyTimeout: timeout })
  }

  async send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    const timer = new AttemptTimer(options.timeout)
    try {
      const res = await this.#agent.request({
        origin: request.origin,
        path: request.path,
        method: request.method as 'POST',
        headers: request.headers,
        body: request.body,
        headersTimeout: options.timeout,
        bodyTimeout: options.timeout,
        signal: timer.signal
      })
      let body = ''
      if (options.readBody(res.statusCode)) body = (await res.body.text()).slice(0, MAX_BODY_TEXT)
      else await res.body.dump()
      return { status: res.statusCode, headers: res.headers, body }
    } catch (err) {
      const code = (err as { code?: string }).code
      if (timer.expired || (code !== undefined && TIMEOUT_CODES.has(code))) throw new RequestTimeoutError(options.timeout, { cause: err })
      throw err
    } finally {
      timer.clear()
    }
  }

  async close (abort = false): Promise<void> {
    await (abort ? this.#agent.destroy() : this.#agent.close())
  }
}

/**
 * Caps one attempt as a whole (headers and body together), not only the idle gaps undici watches.
 * Undici takes an EventEmitter-like signal; this one costs a timer and no AbortController.
 */
class AttemptTimer {
  expired = false
  readonly signal = new AttemptSignal()
  readonly #handle: NodeJS.Timeout

  constructor (ms: number) {
    this.#handle = setTimeout(() => {
      this.expired = true
      this.signal.abort()
    }, ms)
  }

  clear (): void {
    clearTimeout(this.#handle)
  }
}

class AttemptSignal {
  aborted = false
  #listener: (() => void) | undefined

  on (_event: 'abort', listener: () => void): this {
    this.#listener = listener
    return this
  }

  once (event: 'abort', listener: () => void): this {
    return this.on(event, listener)
  }

  removeListener (): this {
    this.#listener = undefined
    return this
  }

  abort (): void {
    this.aborted = true
    const listener = this.#listener
    this.#listener = undefined
    listener?.()
  }
}
