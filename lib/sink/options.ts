import { InvalidOptionError, TlsError } from '../errors.js'
import { compileOptions, show } from '../shared/validate.js'
import { BATCH_ENCODINGS, RECORD_ENCODINGS, type EncodeFunction } from '../encoders/index.js'
import type { Store } from '../stores/store.js'
import { isStore } from '../stores/store.js'
import type { TransportResponse } from '../transports/transport.js'
import type { InlongEncodingOptions } from '../encoders/inlong.js'
import type { OptionsInit as GotOptions } from 'got'
import { isRetryableStatus, type Backoff } from '../shared/retry.js'
import { lowerCaseHeaders } from '../shared/headers.js'
import { TLS_SCHEMA, resolveTls, type TlsOptions } from '../transports/tls-options.js'
import { ProxySetting } from '../transports/proxy.js'
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { COMPRESSION_SCHEMA, resolveCompression, type CompressionAlgorithm, type CompressionOptions, type ResolvedCompression } from '../transports/compress-options.js'
import { resolveAuth, type AuthOptions } from '../transports/auth-options.js'
import { itemReader, type ItemReader, type ItemResultsOption } from './item-results.js'
import { resolveTargets, type RecordTargets, type UrlFunction } from './targets.js'
import { RATE_LIMIT_SCHEMA, type RateLimitOptions } from './rate-limit.js'
import { IDEMPOTENCY_KEY_SCHEMA, resolveIdempotencyKey, type IdempotencyKeyOption, type IdempotencyKeys } from './idempotency-key.js'

export const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'HEAD'] as const
export type Method = typeof METHODS[number]

/** What `retryOn` and `successCode` functions are given. */
export interface Outcome {
  /** The response, when one came. */
  response?: TransportResponse
  /** The error, when none came (network error, timeout). */
  error?: Error
}

/** The built-in encodings by name (per record, then per batch); `encoding` also takes a function. */
export type EncodingName = 'json' | 'raw' | 'url' | 'ndjson' | 'json-array' | 'kafka-rest' | 'kafka-rest-v3' | 'inlong'

export interface BatchOptions {
  /** Records per request at most. Default 500. */
  maxRecords?: number
  /** Body bytes per request at most. Default 1 MiB. */
  maxBytes?: number
  /** ms a partial batch waits for more records. Default 10. */
  lingerMs?: number
  /** With url/header templates: batches open at once (one per target) at most; the oldest is sent first. Default 64. */
  maxGroups?: number
}

