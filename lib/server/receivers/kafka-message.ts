import type { KafkaMessage, Message } from 'kafkajs'
import type { ConsumedRecord, EmbeddedFormat, ProduceRecord } from './receiver.js'
import { NotJsonMessageError, jsonTextOf, notJsonDetail } from './record-bytes.js'

export { NotJsonMessageError }

/**
 * Records ↔ Kafka messages in Confluent's JSON embedded format (kafka-rest's `format: json`): a key
 * or value is written as its JSON text (key "123" → the 5 bytes `"123"`, key 123 → `123`); a null
 * value is a tombstone (no value bytes) and a null or absent key is no key. On the way out, key and
 * value bytes must be UTF-8 JSON texts: anything else is refused with `NotJsonMessageError`, never
 * handed over as a string (which would make the bytes `abc` and `"abc"` look alike). In the binary
 * embedded format (kafka-rest's `format: binary`) keys and values are the raw bytes both ways.
 */

/** A produce record → the kafkajs message that carries it. */
export function toKafkaMessage (r: ProduceRecord): Message {
  if (r.binary !== undefined) return { key: r.binary.key, value: r.binary.value, partition: r.partition, headers: r.headers }
  return {
    key: r.key === undefined || r.key === null ? null : JSON.stringify(r.key),
    // NDJSON lines are JSON texts already (`raw`) and go out as sent.
    value: r.value === undefined || r.value === null ? null : r.raw ?? JSON.stringify(r.value),
    partition: r.partition,
    headers: r.headers
  }
}

/** A message read from Kafka → the consumed record, or the error answering for it when it is not JSON. */
export function fromKafkaMessage (topic: string, partition: number, m: KafkaMessage, format: EmbeddedFormat = 'json'): ConsumedRecord | NotJsonMessageError {
  const offset = Number(m.offset)
  if (format === 'binary') {
    const binary = { key: m.key ?? null, value: m.value }
    return { topic, partition, offset, key: undefined, value: undefined, binary, timestamp: Number(m.timestamp), headers: headersOf(m.headers), bytes: m.value === null ? 4 : m.value.length }
  }
  let key: unknown = null
  let raw: string | undefined
  let part: 'key' | 'value' = 'key'
  try {
    if (m.key !== null && m.key !== undefined) key = JSON.parse(jsonTextOf(m.key))
    part = 'value'
    if (m.value !== null) raw = jsonTextOf(m.value)
  } catch (err) {
    return new NotJsonMessageError(topic, partition, offset, part, notJsonDetail(err, part === 'key' ? m.key : m.value))
  }
  return {
    topic,
    partition,
    offset,
    key,
    // Valid JSON text is kept as written (served without re-serialising: big integers stay exact).
    value: raw === undefined ? null : undefined,
    raw,
    timestamp: Number(m.timestamp),
    headers: headersOf(m.headers),
    bytes: m.value === null ? 4 : m.value.length
  }
}

function headersOf (headers: KafkaMessage['headers']): Record<string, string> | undefined {
  if (headers === undefined) return undefined
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    const first = Array.isArray(v) ? v[0] : v
    if (first !== undefined) out[k] = first.toString()
  }
  return out
}
