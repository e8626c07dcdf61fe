/**
 * What the delivery engine needs from an HTTP client: send one request, give back the status,
 * the headers and (only when asked) the body. Both transports behave the same; tests run on both.
 */

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
  /** The body text when `readBody(status)` said so, else ''. */
  body: string
}

export interface SendOptions {
  /** ms for the whole attempt. */
  timeout: number
  /** Decides, from the status, whether the body is read (else it is discarded unread). */
  readBody: (status: number) => boolean
  /** Characters of body text kept at most (default MAX_BODY_TEXT). */
  maxBody?: number
}

export interface Transport {
  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse>
  /** Releases connections; `abort` also cuts requests still in flight. */
  close (abort?: boolean): Promise<void>
}

/** Bodies kept for envelopes and judges are cut to this many characters. */
export const MAX_BODY_TEXT = 64 * 1024
