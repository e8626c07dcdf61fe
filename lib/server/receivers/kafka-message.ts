import type { KafkaMessage, Message } from 'kafkajs'
import type { ConsumedRecord, ProduceRecord } from './receiver.js'
import { ReceiverError } from './receiver-errors.js'

/**
 * Records ↔ Kafka messages in Confluent's JSON embedded format (kafka-rest's `format: json`): a key
 * or value is written as its JSON text (key "123" → the 5 bytes `"123"`, key 123 → `123`); a null
 * value is a tombstone (no value bytes) and a null or absent key is no key. On the way out, key and
 * value bytes must be UTF-8 JSON texts: anything else is refused with `NotJsonMessageError`, never
 * handed over as a string (which would make the bytes `abc` and `"abc"` look alike).
 */

/** Strict UTF-8: invalid bytes are an error, not U+FFFD (a leading BOM is skipped, as Jackson does). */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** A message read from Kafka whose key or value is not a UTF-8 JSON text: 500 / 50002 naming where it is. */
export class NotJsonMessageError extends ReceiverError {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly part: 'key' | 'value'
  constructor (topic: string, partition: number, offset: number, part: 'key' | 'value', detail: string) {
    super('ERR_NOT_JSON_MESSAGE', 500, 50002,
      `Message at ${topic} partition ${partition} offset ${offset}: its ${part} is not JSON (${detail}); ` +
      `the json format reads JSON only. Seek past it with POST …/positions {"offsets":[{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":${offset + 1}}]}.`)
    this.topic = topic
    this.partition = partition
    this.offset = offset
    this.part = part
  }
}

/** A produce record → the kafkajs message that carries it. */
export function toKafkaMessage (r: ProduceRecord): Message {
  return {
    key: r.key === undefined || r.key === null ? null : JSON.stringify(r.key),
    // NDJSON lines are JSON texts already (`raw`) and go out as sent.
    value: r.value === undefined || r.value === null ? null : r.raw ?? JSON.stringify(r.value),
    partition: r.partition,
    headers: r.headers
  }
}

/** A message read from Kafka → the consumed record, or the error answering for it when it is not JSON. */
export function fromKafkaMessage (topic: string, partition: number, m: KafkaMessage): ConsumedRecord | NotJsonMessageError {
  const offset = Number(m.offset)
  let key: unknown = null
  let raw: string | undefined
  let part: 'key' | 'value' = 'key'
  try {
    if (m.key !== null && m.key !== undefined) key = JSON.parse(UTF8.decode(m.key))
    part = 'value'
    if (m.value !== null) {
      raw = UTF8.decode(m.value)
      JSON.parse(raw)
    }
  } catch (err) {
    return new NotJsonMessageError(topic, partition, offset, part, describe(err, part === 'key' ? m.key : m.value))
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

/** Why the bytes are not JSON, without quoting them (they may be anyone's data, and errors get logged). */
function describe (err: unknown, bytes: Buffer | null | undefined): string {
  const size = bytes?.length ?? 0
  if (size === 0) return 'empty'
  return `${size} bytes, ${err instanceof TypeError ? 'not UTF-8' : 'not a JSON text'}`
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
