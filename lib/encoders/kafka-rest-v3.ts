import type { BatchEncoding, RecordEncoding, Target } from './encoding.js'
import { requestTo } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'
import { decodable } from './batch-encodings.js'
import { bulkJsonTexts } from '../shared/json-texts.js'

const JSON_TYPE = 'application/json'

/** One record as a Kafka REST v3 produce request: its value typed JSON (Confluent `entities/v3/ProduceRequest`). */
function piece (record: unknown): string {
  return wrap(jsonText(record))
}

/** The same, from the record's JSON text. */
function wrap (text: string): string {
  return `{"value":{"type":"JSON","data":${text}}}`
}

/** The records of a body of such pieces, one per line (JSON.stringify never writes a raw newline). */
function records (body: string): unknown[] {
  return body.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { value: { data: unknown } }).value.data)
}

/**
 * `kafka-rest-v3`: records go to a Kafka REST v3 produce URL,
 * `<proxy>/v3/clusters/<cluster_id>/topics/<topic>/records` (the `url` option names the cluster and
 * the topic; `GET <proxy>/v3/clusters` lists the cluster ids), as `{"value":{"type":"JSON","data":…}}`,
 * in v3's streaming mode: a batch is those requests one per line in one body, and the answer one
 * delivery report per record (`itemResults: 'kafka-rest-v3'`, this encoding's default: error_code
 * 200 delivered, retriable codes retried, others failed over). With `batch: false`, one record per
 * request.
 */
export function kafkaRestV3Encoding (target: Target, _options?: unknown, batch = true): BatchEncoding | RecordEncoding {
  const headers = { accept: JSON_TYPE, ...target.headers, 'content-type': target.headers['content-type'] ?? JSON_TYPE }
  if (!batch) {
    const single: RecordEncoding = { batch: false, encode: (record) => requestTo(target, headers, piece(record)) }
    if (target.method !== 'HEAD') single.decode = (request) => records(String(request.body))
    return single
  }
  return decodable(target, {
    batch: true,
    piece,
    pieces: bulkJsonTexts(wrap),
    bodyBytes: (count, piecesBytes) => piecesBytes + Math.max(0, count - 1),
    assemble: (pieces) => requestTo(target, headers, pieces.join('\n'))
  }, records)
}
