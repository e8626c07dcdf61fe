/**
 * Retry policy: which outcomes are worth another attempt, and how long to wait before it.
 * Exponential backoff with full jitter (a random delay in [0, min(max, base·2^n)]), so that many
 * writers failing together do not retry together; `Retry-After` overrides it, capped at `max`.
 */

export interface Backoff {
  /** ms; the first retry waits up to this long. */
  base: number
  /** ms; no wait is longer, Retry-After included. */
  max: number
}

/** Delay before retry number `retry` (1 for the first retry). */
export function backoffDelay (retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.max, backoff.base * 2 ** Math.max(0, retry - 1))
  return Math.floor(random() * ceiling)
}

/**
 * Parses a Retry-After header (delta seconds or HTTP-date) into ms from `now`.
 * Returns undefined when absent or unparseable; never negative.
 */
export function parseRetryAfter (value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (text === '') return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - now)
}

/** 408, 429 and 5xx except 501 are worth another attempt; anything else that is not success is final. */
export function isRetryableStatus (status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/** The wait before the next attempt: Retry-After when the server gave one, else jittered backoff. */
export function retryDelay (retry: number, backoff: Backoff, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, backoff.max)
  return backoffDelay(retry, backoff)
}
