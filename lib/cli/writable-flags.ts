import { encodingFlags, readConfigFile, successCodeFlag } from './flag-values.js'
import type { ParseArgsConfig } from 'node:util'
import type { HttpWritableOptions } from '../sink/options.js'
import { fromStreamParkConfig } from '../config/streampark.js'
import { UsageError, int as wholeNumber } from './io.js'
import { AUTH_FLAGS, AUTH_FLAGS_HELP, authOptions } from './auth-flags.js'
import { TLS_FLAGS, TLS_FLAGS_HELP, tlsOptions } from './tls-flags.js'

/** The flags `send`, `demo` and `replay` share: each is a createHttpWritable option. */
export const WRITABLE_FLAGS = {
  method: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  'num-writers': { type: 'string' },
  'queue-capacity': { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  'backoff-base': { type: 'string' },
  'backoff-max': { type: 'string' },
  'success-code': { type: 'string' },
  encoding: { type: 'string' },
  'batch-records': { type: 'string' },
  'batch-bytes': { type: 'string' },
  'linger-ms': { type: 'string' },
  failover: { type: 'string' },
  transport: { type: 'string' },
  'inlong-group': { type: 'string' },
  'inlong-stream': { type: 'string' },
  'inlong-manager': { type: 'string' },
  config: { type: 'string' },
  ...AUTH_FLAGS,
  ...TLS_FLAGS,
  'item-results': { type: 'string' },
  'on-reject': { type: 'string' },
  'grace-ms': { type: 'string' },
  'rate-requests': { type: 'string' },
  'rate-records': { type: 'string' },
  'rate-bytes': { type: 'string' },
  'rate-per-ms': { type: 'string' },
  'idempotency-key': { type: 'string' }
} satisfies NonNullable<ParseArgsConfig['options']>

export const WRITABLE_FLAGS_HELP = `  -X, --method M           GET POST PUT PATCH DELETE OPTIONS TRACE HEAD (default POST)
  -H, --header 'K: V'      a static header (repeatable)
  --num-writers N          requests in flight at most (default 64)
  --queue-capacity N       records held inside before backpressure (default 10000)
  --timeout MS             per attempt (default 10000)
  --retries N              attempts after the first (default 3)
  --backoff-base MS        first retry waits up to this (default 100)
  --backoff-max MS         longest wait, Retry-After included (default 30000)
  --success-code C         200, 200,201 or 2xx (default 2xx)
  --encoding E             json raw url ndjson json-array kafka-rest kafka-rest-v3 inlong
  --batch-records N        batch: records per request (implies a batch encoding)
  --batch-bytes N          batch: body bytes per request at most
  --linger-ms MS           batch: wait for a partial batch
  --failover URI|false     store for undeliverable records (default file:./http-failover)
  --transport T            undici (default) or got
  --inlong-group G         with --encoding inlong: the InLong groupId (required)
  --inlong-stream S        with --encoding inlong: the InLong streamId (required)
  --inlong-manager URL     with --encoding inlong: take DataProxy nodes from this InLong Manager
${AUTH_FLAGS_HELP}
${TLS_FLAGS_HELP}
  --item-results R         batch: read per-record results: kafka-rest kafka-rest-v3
                           es-bulk off (default the kafka-rest encodings' own, else off)
  --on-reject R            batch: bisect (default) or failover a batch answered 4xx
  --rate-requests N        rate limit: requests (retries included) per period
  --rate-records N         rate limit: records per period
  --rate-bytes N           rate limit: body bytes (before compression) per period
  --rate-per-ms MS         rate limit: the period (default 1000)
  --idempotency-key K      on (Idempotency-Key: a hash of target and body, same on retries and
                           replay), off (default), or the header name to use
  --config FILE            StreamPark YAML (http.sink.threshold.*, failover.*); flags win
  --grace-ms MS            after SIGINT/SIGTERM, keep delivering this long, then store the rest
                           in failover (default 10000; a second signal stores at once)`

type Values = Record<string, string | boolean | string[] | undefined>

/** `--grace-ms` (default 10000): how long a signalled command keeps delivering before it stores the rest. */
export function graceMs (values: Values): number {
  const v = values['grace-ms']
  return typeof v === 'string' ? wholeNumber(v, '--grace-ms') : 10_000
}

/** Turns parsed flags into writable options (validated later by createHttpWritable). */
export function writableOptions (values: Values): HttpWritableOptions {
  const options: HttpWritableOptions = typeof values.config === 'string' ? fromStreamParkConfig(readConfigFile(values.config)) : {}
  const int = (flag: string): number | undefined => {
    const v = values[flag]
    return typeof v === 'string' ? wholeNumber(v, `--${flag}`) : undefined
  }
  if (typeof values.method === 'string') options.method = values.method.toUpperCase() as HttpWritableOptions['method']
  if (Array.isArray(values.header)) {
    options.headers = {}
    for (const h of values.header) {
      const at = h.indexOf(':')
      if (at <= 0) throw new UsageError(`--header takes 'Name: value' (got ${h})`)
      options.headers[h.slice(0, at).trim()] = h.slice(at + 1).trim()
    }
  }
  const set = <K extends keyof HttpWritableOptions>(key: K, value: HttpWritableOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value
  }
  set('numWriters', int('num-writers'))
  set('queueCapacity', int('queue-capacity'))
  set('timeout', int('timeout'))
  set('retries', int('retries'))
  if (values['backoff-base'] !== undefined || values['backoff-max'] !== undefined) {
    options.backoff = { ...options.backoff, ...definedOnly({ base: int('backoff-base'), max: int('backoff-max') }) }
  }
  if (typeof values['success-code'] === 'string') {
    options.successCode = successCodeFlag(values['success-code'])
  }
  Object.assign(options, encodingFlags(values, options))
  const batch = definedOnly({ maxRecords: int('batch-records'), maxBytes: int('batch-bytes'), lingerMs: int('linger-ms') })
  if (Object.keys(batch).length > 0) options.batch = batch
  if (typeof values.failover === 'string') options.failover = values.failover === 'false' ? false : values.failover
  if (typeof values.transport === 'string') options.transport = values.transport as 'undici' | 'got'
  authOptions(values, options)
  tlsOptions(values, options)
  const itemResults = values['item-results']
  if (typeof itemResults === 'string') options.itemResults = itemResults === 'off' || itemResults === 'false' ? false : itemResults as 'kafka-rest' | 'kafka-rest-v3' | 'es-bulk'
  if (typeof values['on-reject'] === 'string') options.onReject = values['on-reject'] as 'bisect' | 'failover'
  const rate = definedOnly({ requests: int('rate-requests'), records: int('rate-records'), bytes: int('rate-bytes'), perMs: int('rate-per-ms') })
  if (Object.keys(rate).length > 0) options.rateLimit = rate
  const key = values['idempotency-key']
  if (typeof key === 'string') options.idempotencyKey = key === 'on' || key === 'true' ? true : key === 'off' || key === 'false' ? false : key
  return options
}

function definedOnly<T extends Record<string, number | undefined>> (o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number }
}
