import { InvalidRecordError } from '../errors.js'
import type { FetchedRecord, ProduceInput } from './http-stream-client.js'

/** Kafka REST v2 embedded formats the client speaks: keys and values as JSON, or as bytes (base64 on the wire). */
export type EmbeddedFormat = 'json' | 'binary'

export const V2 = 'application/vnd.kafka.v2+json'

/**
 * What one format changes, chosen once at construction: the consumer instance's `format`, the
 * Content-Type of produce and the Accept of records (Confluent's `Versions.KAFKA_V2_JSON_*` and
 * `KAFKA_V2_BINARY`), and how keys and values are turned into and out of the wire form.
 */
export interface FormatCodec {
  readonly format: EmbeddedFormat
  readonly contentType: string
  readonly encode: (records: ProduceInput[]) => ProduceInput[]
  readonly decode: (records: FetchedRecord[]) => FetchedRecord[]
}

const JSON_CODEC: FormatCodec = {
  format: 'json',
  contentType: 'application/vnd.kafka.json.v2+json',
  encode: records => records,
  decode: records => records
}

/**
 * Binary: keys and values are base64 strings on the wire (`entities/v2/BinaryConsumerRecord`,
 * `BinaryProduceRecord`); the client sends Buffers, Uint8Arrays or strings (their UTF-8 bytes) and
 * reads Buffers. null stays null.
 */
const BINARY_CODEC: FormatCodec = {
  format: 'binary',
  contentType: 'application/vnd.kafka.binary.v2+json',
  encode: records => records.map((r, i) => {
    const out: ProduceInput = { ...r, value: toBase64(r.value, `records[${i}].value`) }
    if (r.key !== undefined) out.key = toBase64(r.key, `records[${i}].key`)
    return out
  }),
  decode: records => {
    for (const r of records) {
      r.key = fromBase64(r.key)
      r.value = fromBase64(r.value)
    }
    return records
  }
}

export function formatCodec (format: EmbeddedFormat): FormatCodec {
  return format === 'binary' ? BINARY_CODEC : JSON_CODEC
}

function toBase64 (bytes: unknown, field: string): string | null {
  if (bytes === null || bytes === undefined) return null
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8').toString('base64')
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  throw new InvalidRecordError(`${field}: the binary format takes a Buffer, a Uint8Array, a string or null (got ${Array.isArray(bytes) ? 'an array' : typeof bytes})`)
}

function fromBase64 (text: unknown): unknown {
  return typeof text === 'string' ? Buffer.from(text, 'base64') : text ?? null
}
