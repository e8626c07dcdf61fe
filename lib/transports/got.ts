import http from 'node:http'
import https from 'node:https'
import type { Got, OptionsInit } from 'got'
import { RequestTimeoutError } from '../errors.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import { MAX_BODY_TEXT } from './transport.js'

/**
 * The got transport (`transport: 'got'`). Slower per request than undici, offered for users who
 * already configure got (hooks, proxies, TLS): `got` options are passed through. Retries and
 * errors-on-status are ours, so got's own are switched off.
 */
export class GotTransport implements Transport {
  /** got is loaded only by sinks that ask for it, so the default path never pays its import. */
  readonly #client: Promise<Got>
  readonly #agents: { http: http.Agent, https: https.Agent }

  constructor (connections: number, options: OptionsInit = {}) {
    this.#agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: connections }),
      https: new https.Agent({ keepAlive: true, maxSockets: connections })
    }
    this.#client = import('got').then(({ got }) => got.extend({ agent: this.#agents }, options, {
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      allowGetBody: true,
      decompress: true,
      responseType: 'text'
    }))
  }

  async send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    try {
      const client = await this.#client
      const res = await client(request.origin + request.path, {
        method: request.method as 'POST',
        headers: request.headers,
        body: request.method === 'HEAD' ? undefined : request.body,
        timeout: { request: options.timeout }
      })
      const body = options.readBody(res.statusCode) ? String(res.body).slice(0, options.maxBody ?? MAX_BODY_TEXT) : ''
      return { status: res.statusCode, headers: res.headers, body }
    } catch (err) {
      if ((err as { code?: string }).code === 'ETIMEDOUT') throw new RequestTimeoutError(options.timeout, { cause: err })
      throw err
    }
  }

  async close (): Promise<void> {
    this.#agents.http.destroy()
    this.#agents.https.destroy()
  }
}
