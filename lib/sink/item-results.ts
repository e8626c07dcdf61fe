import { InvalidOptionError, ItemResultsError } from '../errors.js'
import type { TransportResponse } from '../transports/transport.js'

/** What one record of a batch became, by the answer's per-item results. */
export type ItemVerdict = 'ok' | 'retry' | 'fail'

/** A user's reader of per-item results: one verdict per record, in the records' order. */
export type ItemResultsFunction = (response: TransportResponse, records: unknown[]) => ItemVerdict[]

/** The `itemResults` option. */
export type ItemResultsOption = 'kafka-rest' | 'kafka-rest-v3' | 'es-bulk' | ItemResultsFunction | false

/** The not-ok items of one answer: their index, verdict, and (when the answer says) status and error text. */
export interface ItemProblem {
  index: number
  verdict: 'retry' | 'fail'
  status: number | undefined
  error: string
}

/**
 * Reads a 2xx answer of `count` records; returns the items that are not ok (empty: all delivered).
 * `records` decodes the batch, only for a user function. Throws ItemResultsError when the answer
 * cannot be read.
 */
export type ItemReader = (response: TransportResponse, count: number, records: () => unknown[]) => ItemProblem[]

/**
 * Bodies read for per-item results are kept up to this many bytes (the 64 KiB default would cut a
 * Kafka REST answer of about 1,000 offsets); a longer answer is judged unreadable.
 */
export const ITEM_RESULTS_MAX_BODY = 8 * 1024 * 1024

/** Kafka REST v2 `error_code`s (Confluent rest-utils KafkaExceptionMapper). */
const KAFKA_RETRIABLE = 50003

/** Resolves the option once, at construction; `'kafka-rest'` and `'kafka-rest-v3'` are the defaults of those encodings. */
export function itemReader (option: ItemResultsOption | undefined, encoding: unknown): ItemReader | undefined {
  const chosen = option ?? (encoding === 'kafka-rest' || encoding === 'kafka-rest-v3' ? encoding : false)
  if (chosen === false) return undefined
  if (chosen === 'kafka-rest') return readKafkaRest
  if (chosen === 'kafka-rest-v3') return readKafkaRestV3
  if (chosen === 'es-bulk') return readEsBulk
  if (typeof chosen === 'function') return userReader(chosen)
  throw new InvalidOptionError('itemResults', `must be 'kafka-rest', 'kafka-rest-v3', 'es-bulk', false or a function (got ${String(chosen)})`)
}

/**
 * A Kafka REST v2 produce answer, `{"offsets":[{partition, offset, error_code, error}, …]}`
 * (Confluent kafka-rest `entities/v2/ProduceResponse`, `PartitionOffset`; the codes come from
 * `AbstractProduceAction.errorCodeFromProducerException`): 50003 (retriable Kafka error) retries;
 * 50002, 40101, 40301 and any other code fail.
 */
export function readKafkaRest (response: TransportResponse, count: number): ItemProblem[] {
  whole(response)
  // Fast path: Confluent writes `"error_code":null` for every record produced.
  if (!/"error_code"\s*:\s*\d/.test(response.body)) return []
  const offsets = parseBody<{ offsets?: unknown }>(response, 'Kafka REST').offsets
  if (!Array.isArray(offsets)) throw new ItemResultsError(`the Kafka REST answer has no offsets array: ${cut(response.body)}`)
  sameCount(offsets.length, count, 'offsets')
  const problems: ItemProblem[] = []
  for (let i = 0; i < offsets.length; i++) {
    const o = offsets[i] as { error_code?: unknown, error?: unknown } | null
    const code = o?.error_code
    if (typeof code !== 'number') continue
    const text = `Kafka REST error_code ${code}${typeof o?.error === 'string' ? `: ${o.error}` : ''}`
    problems.push({ index: i, verdict: code === KAFKA_RETRIABLE ? 'retry' : 'fail', status: Math.floor(code / 100), error: text })
  }
  return problems
}

/**
 * Kafka REST v3 per-record `error_code`s worth retrying: request timeout (408, 40801), too many
 * requests (429, rest-utils' 42901 throttling quota, our 42902 memory budget), service unavailable
 * (503, 50302 broker not available), gateway timeout (504), retriable Kafka error (50003).
 */
const V3_RETRIABLE = new Set([408, 40801, 429, 42901, 42902, 503, 50302, 504, 50003])

/**
 * A Kafka REST v3 streaming produce answer: one delivery report per record, in order, each a JSON
 * text followed by CRLF (Confluent kafka-rest `resources/v3/ProduceAction`, `response/StreamingResponse`,
 * `ChunkedOutputFactory`; entities `v3/ProduceResponse` and `exceptions/v3/ErrorResponse`). Error code
 * 200 is delivered; a retriable code (`V3_RETRIABLE`) retries; any other fails. Records past the last
 * report (the stream ended early: Confluent closes streams open longer than its limit) retry.
 */