export interface HttpWritableOptions {
  /** The target: a URL, a template naming record fields (`'https://h/t/{tenant}'`, `{{`/`}}` for braces), or `(record) => url`. */
  url?: string | UrlFunction
  /** GET POST PUT PATCH DELETE OPTIONS TRACE HEAD, any case; every method but HEAD sends a body. Default 'POST'. */
  method?: Method | Lowercase<Method>
  /** Headers added to every request; values may be templates (`'{meta.region}'`). Default {}. */
  headers?: Record<string, string>
  /** Requests in flight at most (the fastq pool's concurrency, and keep-alive connections per origin). Default 64. */
  numWriters?: number
  /** Records held inside the sink before write() returns false; 'drain' comes at three quarters. Default 10000. */
  queueCapacity?: number
  /** ms one attempt may take, connect to last byte, on both transports. Default 10000. */
  timeout?: number
  /** Attempts after the first. Default 3. */
  retries?: number
  /** ms; retry n waits a random time in [0, min(max, base·2^(n-1))]; Retry-After wins, capped at max. Default { base: 100, max: 30000 }. */
  backoff?: Partial<Backoff>
  /** A status, a list, '2xx', or (response) => boolean. Default '2xx'. */
  successCode?: number | number[] | '2xx' | ((response: TransportResponse) => boolean)
  /** Statuses (and '4xx'/'5xx') worth another attempt, or ({ response?, error? }) => boolean. Default 408, 429, 5xx but 501, network errors, timeouts; with idempotencyKey also 409 (key in progress). */
  retryOn?: Array<number | '4xx' | '5xx'> | ((outcome: Outcome) => boolean)
  /** 'json', 'raw', 'url'; batches 'ndjson', 'json-array', 'kafka-rest', 'kafka-rest-v3' (also per record with batch: false), 'inlong'; or (records) => request. Default 'json' ('url' without url, 'ndjson' with batch). */
  encoding?: EncodingName | EncodeFunction
  /** Batch limits `{ maxRecords: 500, maxBytes: 1 MiB, lingerMs: 10, maxGroups: 64 }`. Default off (on with a batch encoding). */
  batch?: BatchOptions | false
  /** Where undeliverable records go: a store URI, a Store, or false (the stream errors instead). Default 'file:./http-failover'. */
  failover?: string | Store | false
  /** 'undici' (keep-alive pool per origin) or 'got'. Default 'undici'. */
  transport?: 'undici' | 'got'
  /** got options passed through when `transport: 'got'`. */
  got?: GotOptions
  /** Options read by the `inlong` encoding. */
  inlong?: InlongEncodingOptions
  /** TLS of the client side: `{ ca, cert, key, passphrase, pfx, rejectUnauthorized, servername, minVersion }` (PEM text or Buffers). Default node's (verify against its CA bundle). */
  tls?: TlsOptions
  /** Let undici negotiate HTTP/2 over TLS (ALPN); the got transport ignores it. Default false. */
  http2?: boolean
  /** Forward proxy `'http://user:pass@host:port'` (CONNECT for https targets), or `'env'` for HTTPS_PROXY/HTTP_PROXY/NO_PROXY (undici transport). Default none. */
  proxy?: string
  /** Compresses request bodies of at least `minBytes` (default 1024) and sets Content-Encoding; `batch.maxBytes` counts bytes before compression. Default off. */
  compression?: CompressionAlgorithm | CompressionOptions
  /** Sets Authorization: `{ bearer }`, `{ username, password }` (Basic) or `{ oauth2: { tokenUrl, clientId, clientSecret, scope?, audience?, extraParams? } }`. Default none. */
  auth?: AuthOptions
  /** Aborting it destroys the sink as destroy() does (records inside go to failover). Default none. */
  signal?: AbortSignal
  /** Reads which records of a 2xx batch answer failed: 'kafka-rest', 'kafka-rest-v3', 'es-bulk', a function, or false. Default 'kafka-rest' / 'kafka-rest-v3' with that encoding, else off. */
  itemResults?: ItemResultsOption
  /** A batch answered 4xx (but 408/429): 'bisect' splits it down to the bad records, 'failover' stores it whole. Default 'bisect'. */
  onReject?: 'bisect' | 'failover'
  /** Token buckets `{ requests?, records?, bytes?, perMs: 1000 }` (burst one period's worth); waiting holds the producer back. Default off. */
  rateLimit?: RateLimitOptions
  /** Sends a key header, the same on every retry and on replay: true (`Idempotency-Key`, a SHA-256 of target and body), a header name, or (records) => key. Default off. */
  idempotencyKey?: IdempotencyKeyOption
}

export interface ResolvedOptions {
  url: URL | undefined
  method: Method
  headers: Record<string, string>
  numWriters: number
  queueCapacity: number
  timeout: number
  retries: number
  backoff: Backoff
  isSuccess: ((response: TransportResponse) => boolean)
  /** True when `successCode` is a function, which needs the body. */
  successNeedsBody: boolean
  /** The status-only policy, when `successCode` is not a function. */
  successStatus: ((status: number) => boolean) | undefined
  shouldRetry: (outcome: Outcome) => boolean
  encoding: string | EncodeFunction
  batch: Required<BatchOptions> | undefined
  failover: string | Store | false
  transport: 'undici' | 'got'
  got: Record<string, unknown>
  encodingOptions: Record<string, unknown>
  tls: TlsConnectionOptions | undefined
  http2: boolean
  proxy: ProxySetting | undefined
  compression: ResolvedCompression | undefined
  auth: AuthOptions | undefined
  signal: AbortSignal | undefined
  /** The per-item results reader, or undefined when off. */
  itemResults: ItemReader | undefined
  onReject: 'bisect' | 'failover'
  /** Per-record targets from url/header templates or a url function; undefined when the target is fixed. */
  targets: RecordTargets | undefined
  rateLimit: Required<Pick<RateLimitOptions, 'perMs'>> & RateLimitOptions | undefined
  /** `idempotencyKey` resolved: the header and how a request's key is derived; undefined when off. */
  idempotencyKey: IdempotencyKeys | undefined
}

export const DEFAULTS = {
  method: 'POST',
  numWriters: 64,
  queueCapacity: 10000,
  timeout: 10000,
  retries: 3,
  backoff: { base: 100, max: 30000 },
  successCode: '2xx',
  encoding: 'json',
  batch: { maxRecords: 500, maxBytes: 1024 * 1024, lingerMs: 10, maxGroups: 64 },
  failover: 'file:./http-failover',
  transport: 'undici'
} as const

