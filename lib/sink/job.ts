import type { OutgoingRequest } from '../transports/transport.js'

/**
 * One request's worth of records on its way: queued, in flight, waiting to retry, or in failover.
 * `request` is undefined for records that could not be encoded (they go straight to failover).
 * With an encoding that can decode its requests, `records` is undefined: only the body is kept
 * (records die young instead of being promoted while they wait), and `recordsOf` rebuilds them.
 */
export interface Job {
  records: unknown[] | undefined
  count: number
  request: OutgoingRequest | undefined
  attempts: number
  status: number | null
  /** The last attempt's error, one line. */
  error: string | null
  /** The first attempt's error, set once: the cause an operator needs when later attempts only time out. */
  firstError: string | null
  /** The last error as thrown (or an UnexpectedStatusError for an answer), for `err.cause`. */
  cause: Error | undefined
  epoch: Epoch
  /** Replay's bookkeeping (store ids), carried through untouched. */
  tags: unknown[] | undefined
}

/** The records written between two flush barriers; resolved when none of them is pending. */
export class Epoch {
  pending = 0
  closed = false
  readonly waiters: Array<() => void> = []
}

export interface EngineStats {
  written: number
  delivered: number
  retried: number
  failedOver: number
  inFlight: number
  queued: number
}
