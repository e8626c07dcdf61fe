import type { BatchEncoding, Target } from './encoding.js'
import { requestTo } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'
import { bulkJsonTexts } from '../shared/json-texts.js'

/**
 * A batch body framed as `open piece sep piece … close` (NDJSON: '' / '\n' / '\n';
 * JSON array: '[' / ',' / ']'), each piece a record's JSON text.
 */
export function framedEncoding (target: Target, contentType: string, open: string, sep: string, close: string, piece: (record: unknown) => string = jsonText): BatchEncoding {
  const headers = target.headers['content-type'] === undefined ? { ...target.headers, 'content-type': contentType } : target.headers
  const fixed = Buffer.byteLength(open) + Buffer.byteLength(close)
  const sepBytes = Buffer.byteLength(sep)
  return {
    batch: true,
    piece,
    ...(piece === jsonText ? { pieces: bulkJsonTexts() } : {}),
    bodyBytes: (count, piecesBytes) => fixed + piecesBytes + sepBytes * Math.max(0, count - 1),
    assemble: open === '' && close === sep ? (pieces) => requestTo(target, headers, joinTerminated(pieces, sep)) : (pieces) => requestTo(target, headers, open + pieces.join(sep) + close)
  }
}

/**
 * `pieces` each followed by `sep`, as one flat string: joined with an empty last piece rather
 * than `join(sep) + sep`, whose concatenation the transport would copy again to flatten it.
 */
function joinTerminated (pieces: string[], sep: string): string {
  pieces.push('')
  const body = pieces.join(sep)
  pieces.pop()
  return body
}

/** `ndjson`: one JSON text per line, each line ending in `\n`. */
export function ndjsonEncoding (target: Target): BatchEncoding {
  return decodable(target, framedEncoding(target, 'application/x-ndjson', '', '\n', '\n'), (body) => body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown))
}

/** `json-array`: a JSON array of the records. */
export function jsonArrayEncoding (target: Target): BatchEncoding {
  return decodable(target, framedEncoding(target, 'application/json', '[', ',', ']'), (body) => JSON.parse(body) as unknown[])
}

/** Adds `decode` from the body text, except for HEAD, whose requests carry no body. */
export function decodable (target: Target, encoding: BatchEncoding, fromBody: (body: string) => unknown[]): BatchEncoding {
  return target.method === 'HEAD' ? encoding : { ...encoding, decode: (request) => fromBody(String(request.body)) }
}