const positiveInt = { type: 'integer', minimum: 1 }
const nonNegativeInt = { type: 'integer', minimum: 0 }
const statusCode = { type: 'integer', minimum: 100, maximum: 599 }

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: { description: 'a URL, a URL template or a function', anyOf: [{ type: 'string', minLength: 1 }, { isFunction: true }] },
    method: { type: 'string', description: `one of ${METHODS.join(' ')}`, enum: [...METHODS, ...METHODS.map((m) => m.toLowerCase())] },
    headers: { type: 'object', additionalProperties: { type: 'string' } },
    numWriters: positiveInt,
    queueCapacity: positiveInt,
    timeout: positiveInt,
    retries: nonNegativeInt,
    backoff: {
      type: 'object',
      additionalProperties: false,
      properties: { base: nonNegativeInt, max: nonNegativeInt }
    },
    successCode: {
      description: "a status code, a list of them, '2xx' or a function",
      anyOf: [statusCode, { type: 'array', items: statusCode, minItems: 1 }, { const: '2xx' }, { isFunction: true }]
    },
    retryOn: {
      description: "a list of status codes, '4xx' and '5xx', or a function",
      anyOf: [{ type: 'array', items: { anyOf: [statusCode, { enum: ['4xx', '5xx'] }] } }, { isFunction: true }]
    },
    encoding: {
      description: `one of ${[...Object.keys(RECORD_ENCODINGS), ...Object.keys(BATCH_ENCODINGS)].join(', ')}, or a function`,
      anyOf: [{ enum: [...Object.keys(RECORD_ENCODINGS), ...Object.keys(BATCH_ENCODINGS)] }, { isFunction: true }]
    },
    batch: {
      description: 'false or { maxRecords, maxBytes, lingerMs }',
      anyOf: [
        { const: false },
        {
          type: 'object',
          additionalProperties: false,
          properties: { maxRecords: positiveInt, maxBytes: positiveInt, lingerMs: nonNegativeInt, maxGroups: positiveInt }
        }
      ]
    },
    failover: {
      description: 'a store URI, a Store, or false',
      anyOf: [{ type: 'string', minLength: 1 }, { const: false }, { isObjectLike: true }]
    },
    transport: { enum: ['undici', 'got'] },
    got: { type: 'object' },
    inlong: { type: 'object' },
    tls: TLS_SCHEMA,
    http2: { type: 'boolean' },
    proxy: { description: "'env' or an http(s) URL", type: 'string', minLength: 1 },
    compression: COMPRESSION_SCHEMA,
    // Checked by resolveAuth, whose messages never show a value (it may be a secret).
    auth: {},
    signal: { description: 'an AbortSignal', isObjectLike: true },
    itemResults: { description: "'kafka-rest', 'kafka-rest-v3', 'es-bulk', false or a function", anyOf: [{ enum: ['kafka-rest', 'kafka-rest-v3', 'es-bulk'] }, { const: false }, { isFunction: true }] },
    onReject: { enum: ['bisect', 'failover'] },
    rateLimit: RATE_LIMIT_SCHEMA,
    idempotencyKey: IDEMPOTENCY_KEY_SCHEMA
  }
}

const check = compileOptions<HttpWritableOptions>(schema)

