import http from 'node:http'
import https from 'node:https'
import type { Got, OptionsInit, Request as GotRequest, Response as GotResponse } from 'got'
import { InvalidOptionError, RequestTimeoutError } from '../errors.js'
import { CappedBody } from './capped-body.js'
import { asTlsError } from './tls-error.js'
import type { ConnectionOptions, OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import { MAX_BODY_BYTES } from './transport.js'

/**
 * The got transport (`transport: 'got'`). Slower per request than undici, offered for users who
 * already configure got (hooks, proxies, TLS): `got` options are passed through. Retries and
 * errors-on-status are ours, so got's own are switched off. The response is streamed: only the
 * first `maxBody` bytes of a body are kept, the rest is dropped as it arrives. got's
 * `timeout.request` bounds the whole attempt, connect to last byte. `tls` goes to the https agent
 * (and to got's `https`, so got's defaults cannot undo it); `http2` is undici's (got has its own
 * `got: { http2: true }`); a proxy is got's `agent` (`got: { agent }`), so `proxy` is refused here.
 */
export class GotTransport implements Transport {
  /** got is loaded only by sinks that ask for it, so the default path never pays its import. */
  readonly #client: Promise<Got>
  readonly #agents: { http: http.Agent, https: https.Agent }

  constructor (connections: number, options: OptionsInit = {}, connection: ConnectionOptions = {}) {
    if (connection.proxy !== undefined) {
      throw new InvalidOptionError('proxy', "the got transport takes a proxy through got's own agent (got: { agent: { http, https } }, e.g. hpagent); use the undici transport for `proxy`")
    }
    const tls = connection.tls
    this.#agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: connections }),
      https: new https.Agent({ keepAlive: true, maxSockets: connections, ...tls })
    }
    const gotTls: OptionsInit = tls === undefined
      ? {}
      : { https: { rejectUnauthorized: tls.rejectUnauthorized, certificateAuthority: tls.ca, certificate: tls.cert, key: tls.key, passphrase: tls.passphrase, pfx: tls.pfx, minVersion: tls.minVersion } as OptionsInit['https'] }
    this.#client = import('got').then(({ got }) => got.extend({ agent: this.#agents }, gotTls, options, {
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      allowGetBody: true,
      decompress: true
    }))
  }

  async send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    const client = await this.#client
    const stream = client.stream(request.origin + request.path, {
      method: request.method as 'POST',
      headers: request.headers,
      body: request.method === 'HEAD' ? undefined : request.body,
      timeout: { request: options.timeout }
    })
    // Without a body got waits for the caller to end the request side (except for HEAD).
    if (request.body === undefined && request.method !== 'HEAD') stream.end()
    return await collect(stream, options)
  }

  async close (): Promise<void> {
    this.#agents.http.destroy()
    this.#agents.https.destroy()
  }
}

/**
 * Reads a got stream to its end, keeping at most `maxBody` bytes, and settles once. A response that
 * arrived complete counts even if got then reports an error: node's parser blames bytes sent past
 * the body (a wrong Content-Length, garbage after the last chunk) on the response they follow.
 */
async function collect (stream: GotRequest, options: SendOptions): Promise<TransportResponse> {
  return await new Promise((resolve, reject) => {
    let response: GotResponse | undefined
    let body: CappedBody | undefined
    let settled = false
    const fail = (err: Error & { code?: string }): void => {
      if (settled) return
      settled = true
      reject(err.code === 'ETIMEDOUT' ? new RequestTimeoutError(options.timeout, { cause: err }) : asTlsError(err) ?? err)
    }
    const done = (): void => {
      if (settled) return
      if (response === undefined) return fail(new Error('the response ended before its headers'))
      settled = true
      resolve({ status: response.statusCode, headers: response.headers, body: body?.text() ?? '' })
    }
    stream.on('response', (res: GotResponse) => {
      response = res
      if (options.readBody(res.statusCode)) body = new CappedBody(options.maxBody ?? MAX_BODY_BYTES)
    })
    stream.on('data', (chunk: Buffer) => body?.add(chunk))
    stream.on('end', done)
    stream.on('error', (err: Error & { code?: string }) => {
      if (settled || response?.complete !== true) return fail(err)
      drain(response, body)
      done()
    })
  })
}

/** Takes what a complete response still holds unread (got stopped reading when it errored). */
function drain (response: GotResponse, body: CappedBody | undefined): void {
  let chunk: Buffer | null
  while ((chunk = response.read() as Buffer | null) !== null) body?.add(chunk)
}
