/**
 * Every error this package throws or emits is an HttpStreamError with a stable `code`.
 * The README's error table lists them all; keep the two in step.
 */

export class HttpStreamError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A bad option or URI, found at construction. `field` names what is wrong. */
export class InvalidOptionError extends HttpStreamError {
  readonly field: string
  constructor (field: string, message: string) {
    super('ERR_INVALID_OPTION', `${field}: ${message}`)
    this.field = field
  }
}

/** A record that cannot be turned into a request (wrong type, not a URL, larger than batch.maxBytes). */
export class InvalidRecordError extends HttpStreamError {
  constructor (message: string) {
    super('ERR_INVALID_RECORD', message)
  }
}

/** One attempt took longer than `timeout` ms. */
export class RequestTimeoutError extends HttpStreamError {
  constructor (timeout: number, options?: { cause?: unknown }) {
    super('ERR_REQUEST_TIMEOUT', `no complete response within ${timeout} ms`, options)
  }
}

/** The endpoint answered with a status the success policy does not accept. */
export class UnexpectedStatusError extends HttpStreamError {
  readonly status: number
  constructor (status: number, body: string) {
    super('ERR_UNEXPECTED_STATUS', `unexpected status ${status}${body ? `: ${body}` : ''}`)
    this.status = status
  }
}

/** With `failover: false`, a record could not be delivered. `records` holds every record not delivered. */
export class DeliveryFailedError extends HttpStreamError {
  readonly records: unknown[]
  constructor (message: string, records: unknown[], options?: { cause?: unknown }) {
    super('ERR_DELIVERY_FAILED', message, options)
    this.records = records
  }
}

/** The failover store could not store records. `records` holds every record that was not stored. */
export class FailoverStoreError extends HttpStreamError {
  readonly records: unknown[]
  constructor (message: string, records: unknown[], options?: { cause?: unknown }) {
    super('ERR_FAILOVER_STORE', message, options)
    this.records = records
  }
}

/** The stream was destroyed while records were inside and no store could take them; or `flush()` was called on (or cut short by) a destroyed stream. */
export class StreamDestroyedError extends HttpStreamError {
  readonly records: unknown[]
  constructor (records: unknown[], options?: { cause?: unknown, message?: string }) {
    super('ERR_STREAM_DESTROYED', options?.message ?? `destroyed with ${records.length} record(s) neither delivered nor stored`, options)
    this.records = records
  }
}

/** TLS failed: the server's certificate could not be verified (or ours was refused). Not retried. `reason` is node's code. */
export class TlsError extends HttpStreamError {
  readonly reason: string
  constructor (reason: string, message: string, options?: { cause?: unknown }) {
    super('ERR_TLS', message, options)
    this.reason = reason
  }
}

/** A store was used after close(), or could not be opened. */
export class StoreError extends HttpStreamError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_STORE', message, options)
  }
}

/** Another replay (or another owner) holds the store. `holder` says who: a pid and host, or the server-side claim. */
export class StoreLockedError extends HttpStreamError {
  readonly holder: string
  constructor (store: string, holder: string) {
    super('ERR_STORE_LOCKED', `${store} is locked by ${holder}`)
    this.holder = holder
  }
}

/** A batch answer's per-item results (`itemResults`) could not be read: not the expected shape, cut at its body bound, or not one result per record. */
export class ItemResultsError extends HttpStreamError {
  constructor (message: string) {
    super('ERR_ITEM_RESULTS', message)
  }
}

/** One record of a batch was refused in the answer's per-item results; `status` is the item's own (or the answer's). */
export class ItemRejectedError extends HttpStreamError {
  readonly status: number
  constructor (status: number, message: string) {
    super('ERR_ITEM_REJECTED', message)
    this.status = status
  }
}

/** Credentials could not be had: the OAuth2 token endpoint failed or refused, or an `auth.bearer` function threw. Never carries a secret. */
export class AuthError extends HttpStreamError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('ERR_AUTH', message, options)
  }
}

/** Renders any thrown value as a one-line message for envelopes and logs. */
export function describeError (err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return typeof code === 'string' && !err.message.includes(code) ? `${code}: ${err.message}` : err.message
  }
  return String(err)
}
