import { isJsonObject } from '../json-guard.js'
import type { ProduceRecord } from '../receivers/receiver.js'
import { base64Bytes } from './produce-body.js'

/**
 * One Kafka REST v3 produce request → the record it stores, as Confluent's kafka-rest reads it
 * (`entities/v3/ProduceRequest`, `resources/v3/ProduceAction`, `controllers/NoSchemaRecordSerializer`):
 * `{ partition_id?, headers?: [{name, value: base64|null}], key?: {type, data}, value?: {type, data}, timestamp? }`
 * with `type` `JSON` (data as JSON bytes), `BINARY` (base64) or `STRING` (UTF-8). A key or value
 * without a type, or with a schema, needs a schema registry: 42206 (`SchemaManagerThrowing`).
 */

/** A v3 answer entry for a record that was refused (Confluent's `ErrorResponse`). */
export interface V3Refusal {
  error_code: number
  message: string
}

/** The `key`/`value` of a produce answer: its type and serialised size (-1 without bytes, as Kafka's RecordMetadata). */
export interface V3DataInfo {
  type: DataType
  size: number
}

export interface V3Record {
  record: ProduceRecord
  key: V3DataInfo | undefined
  value: V3DataInfo | undefined
}

type DataType = 'BINARY' | 'JSON' | 'STRING'

const FIELDS = new Set(['partition_id', 'headers', 'key', 'value', 'timestamp'])
const DATA_FIELDS = new Set(['type', 'subject', 'subject_name_strategy', 'schema_id', 'schema_version', 'schema', 'data'])
const SCHEMA_FIELDS = ['subject', 'subject_name_strategy', 'schema_id', 'schema_version', 'schema'] as const
const TYPES = new Set<string>(['BINARY', 'JSON', 'STRING'])
const SCHEMA_TYPES = new Set(['AVRO', 'JSONSCHEMA', 'PROTOBUF'])
const MAX_PARTITION = 2 ** 31 - 1
const UTF8 = new TextDecoder('utf-8', { fatal: true })

class Refused extends Error {
  readonly code: number
  constructor (code: number, message: string) {
    super(message)
    this.code = code
  }
}

function bad (detail: string): Refused {
  return new Refused(400, `Bad Request: ${detail}`)
}

/** Reads one produce request; a refusal carries Confluent's error_code for it. */
export function v3Record (body: unknown): V3Record | V3Refusal {
  try {
    return read(body)
  } catch (err) {
    if (err instanceof Refused) return { error_code: err.code, message: err.message }
    // base64Bytes' 42203 "Conversion of JSON to Object failed" is Confluent's 400 here.
    return { error_code: 400, message: `Bad Request: ${(err as Error).message}` }
  }
}

function read (body: unknown): V3Record {
  if (!isJsonObject(body)) throw bad('a produce request must be a JSON object')
  for (const field of Object.keys(body)) {
    if (!FIELDS.has(field)) throw bad(`Unrecognized field ${JSON.stringify(field)}, not marked as ignorable (known properties: "partition_id", "headers", "key", "value", "timestamp")`)
  }
  checkTimestamp(body.timestamp)
  const key = data(body.key, 'key')
  const value = data(body.value, 'value')
  const record: ProduceRecord = { key: null, value: null, bytes: 0, partition: partition(body.partition_id), headers: headers(body.headers) }
  if (key?.type !== 'BINARY' && key?.type !== 'STRING' && value?.type !== 'BINARY' && value?.type !== 'STRING') {
    // JSON (or nothing) on both sides: the json embedded format's path, kept as JSON text.
    record.key = key?.data ?? null
    record.value = value?.data ?? null
    const raw = value === undefined || value.data === null ? undefined : JSON.stringify(value.data)
    if (raw !== undefined) record.raw = raw
    record.bytes = raw === undefined ? 4 : Buffer.byteLength(raw)
    return { record, key: key && { type: key.type, size: jsonSize(key.data) }, value: value && { type: value.type, size: raw === undefined ? -1 : record.bytes } }
  }
  const binary = { key: bytesOf(key), value: bytesOf(value) }
  record.binary = binary
  record.bytes = binary.value?.length ?? 4
  return { record, key: key && { type: key.type, size: binary.key?.length ?? -1 }, value: value && { type: value.type, size: binary.value?.length ?? -1 } }
}

