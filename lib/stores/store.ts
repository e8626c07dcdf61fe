/**
 * The failover store contract. A record that could not be delivered is wrapped in an envelope and
 * handed to a Store; `put` resolves only once every envelope is durable. `replay` reads envelopes
 * back with `read`, and tells the store which ones the endpoint accepted (`ack`) and which failed
 * again (`retain`, with attempts/status/error updated).
 */

export interface FailoverEnvelope<R = unknown> {
  /** The record as written to the sink. */
  record: R
  /** The URL of the last attempt. */
  url: string
  method: string
  /** Requests made for this record (first try plus retries). */
  attempts: number
  /** HTTP status of the last answer, or null when none came (network error, timeout). */
  status: number | null
  /** Why it failed, one line. */
  error: string | null
  /** Epoch milliseconds when it was given up. */
  failedAt: number
  /** The `idempotencyKey` its request carried (the envelopes of one request share it); replay sends it again. */
  idempotencyKey?: string
}

export interface StoredRecord<R = unknown> {
  /** Store-specific, stable id of this stored envelope (a line position, a row id, an offset). */
  id: string
  envelope: FailoverEnvelope<R>
}

export interface ReadOptions {
  /** Envelopes per yielded batch. */
  batchSize?: number
}

export interface Store {
  /** Short name: 'file', 'kafka', 'mysql', 'webhdfs', 'hbase', or a custom one. */
  readonly kind: string
  /** The URI it was opened from, with any password replaced by `***`. */
  readonly uri: string
  /**
   * Durably stores all envelopes. Resolves only when every one is stored; rejects if any may not be
   * (callers then treat the whole call as not stored, so a retry can only duplicate, never lose).
   */
  put (envelopes: readonly FailoverEnvelope[]): Promise<void>
  /** Yields the stored envelopes not yet acked, in batches. */
  read (options?: ReadOptions): AsyncIterable<StoredRecord[]>
  /** The endpoint accepted these on replay: remove them (or mark them) so no later replay sends them. */
  ack (ids: readonly string[]): Promise<void>
  /** These failed again on replay: keep them, with the updated envelope (attempts, status, error, failedAt). */
  retain (records: readonly StoredRecord[]): Promise<void>
  /** Releases connections and files. Idempotent. */
  close (): Promise<void>
}

export function isStore (value: unknown): value is Store {
  if (value === null || typeof value !== 'object') return false
  const s = value as Record<string, unknown>
  return typeof s.put === 'function' && typeof s.read === 'function' && typeof s.ack === 'function' &&
    typeof s.retain === 'function' && typeof s.close === 'function'
}

/** Replaces the password of a URI with `***` so it can appear in errors, logs and inspect output. */
export function redactUri (uri: string): string {
  try {
    const u = new URL(uri)
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return uri.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@')
  }
}
