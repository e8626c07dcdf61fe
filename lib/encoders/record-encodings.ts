import { InvalidRecordError } from '../errors.js'
import type { RecordEncoding, Target } from './encoding.js'
import { recordUrl, requestTo, splitUrl } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'

const JSON_TYPE = 'application/json'

/** Headers with a default content-type, built once per target rather than per request. */
function withType (target: Target, type: string): Record<string, string> {
  return target.headers['content-type'] === undefined ? { ...target.headers, 'content-type': type } : target.headers
}

/** `json`: each record is sent as its JSON text. */
export function jsonEncoding (target: Target): RecordEncoding {
  const headers = withType(target, JSON_TYPE)
  const encoding: RecordEncoding = { batch: false, encode: (record) => requestTo(target, headers, jsonText(record)) }
  // HEAD sends no body, so its records cannot be rebuilt from the request.
  if (target.method !== 'HEAD') encoding.decode = (request) => [JSON.parse(String(request.body))]
  return encoding
}

/** `raw`: strings, Buffers and Uint8Arrays are sent as they are. */
export function rawEncoding (target: Target): RecordEncoding {
  const textHeaders = withType(target, 'text/plain; charset=utf-8')
  const binaryHeaders = withType(target, 'application/octet-stream')
  return {
    batch: false,
    encode (record) {
      if (typeof record === 'string') return requestTo(target, textHeaders, record)
      if (record instanceof Uint8Array) return requestTo(target, binaryHeaders, Buffer.from(record.buffer, record.byteOffset, record.byteLength))
      throw new InvalidRecordError(`encoding 'raw' takes strings, Buffers or Uint8Arrays, got ${typeof record}`)
    }
  }
}

/**
 * `url` (StreamPark): each record is a URL string, absolute or relative to the `url` option. The
 * request goes to its origin and path; its query becomes a JSON body (`?a=1&a=2&b=x` →
 * `{"a":["1","2"],"b":"x"}`) for every method but HEAD, which cannot carry a body and keeps the query.
 */
export function urlEncoding (target: Target): RecordEncoding {
  const headers = withType(target, JSON_TYPE)
  return {
    batch: false,
    encode (record) {
      if (typeof record !== 'string') throw new InvalidRecordError(`encoding 'url' takes URL strings, got ${typeof record}`)
      const url = recordUrl(record, target.url)
      if (target.method === 'HEAD') return { ...splitUrl(url), method: 'HEAD', headers: target.headers, body: undefined }
      return { origin: url.origin, path: url.pathname, method: target.method, headers, body: JSON.stringify(queryObject(url.searchParams)) }
    }
  }
}

function queryObject (params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [key, value] of params) {
    const seen = out[key]
    if (seen === undefined) out[key] = value
    else if (Array.isArray(seen)) seen.push(value)
    else out[key] = [seen, value]
  }
  return out
}
