import type { TransportResponse } from '../transports/transport.js'
import type { BatchEncoding, Target, Verdict } from './encoding.js'
import { requestTo } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'
import { decodable } from './batch-encodings.js'

const V2_JSON = 'application/vnd.kafka.json.v2+json'
const V2 = 'application/vnd.kafka.v2+json'
const OPEN = '{"records":['
const CLOSE = ']}'
/** Kafka REST's "retriable Kafka error" code in a per-record answer. */
const RETRIABLE = 50003

/**
 * `kafka-rest`: a batch is one Kafka REST Proxy v2 produce request, `{"records":[{"value":…},…]}`
 * with `Content-Type: application/vnd.kafka.json.v2+json`; the URL is `<proxy>/topics/<topic>`.
 * A 200 whose offsets carry an `error_code` is not a success: 50003 is retried, others fail over.
 */
export function kafkaRestEncoding (target: Target): BatchEncoding {
  const headers = { accept: V2, ...target.headers, 'content-type': target.headers['content-type'] ?? V2_JSON }
  const fixed = OPEN.length + CLOSE.length
  return decodable(target, {
    batch: true,
    piece: (record) => `{"value":${jsonText(record)}}`,
    bodyBytes: (count, piecesBytes) => fixed + piecesBytes + Math.max(0, count - 1),
    assemble: (pieces) => requestTo(target, headers, OPEN + pieces.join(',') + CLOSE),
    judge: judgeOffsets
  }, (body) => (JSON.parse(body) as { records: Array<{ value: unknown }> }).records.map((r) => r.value))
}

/** Looks into a 2xx produce answer for per-record errors; anything else is left to the status policy. */
export function judgeOffsets (response: TransportResponse): Verdict | undefined {
  if (response.status < 200 || response.status > 299 || !response.body.includes('"error_code"')) return undefined
  // A scan rather than JSON.parse: bodies handed to judges may be cut at 64 KiB.
  const codes = [...response.body.matchAll(/"error_code"\s*:\s*(\d+)/g)].map(m => Number(m[1]))
  if (codes.length === 0) return undefined
  return codes.every(c => c === RETRIABLE) ? 'retry' : 'fail'
}