function jsonSize (data: unknown): number {
  return data === null ? -1 : Buffer.byteLength(JSON.stringify(data))
}

/** A `key` or `value`: undefined when absent or null (no bytes, and no entry in the answer). */
function data (value: unknown, where: 'key' | 'value'): { type: DataType, data: unknown } | undefined {
  if (value === undefined || value === null) return undefined
  if (!isJsonObject(value)) throw bad(`${where} must be an object with "type" and "data"`)
  for (const field of Object.keys(value)) {
    if (!DATA_FIELDS.has(field)) throw bad(`Unrecognized field ${JSON.stringify(field)} in ${where}`)
  }
  const type = value.type
  if (type === undefined || type === null || (typeof type === 'string' && SCHEMA_TYPES.has(type))) {
    throw new Refused(42206, 'Payload error. Schema Registry must be configured when using schemas.')
  }
  if (typeof type !== 'string' || !TYPES.has(type)) throw bad(`${where}.type must be one of BINARY, JSON, STRING (got ${JSON.stringify(type)})`)
  for (const field of SCHEMA_FIELDS) {
    if (value[field] !== undefined && value[field] !== null) throw bad(`'type=${type}' cannot be used with '${field}'.`)
  }
  return { type: type as DataType, data: value.data ?? null }
}

function bytesOf (d: { type: DataType, data: unknown } | undefined): Buffer | null {
  if (d === undefined || d.data === null) return null
  if (d.type === 'JSON') return Buffer.from(JSON.stringify(d.data), 'utf8')
  if (typeof d.data !== 'string') throw bad(`data=${JSON.stringify(d.data)} is not a ${d.type === 'BINARY' ? 'base64 ' : ''}string.`)
  if (d.type === 'STRING') return Buffer.from(d.data, 'utf8')
  try {
    return base64Bytes(d.data, 'data')
  } catch {
    throw bad(`data=${JSON.stringify(d.data.length > 40 ? `${d.data.slice(0, 40)}…` : d.data)} is not a valid base64 string.`)
  }
}

function partition (value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  if (!Number.isInteger(value) || (value as number) > MAX_PARTITION) throw bad('partition_id must be an integer')
  // Confluent: `partitionId < 0` → Errors.partitionNotFoundException (404 / 40402).
  if ((value as number) < 0) throw new Refused(40402, 'Partition not found.')
  return value as number
}

/**
 * Headers as the receivers keep them: one text value per name. A value is base64 bytes (Jackson's
 * `byte[]`) that must be UTF-8; null is kept as ''. A repeated name is refused (Kafka allows it;
 * the receivers' headers are a map).
 */
function headers (value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value)) throw bad('headers must be an array of {"name", "value"}')
  if (value.length === 0) return undefined
  const out: Record<string, string> = Object.create(null) as Record<string, string>
  for (const h of value) {
    if (!isJsonObject(h) || typeof h.name !== 'string' || Object.keys(h).some((k) => k !== 'name' && k !== 'value')) throw bad('each header must be {"name": string, "value": base64 or null}')
    if (Object.hasOwn(out, h.name)) throw bad(`header ${JSON.stringify(h.name)} is repeated: this server keeps one value per header name`)
    let bytes: Buffer | null
    try {
      bytes = base64Bytes(h.value, `header ${h.name}`)
    } catch {
      throw bad(`header ${JSON.stringify(h.name)}: value must be base64 or null`)
    }
    try {
      out[h.name] = bytes === null ? '' : UTF8.decode(bytes)
    } catch {
      throw bad(`header ${JSON.stringify(h.name)}: value is not UTF-8 text (this server keeps header values as text)`)
    }
  }
  return out
}

/**
 * A request's `timestamp` (an ISO-8601 instant, or seconds since the epoch, as Jackson reads an
 * Instant) is checked (400 when it is neither) but not kept: the receivers stamp each record with
 * the time they store it, and the answer gives that time.
 */
function checkTimestamp (value: unknown): void {
  if (value === undefined || value === null) return
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : NaN
  if (!Number.isFinite(ms)) throw bad(`timestamp must be an ISO-8601 instant such as "2021-02-05T19:14:42Z" (got ${JSON.stringify(value)})`)
}
