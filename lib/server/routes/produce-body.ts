import { HttpProblem } from '../http-problem.js'
import { isJsonObject, parseGuardedJson, type JsonLimits } from '../json-guard.js'
import type { EmbeddedFormat, ProduceRecord } from '../receivers/receiver.js'

const NEWLINE = 0x0a
const CR = 0x0d

/**
 * NDJSON bulk body → records: one JSON value per line, blank lines skipped, CRLF accepted. Lines are
 * found with Buffer#indexOf and decoded one by one (no copy of the whole body, no quadratic joins).
 * Any bad line refuses the whole request.
 */
export function ndjsonRecords (body: Buffer, limits: JsonLimits): ProduceRecord[] {
  const records: ProduceRecord[] = []
  let start = 0
  let line = 0
  while (start < body.length) {
    let end = body.indexOf(NEWLINE, start)
    if (end === -1) end = body.length
    line++
    let stop = end
    if (stop > start && body[stop - 1] === CR) stop--
    if (stop > start) {
      const raw = body.toString('utf8', start, stop)
      records.push({ value: parseGuardedJson(raw, limits, `line ${line}`), bytes: stop - start, raw })
    }
    start = end + 1
  }
  return records
}

/**
 * Kafka REST v2 produce body `{ records: [{ key?, value, partition? }] }` → records, in the json
 * embedded format (keys and values are JSON) or the binary one (base64 strings or null, kept as the
 * bytes they encode). An empty `records` list is refused, as Confluent's `@NotEmpty` does. Values
 * are not serialised again to size them: each record is charged an equal share of the body's bytes
 * (exact for the request as a whole, which is what retention checks).
 */
export function kafkaRestRecords (body: unknown, bodyBytes: number, format: EmbeddedFormat = 'json'): ProduceRecord[] {
  if (!isJsonObject(body) || !Array.isArray(body.records)) {
    throw new HttpProblem(422, 422, 'Request body must be an object with a "records" array.')
  }
  const list = body.records as unknown[]
  if (list.length === 0) throw new HttpProblem(422, 422, 'records may not be empty')
  const out: ProduceRecord[] = []
  const share = Math.max(1, Math.ceil(bodyBytes / list.length))
  for (let i = 0; i < list.length; i++) {
    const r = list[i]
    if (!isJsonObject(r)) throw new HttpProblem(422, 422, `records[${i}] must be an object with a "value".`)
    const partition = r.partition
    if (partition !== undefined && partition !== null && (!Number.isSafeInteger(partition) || (partition as number) < 0)) {
      throw new HttpProblem(422, 422, `records[${i}].partition must be a non-negative integer.`)
    }
    const record: ProduceRecord = { key: r.key ?? null, value: r.value === undefined ? null : r.value, partition: (partition ?? undefined) as number | undefined, bytes: share }
    if (format === 'binary') {
      record.binary = { key: base64Bytes(r.key, `records[${i}].key`), value: base64Bytes(r.value, `records[${i}].value`) }
      record.key = null
      record.value = null
    }
    out.push(record)
  }
  return out
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** A binary-format key or value: a base64 string (padded, RFC 4648) or null/absent (no bytes); 422 / 42203 otherwise. */
export function base64Bytes (value: unknown, where: string): Buffer | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new HttpProblem(422, 42203, `Conversion of JSON to Object failed: ${where} must be a base64 string in the binary embedded format`)
  }
  return Buffer.from(value, 'base64')
}

/** Records from plain values (InLong lines, /actions rows); strings are sized without serialising. */
export function valueRecords (values: readonly unknown[], headers?: (i: number) => Record<string, string>): ProduceRecord[] {
  return values.map((value, i) => {
    const bytes = typeof value === 'string' ? value.length + 2 : (JSON.stringify(value ?? null) ?? 'null').length
    return { value: value ?? null, bytes, headers: headers?.(i) }
  })
}
