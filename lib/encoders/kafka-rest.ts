import type { BatchEncoding, Target } from './encoding.js'
import { requestTo } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'
import { decodable } from './batch-encodings.js'
import { bulkJsonTexts } from '../shared/json-texts.js'

const V2_JSON = 'application/vnd.kafka.json.v2+json'
const V2 = 'application/vnd.kafka.v2+json'
const OPEN = '{"records":['
const CLOSE = ']}'

/** One record of a v2 produce request, from its JSON text. */
function asValue (text: string): string {
  return `{"value":${text}}`
}

/**
 * `kafka-rest`: a batch is one Kafka REST Proxy v2 produce request, `{"records":[{"value":…},…]}`
 * with `Content-Type: application/vnd.kafka.json.v2+json`; the URL is `<proxy>/topics/<topic>`.
 * A 200 whose offsets carry an `error_code` is read record by record (`itemResults: 'kafka-rest'`,
 * this encoding's default, in sink/item-results): 50003 is retried, other codes fail over.
 */
export function kafkaRestEncoding (target: Target): BatchEncoding {
  const headers = { accept: V2, ...target.headers, 'content-type': target.headers['content-type'] ?? V2_JSON }
  const fixed = OPEN.length + CLOSE.length
  return decodable(target, {
    batch: true,
    piece: (record) => asValue(jsonText(record)),
    pieces: bulkJsonTexts(asValue),
    bodyBytes: (count, piecesBytes) => fixed + piecesBytes + Math.max(0, count - 1),
    assemble: (pieces) => requestTo(target, headers, OPEN + pieces.join(',') + CLOSE)
  }, (body) => (JSON.parse(body) as { records: Array<{ value: unknown }> }).records.map((r) => r.value))
}