/** Validates options once, at construction, and fills in defaults. Throws InvalidOptionError. */
export function resolveOptions (options: HttpWritableOptions | undefined): ResolvedOptions {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new InvalidOptionError('options', `must be an object (got ${show(options)})`)
  }
  const o = check(options ?? {})
  const { url, headers, targets } = resolveTargets(o.url, lowerCaseHeaders(o.headers ?? {}), parseUrl)
  const encoding = o.encoding ?? (url === undefined ? 'url' : (o.batch !== undefined && o.batch !== false ? 'ndjson' : DEFAULTS.encoding))
  // kafka-rest-v3 also sends one record per request, with batch: false.
  const batched = typeof encoding === 'string' ? encoding in BATCH_ENCODINGS && !(encoding === 'kafka-rest-v3' && o.batch === false) : (o.batch !== undefined && o.batch !== false)
  if (typeof encoding === 'string' && encoding in RECORD_ENCODINGS && o.batch !== undefined && o.batch !== false) {
    throw new InvalidOptionError('batch', `encoding '${encoding}' sends one record per request; batches take ${Object.keys(BATCH_ENCODINGS).join(', ')}`)
  }
  if (url === undefined && encoding !== 'url' && typeof encoding === 'string') {
    throw new InvalidOptionError('url', `is required unless records are URLs (encoding 'url'); encoding is '${encoding}'`)
  }
  const backoff = { ...DEFAULTS.backoff, ...o.backoff }
  if (backoff.base > backoff.max) throw new InvalidOptionError('backoff', `base must not exceed max (${backoff.base} > ${backoff.max})`)
  const failover = o.failover ?? DEFAULTS.failover
  if (typeof failover === 'object' && !isStore(failover)) {
    throw new InvalidOptionError('failover', 'an object must implement Store (put, read, ack, retain, close)')
  }
  const success = successPolicy(o.successCode ?? DEFAULTS.successCode)
  return {
    url,
    method: (o.method ?? DEFAULTS.method).toUpperCase() as Method,
    headers,
    numWriters: o.numWriters ?? DEFAULTS.numWriters,
    queueCapacity: o.queueCapacity ?? DEFAULTS.queueCapacity,
    timeout: o.timeout ?? DEFAULTS.timeout,
    retries: o.retries ?? DEFAULTS.retries,
    backoff,
    ...success,
    shouldRetry: notOnTlsErrors(retryPolicy(o.retryOn, o.idempotencyKey !== undefined && o.idempotencyKey !== false)),
    encoding,
    batch: batched ? { ...DEFAULTS.batch, ...(o.batch === false ? {} : o.batch) } : undefined,
    failover,
    transport: o.transport ?? 'undici',
    got: o.got ?? {},
    encodingOptions: { inlong: o.inlong },
    tls: resolveTls(o.tls),
    http2: o.http2 ?? false,
    proxy: o.proxy === undefined ? undefined : ProxySetting.parse(o.proxy),
    compression: resolveCompression(o.compression),
    auth: resolveAuth(o.auth),
    signal: abortSignal(o.signal),
    itemResults: itemReader(o.itemResults, encoding),
    onReject: o.onReject ?? 'bisect',
    targets,
    rateLimit: o.rateLimit === undefined ? undefined : { perMs: 1000, ...o.rateLimit },
    idempotencyKey: resolveIdempotencyKey(o.idempotencyKey)
  }
}

function abortSignal (signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal
  throw new InvalidOptionError('signal', `must be an AbortSignal (got ${show(signal)})`)
}

function parseUrl (text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InvalidOptionError('url', `not a URL (got ${show(text)})`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('url', `must be http or https (got ${show(text)})`)
  return url
}

function successPolicy (code: NonNullable<HttpWritableOptions['successCode']>): Pick<ResolvedOptions, 'isSuccess' | 'successNeedsBody' | 'successStatus'> {
  if (typeof code === 'function') return { isSuccess: code, successNeedsBody: true, successStatus: undefined }
  const byStatus = code === '2xx'
    ? (s: number) => s >= 200 && s < 300
    : Array.isArray(code) ? (s: number) => code.includes(s) : (s: number) => s === code
  return { isSuccess: (r) => byStatus(r.status), successNeedsBody: false, successStatus: byStatus }
}

/** A certificate error does not mend by retrying: it fails over at once (ERR_TLS), whatever `retryOn` says. */
function notOnTlsErrors (policy: (outcome: Outcome) => boolean): (outcome: Outcome) => boolean {
  return (o) => !(o.error instanceof TlsError) && policy(o)
}

/**
 * `retryOn` as a function. The default retries 408, 429, 5xx but 501 and network errors; with
 * idempotency keys also 409: the draft's answer for a key whose first request is still in progress.
 */
function retryPolicy (retryOn: HttpWritableOptions['retryOn'], keyed: boolean): (outcome: Outcome) => boolean {
  if (typeof retryOn === 'function') return retryOn
  if (retryOn === undefined && keyed) return (o) => o.response === undefined || o.response.status === 409 || isRetryableStatus(o.response.status)
  if (retryOn === undefined) return (o) => o.response === undefined || isRetryableStatus(o.response.status)
  const codes = new Set(retryOn.filter((c): c is number => typeof c === 'number'))
  const classes = new Set(retryOn.filter((c): c is '4xx' | '5xx' => typeof c === 'string').map((c) => Number(c[0])))
  return (o) => o.response === undefined || codes.has(o.response.status) || classes.has(Math.floor(o.response.status / 100))
}
