/**
 * What the delivery engine needs from an HTTP client: send one request, give back the status,
 * the headers and (only when asked) the body. Both transports behave the same; tests run on both.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import type { ProxySetting } from './proxy.js'

/** How a transport reaches endpoints, decided once at construction (nothing of it per request). */
export interface ConnectionOptions {
  /** node `tls.connect` options (CA, client certificate, verification), from the `tls` option. */
  tls?: TlsConnectionOptions | undefined
  /** Offer h2 by ALPN (undici only). */
  http2?: boolean
  /** A forward proxy, or `env`. */
  proxy?: ProxySetting | undefined
}

export interface OutgoingRequest {
  /** `http://host:port` */
  origin: string
  /** path and query, starting with `/` */
  path: string
  method: string
  headers: Record<string, string>
  body: string | Buffer | undefined
}

export interface TransportResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** The body text when `readBody(status)` said so (its first `maxBody` bytes), else ''. */
  body: string
}

export interface SendOptions {
  /** ms for the whole attempt: from sending (connecting) to the last byte of the response. */
  timeout: number
  /** Decides, from the status, whether the body is kept (else it is read and dropped). */
  readBody: (status: number) => boolean
  /** Bytes of body kept at most (default MAX_BODY_BYTES); the rest is dropped as it arrives. */
  maxBody?: number
}

export interface Transport {
  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse>
  /** Releases connections; `abort` also cuts requests still in flight. */
  close (abort?: boolean): Promise<void>
}

/**
 * Bodies kept for `successCode`/`retryOn` functions, encoding judges and the envelope's error text
 * are cut to this many bytes; the transform (`keepResponses`) asks for whole bodies instead.
 */
export const MAX_BODY_BYTES = 64 * 1024
