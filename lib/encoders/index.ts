import { InvalidOptionError } from '../errors.js'
import type { EncodeFunction, Encoding, Target } from './encoding.js'
import { jsonEncoding, rawEncoding, urlEncoding } from './record-encodings.js'
import { jsonArrayEncoding, ndjsonEncoding } from './batch-encodings.js'
import { customEncoding } from './custom-encoding.js'
import { kafkaRestEncoding } from './kafka-rest.js'
import { kafkaRestV3Encoding } from './kafka-rest-v3.js'
import { inlongEncoding } from './inlong.js'

export type { Encoding, EncodeFunction, Target, Verdict, BatchEncoding, RecordEncoding } from './encoding.js'

/** Options an encoding may read besides the target (e.g. `inlong: { groupId, streamId }`). */
export type EncodingOptions = Record<string, unknown>

/** `batch` is false only for `kafka-rest-v3` with `batch: false` (the other batch encodings always batch). */
type Factory = (target: Target, options: EncodingOptions, batch: boolean) => Encoding

/** Per-record encodings: one request per record. */
export const RECORD_ENCODINGS: Record<string, Factory> = {
  json: jsonEncoding,
  raw: rawEncoding,
  url: urlEncoding
}

/** Batch encodings: need (and imply) `batch`. */
export const BATCH_ENCODINGS: Record<string, Factory> = {
  ndjson: ndjsonEncoding,
  'json-array': jsonArrayEncoding,
  'kafka-rest': kafkaRestEncoding,
  'kafka-rest-v3': kafkaRestV3Encoding,
  inlong: inlongEncoding
}

export function createEncoding (encoding: string | EncodeFunction, target: Target, batch: boolean, options: EncodingOptions): Encoding {
  if (typeof encoding === 'function') return customEncoding(encoding, target, batch)
  const factory = RECORD_ENCODINGS[encoding] ?? BATCH_ENCODINGS[encoding]
  if (factory === undefined) throw new InvalidOptionError('encoding', `unknown encoding ${encoding}`)
  return factory(target, options, batch)
}
