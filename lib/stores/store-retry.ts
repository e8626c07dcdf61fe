/**
 * Bounded retries with jittered exponential backoff for store operations (a restarting database,
 * an HDFS lease held by a dead writer). Waiting stops early when the store is closed.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay, type Backoff } from '../shared/retry.js'

export interface StoreRetryOptions {
  /** Attempts after the first. */
  retries: number
  backoff: Backoff
  /** Whether this error is worth another attempt. */
  retryable: (err: unknown) => boolean
  /** Aborted when the store closes: no more waiting. */
  signal: AbortSignal
  /** Called before each retry (e.g. to drop a broken connection or roll a file). */
  onRetry?: (err: unknown, retry: number) => void
}

export async function withStoreRetries<T> (operation: (attempt: number) => Promise<T>, options: StoreRetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (err) {
      if (attempt >= options.retries || !options.retryable(err) || options.signal.aborted) throw err
      options.onRetry?.(err, attempt + 1)
      try {
        await sleep(backoffDelay(attempt + 1, options.backoff), undefined, { signal: options.signal })
      } catch {
        throw err
      }
    }
  }
}
