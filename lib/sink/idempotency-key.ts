/**
 * `idempotencyKey`: every request carries a key header whose value is the same on every attempt of
 * that request (and on replay, where the key comes back from the failover envelope). The key is
 * computed once, when the request is built; attempts reuse the request, so they reuse the key.
 *
 * `true` derives the key from the request itself: the SHA-256 (base64url, 43 characters) of
 * `METHOD origin+path`, a newline and the encoded body (before compression). The same records sent
 * to the same target give the same key, so two requests with identical bodies are one request to a
 * receiver that dedups by key; where identical records are legitimate, derive the key from record
 * ids (or source offsets) with the function form.
 */
import { createHash } from 'node:crypto'
import { InvalidRecordError } from '../errors.js'
import type { OutgoingRequest } from '../transports/transport.js'

export type IdempotencyKeyOption = boolean | string | ((records: unknown[]) => string)

/** The header `idempotencyKey: true` sets. */
export const IDEMPOTENCY_HEADER = 'idempotency-key'

/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What a key may not hold to be a header value (nor, here, be empty). */
const BAD_VALUE = /[\r\n\0]/

/** The ajv schema of the option. */
export const IDEMPOTENCY_KEY_SCHEMA = {
  description: 'true, false, a header name or a function (records) => string',
  anyOf: [{ type: 'boolean' }, { type: 'string', pattern: TOKEN.source }, { isFunction: true }]
}

/** The option, resolved once at construction: which header, and how a request's key is derived. */
export interface IdempotencyKeys {
  /** Lower case, as the other headers of a request. */
  readonly header: string
  /** The key of a request built from `records` (asked for only by the function form). */
  derive: (request: OutgoingRequest, records: () => unknown[]) => string
}

/** undefined when off (`false` or not given): the engine then does nothing at all. */
export function resolveIdempotencyKey (option: IdempotencyKeyOption | undefined): IdempotencyKeys | undefined {
  if (option === undefined || option === false) return undefined
  if (typeof option === 'function') return { header: IDEMPOTENCY_HEADER, derive: (_request, records) => checkedKey(option(records())) }
  return { header: option === true ? IDEMPOTENCY_HEADER : option.toLowerCase(), derive: requestHash }
}

/** `request` with its key: derived from it, or `key` as given (replay's stored key). */
export function withIdempotencyKey (keys: IdempotencyKeys, request: OutgoingRequest, records: () => unknown[], key?: string): OutgoingRequest {
  return { ...request, headers: { ...request.headers, [keys.header]: key ?? keys.derive(request, records) } }
}

/** The key a built request carries, for its envelopes. */
export function idempotencyKeyOf (keys: IdempotencyKeys, request: OutgoingRequest | undefined): string | undefined {
  return request?.headers[keys.header]
}

function requestHash (request: OutgoingRequest): string {
  const hash = createHash('sha256').update(`${request.method} ${request.origin}${request.path}\n`)
  if (request.body !== undefined) hash.update(request.body)
  return hash.digest('base64url')
}

function checkedKey (key: unknown): string {
  if (typeof key !== 'string' || key === '' || BAD_VALUE.test(key)) {
    throw new InvalidRecordError(`idempotencyKey() must return a non-empty string without CR, LF or NUL (got ${typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : typeof key})`)
  }
  return key
}