export function readKafkaRestV3 (response: TransportResponse, count: number): ItemProblem[] {
  whole(response)
  const problems: ItemProblem[] = []
  let index = 0
  for (const line of response.body.split('\n')) {
    if (line.trim() === '') continue
    if (index >= count) throw new ItemResultsError(`the Kafka REST v3 answer has more reports than the ${count} records: ${cut(response.body)}`)
    const code = Number(/^\s*\{\s*"error_code"\s*:\s*(\d+)/.exec(line)?.[1] ?? reportOf(line).error_code)
    if (code !== 200) {
      const message = code > 0 ? reportOf(line).message : undefined
      if (!Number.isInteger(code)) throw new ItemResultsError(`Kafka REST v3 report ${index} has no error_code: ${cut(line)}`)
      const text = `Kafka REST v3 error_code ${code}${typeof message === 'string' ? `: ${message}` : ''}`
      const status = code < 1000 ? code : Math.floor(code / 100)
      problems.push({ index, verdict: V3_RETRIABLE.has(code) ? 'retry' : 'fail', status, error: text })
    }
    index++
  }
  for (; index < count; index++) problems.push({ index, verdict: 'retry', status: undefined, error: 'no Kafka REST v3 delivery report for this record (the answer stream ended early)' })
  return problems
}

function reportOf (line: string): { error_code?: unknown, message?: unknown } {
  try {
    const parsed = JSON.parse(line) as unknown
    if (parsed !== null && typeof parsed === 'object') return parsed as { error_code?: unknown, message?: unknown }
  } catch {}
  throw new ItemResultsError(`a Kafka REST v3 delivery report is not a JSON object: ${cut(line)}`)
}

/**
 * An Elasticsearch `_bulk` answer, `{"errors":bool,"items":[{"<action>":{status, error}}, …]}`
 * (elasticsearch `action/bulk/BulkResponse`, `BulkItemResponse`): `errors: false` means all ok;
 * else an item with status 429 or 5xx retries, another non-2xx fails.
 */
export function readEsBulk (response: TransportResponse, count: number): ItemProblem[] {
  whole(response)
  // Fast path: the top-level `errors` comes before `items` (next to `took`, in either order).
  const itemsAt = response.body.indexOf('"items"')
  if (/"errors"\s*:\s*false/.test(itemsAt < 0 ? response.body : response.body.slice(0, itemsAt))) return []
  const answer = parseBody<{ errors?: unknown, items?: unknown }>(response, 'Elasticsearch bulk')
  if (answer.errors === false) return []
  if (!Array.isArray(answer.items)) throw new ItemResultsError(`the Elasticsearch bulk answer has no items array: ${cut(response.body)}`)
  sameCount(answer.items.length, count, 'items')
  const problems: ItemProblem[] = []
  for (let i = 0; i < answer.items.length; i++) {
    const item = answer.items[i] as Record<string, { status?: unknown, error?: unknown }> | null
    const action = item === null || typeof item !== 'object' ? undefined : Object.keys(item)[0]
    const result = action === undefined ? undefined : item![action]
    const status = result?.status
    if (typeof status !== 'number') throw new ItemResultsError(`Elasticsearch bulk item ${i} has no status`)
    if (status >= 200 && status < 300) continue
    const verdict = status === 429 || (status >= 500 && status <= 599) ? 'retry' : 'fail'
    problems.push({ index: i, verdict, status, error: `Elasticsearch bulk ${action} status ${status}: ${esError(result?.error)}` })
  }
  return problems
}

function userReader (read: ItemResultsFunction): ItemReader {
  return (response, count, records) => {
    const verdicts = read(response, records())
    if (!Array.isArray(verdicts)) throw new ItemResultsError(`the itemResults function must return an array (got ${typeof verdicts})`)
    sameCount(verdicts.length, count, 'verdicts from the itemResults function')
    const problems: ItemProblem[] = []
    for (let i = 0; i < verdicts.length; i++) {
      const v = verdicts[i]
      if (v === 'ok') continue
      if (v !== 'retry' && v !== 'fail') throw new ItemResultsError(`the itemResults function returned ${JSON.stringify(v)} for item ${i}; expected 'ok', 'retry' or 'fail'`)
      problems.push({ index: i, verdict: v, status: undefined, error: `item ${i} of ${count}: '${v}' by the itemResults function` })
    }
    return problems
  }
}

function parseBody<T> (response: TransportResponse, what: string): T {
  try {
    const parsed = JSON.parse(response.body) as unknown
    if (parsed !== null && typeof parsed === 'object') return parsed as T
  } catch {}
  throw new ItemResultsError(`the ${what} answer is not a JSON object (or longer than ${ITEM_RESULTS_MAX_BODY} bytes): ${cut(response.body)}`)
}

/** A body cut at the bound may hide errors past the cut: refuse it rather than count those records delivered. */
function whole (response: TransportResponse): void {
  if (response.body.length * 3 >= ITEM_RESULTS_MAX_BODY && Buffer.byteLength(response.body) >= ITEM_RESULTS_MAX_BODY) {
    throw new ItemResultsError(`the answer is longer than ${ITEM_RESULTS_MAX_BODY} bytes, the bound for per-item results: send smaller batches`)
  }
}

function sameCount (got: number, expected: number, what: string): void {
  if (got !== expected) throw new ItemResultsError(`the answer has ${got} ${what} for ${expected} records`)
}

function esError (error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error)
  const e = error as { type?: unknown, reason?: unknown }
  return `${String(e.type)}: ${String(e.reason)}`
}

function cut (text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}
