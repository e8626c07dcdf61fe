import type { BinaryPair, ConsumedRecord } from './receiver.js'
import { ReceiverError } from './receiver-errors.js'

/**
 * Keys and values as bytes, Kafka's view of a record, shared by the receivers: the json embedded
 * format's bytes are the UTF-8 JSON texts; the binary format's are whatever was sent. A json consumer
 * reading bytes that are not a JSON text gets `NotJsonMessageError` at that record, as Confluent's does.
 */

/** Strict UTF-8: invalid bytes are an error, not U+FFFD (a leading BOM is skipped, as Jackson does). */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** A stored key or value that is not a UTF-8 JSON text, read by a json consumer: 500 / 50002 naming where it is. */
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

/** The JSON text the bytes hold; throws (TypeError when not UTF-8, SyntaxError when not JSON). */
export function jsonTextOf (bytes: Uint8Array): string {
  const text = UTF8.decode(bytes)
  JSON.parse(text)
  return text
}

/** Why the bytes are not JSON, without quoting them (they may be anyone's data, and errors get logged). */
export function notJsonDetail (err: unknown, bytes: Uint8Array | null | undefined): string {
  const size = bytes?.length ?? 0
  if (size === 0) return 'empty'
  return `${size} bytes, ${err instanceof TypeError ? 'not UTF-8' : 'not a JSON text'}`
}

/** The key and value JSON texts of binary-stored bytes ('null' for none), or the error naming the part that is not JSON. */
export function jsonTextsOf (pair: BinaryPair, topic: string, partition: number, offset: number): { key: string, value: string } | NotJsonMessageError {
  let part: 'key' | 'value' = 'key'
  try {
    const key = pair.key === null ? 'null' : jsonTextOf(pair.key)
    part = 'value'
    const value = pair.value === null ? 'null' : jsonTextOf(pair.value)
    return { key, value }
  } catch (err) {
    return new NotJsonMessageError(topic, partition, offset, part, notJsonDetail(err, part === 'key' ? pair.key : pair.value))
  }
}

/** The bytes of a JSON text as Kafka holds them: 'null' (no key, a tombstone) is no bytes. */
export function jsonTextBytes (text: string): Buffer | null {
  return text === 'null' ? null : Buffer.from(text, 'utf8')
}

/** A consumed record's key and value as bytes, for the binary format (JSON texts become their UTF-8 bytes). */
export function recordBinary (r: ConsumedRecord): BinaryPair {
  if (r.binary !== undefined) return r.binary
  const key = r.rawKey ?? JSON.stringify(r.key ?? null)
  const value = r.raw ?? JSON.stringify(r.value ?? null)
  return { key: jsonTextBytes(key), value: jsonTextBytes(value) }
}
