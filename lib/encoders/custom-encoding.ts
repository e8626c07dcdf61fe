import { InvalidRecordError } from '../errors.js'
import type { BatchEncoding, EncodeFunction, Encoding, Target } from './encoding.js'
import { recordUrl, splitUrl } from './request-target.js'
import { lowerCaseHeaders } from '../shared/headers.js'
import type { OutgoingRequest } from '../transports/transport.js'

/**
 * A user's `(records) => ({ url?, method?, headers?, body })`. Per record it gets `[record]`; with
 * `batch` it gets the whole batch (maxRecords and lingerMs apply; maxBytes cannot be known ahead).
 */
export function customEncoding (encode: EncodeFunction, target: Target, batch: boolean): Encoding {
  const build = (records: unknown[]): OutgoingRequest => {
    const out = encode(records)
    if (out === null || typeof out !== 'object') throw new InvalidRecordError('the encoding function must return { url?, method?, headers?, body }')
    const url = out.url === undefined ? target.url : recordUrl(out.url, target.url)
    if (url === undefined) throw new InvalidRecordError('the encoding function returned no url and there is no url option')
    const headers = out.headers === undefined ? target.headers : { ...target.headers, ...lowerCaseHeaders(out.headers) }
    const body = out.body instanceof Uint8Array && !Buffer.isBuffer(out.body) ? Buffer.from(out.body) : out.body as string | Buffer | undefined
    return { ...splitUrl(url), method: out.method?.toUpperCase() ?? target.method, headers, body }
  }
  if (!batch) return { batch: false, encode: (record) => build([record]) }
  const encoding: BatchEncoding = {
    batch: true,
    piece: () => '',
    bodyBytes: () => 0,
    assemble: (_pieces, records) => build(records)
  }
  return encoding
}
