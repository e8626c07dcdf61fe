import { HttpProblem } from '../http-problem.js'
import { isJsonObject, parseGuardedJson, type JsonLimits } from '../json-guard.js'
import type { ProduceRecord } from '../receivers/receiver.js'

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
 * Kafka REST v2 JSON-embedded produce body `{ records: [{ key?, value, partition? }] }` → records.
 * Values are not serialised again to size them: each record is charged an equal share of the body's
 * bytes (exact for the request as a whole, which is what retention checks).
 */
export function kafkaRestRecords (body: unknown, bodyBytes: number): ProduceRecord[] {
  if (!isJsonObject(body) || !Array.isArray(body.records)) {
    throw new HttpProblem(422, 422, 'Request body must be an object with a "records" array.')
  }
  const out: ProduceRecord[] = []
  const list = body.records as unknown[]
  const share = Math.max(1, Math.ceil(bodyBytes / Math.max(1, list.length)))
  for (let i = 0; i < list.length; i++) {
    const r = list[i]
    if (!isJsonObject(r)) throw new HttpProblem(422, 422, `records[${i}] must be an object with a "value".`)
    const partition = r.partition
    if (partition !== undefined && partition !== null && (!Number.isSafeInteger(partition) || (partition as number) < 0)) {
      throw new HttpProblem(422, 42202, `records[${i}].partition must be a non-negative integer.`)
    }
    out.push({ key: r.key ?? null, value: r.value === undefined ? null : r.value, partition: (partition ?? undefined) as number | undefined, bytes: share })
  }
  return out
}

/** Records from plain values (InLong lines, /actions rows); strings are sized without serialising. */
export function valueRecords (values: readonly unknown[], headers?: (i: number) => Record<string, string>): ProduceRecord[] {
  return values.map((value, i) => {
    const bytes = typeof value === 'string' ? value.length + 2 : (JSON.stringify(value ?? null) ?? 'null').length
    return { value: value ?? null, bytes, headers: headers?.(i) }
  })
}
