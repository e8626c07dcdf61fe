import { RequestTimeoutError } from '../errors.js'
import { backoffDelay, isRetryableStatus, type Backoff } from '../shared/retry.js'
import { StreamServerError } from './stream-server-error.js'

/** Waits between a reader's attempts: jittered, growing to 2 s, so a restarted server is seen soon. */
export const RECONNECT_BACKOFF: Backoff = { base: 100, max: 2000 }

/** No answer, a timeout, or 408/429/5xx but 501: the server may be restarting, so try again. */
export function isTransient (err: unknown): boolean {
  if (err instanceof RequestTimeoutError) return true
  return err instanceof StreamServerError && (err.status === null || isRetryableStatus(err.status))
}

/** No answer at all (refused, reset, timed out): the node may be dead, another node may serve the reader. */
export function isNoAnswer (err: unknown): boolean {
  return err instanceof RequestTimeoutError || (err instanceof StreamServerError && err.status === null)
}

/** 404 40403: the server does not know the consumer instance (expired, or the server restarted). */
export function isInstanceGone (err: unknown): boolean {
  return err instanceof StreamServerError && err.errorCode === 40403
}

/** 409 40902: an instance of that name exists (a create whose answer was lost did create it). */
export function isInstanceTaken (err: unknown): boolean {
  return err instanceof StreamServerError && err.errorCode === 40902
}

/**
 * Tracks one run of failures: how long it has lasted and the wait before the next attempt.
 * `next()` returns the wait, or undefined once `reconnectMs` would be exceeded.
 */
export class ReconnectClock {
  private failures = 0
  private since: number | undefined

  constructor (private readonly reconnectMs: number) {}

  get attempts (): number {
    return this.failures
  }

  next (now = Date.now()): number | undefined {
    this.since ??= now
    this.failures++
    const wait = backoffDelay(this.failures, RECONNECT_BACKOFF)
    return now - this.since + wait > this.reconnectMs ? undefined : wait
  }

  reset (): void {
    this.failures = 0
    this.since = undefined
  }
}

/** The error a reader ends with once retrying for `reconnectMs` did not help: the last failure, coded. */
export function gaveUp (last: unknown, reconnectMs: number, attempts: number): StreamServerError {
  const status = last instanceof StreamServerError ? last.status : null
  const errorCode = last instanceof StreamServerError ? last.errorCode : null
  const message = (last as Error)?.message ?? String(last)
  const tried = attempts <= 1 ? '' : ` (still failing after ${attempts} attempts over reconnectMs ${reconnectMs} ms)`
  return new StreamServerError(status, errorCode, `${message}${tried}`, { cause: last })
}
