/**
 * The sink's `node:diagnostics_channel` channels, for tracers and APM tools (as undici's own
 * `undici:request:*` channels are). Messages are plain objects and carry no headers and no query
 * string (either may hold a secret): `path` is the request's path without its `?…`.
 *
 * - `http-stream-connector:request`: an attempt is sent.
 * - `http-stream-connector:response`: its answer (or network error, `status: null`) is back; `duration` in ms.
 * - `http-stream-connector:retry`: records will be sent again after `delay` ms; `attempt` is the next one.
 * - `http-stream-connector:failover`: the sink gave up on records (they go to the failover store,
 *   or error the stream without one); `attempt` is the attempts made. `origin`, `path` and `method`
 *   are null for records that never became a request (an encoding error).
 *
 * `sinkId` numbers the sinks (and transforms) of the process from 1; `requestId` numbers a sink's
 * attempts from 1: a request and its response share both, and a retry or failover names its last attempt.
 */
import diagnostics from 'node:diagnostics_channel'

export const CHANNEL_NAMES = {
  request: 'http-stream-connector:request',
  response: 'http-stream-connector:response',
  retry: 'http-stream-connector:retry',
  failover: 'http-stream-connector:failover'
} as const

export const requestChannel = diagnostics.channel(CHANNEL_NAMES.request)
export const responseChannel = diagnostics.channel(CHANNEL_NAMES.response)
export const retryChannel = diagnostics.channel(CHANNEL_NAMES.retry)
export const failoverChannel = diagnostics.channel(CHANNEL_NAMES.failover)

/** What every message of one attempt carries. */
export interface SinkAttemptFields {
  sinkId: number
  origin: string
  /** The path without its query string. */
  path: string
  method: string
  /** 1 for the first attempt. */
  attempt: number
  /** Records the request carries. */
  records: number
}

export interface SinkRequestMessage extends SinkAttemptFields {
  requestId: number
}

export interface SinkResponseMessage extends SinkAttemptFields {
  /** The request's requestId; null when the subscriber came while it was in flight. */
  requestId: number | null
  /** null for a network error or a timeout. */
  status: number | null
  /** ms from sending to the answer (or the error). */
  duration: number
  /** The network error's text; null for an answer. */
  error: string | null
}

export interface SinkRetryMessage extends SinkAttemptFields {
  requestId: number | null
  status: number | null
  /** ms until the next attempt. */
  delay: number
  error: string | null
}

export interface SinkFailoverMessage {
  sinkId: number
  /** The last attempt's requestId; null when no request was ever sent. */
  requestId: number | null
  origin: string | null
  path: string | null
  method: string | null
  /** Attempts made. */
  attempt: number
  records: number
  status: number | null
  error: string | null
}

/** Whether any of the sink's channels has a subscriber now (one check per request). */
export function anySubscribers (): boolean {
  return requestChannel.hasSubscribers || responseChannel.hasSubscribers || retryChannel.hasSubscribers || failoverChannel.hasSubscribers
}

/** A path without its query string (which may carry a token). */
export function pathOnly (path: string): string {
  const at = path.indexOf('?')
  return at === -1 ? path : path.slice(0, at)
}
