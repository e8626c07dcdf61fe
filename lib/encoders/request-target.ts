import { InvalidRecordError } from '../errors.js'
import type { OutgoingRequest } from '../transports/transport.js'
import type { Target } from './encoding.js'

/** `origin` and `path` of a URL, as transports take them. */
export function splitUrl (url: URL): { origin: string, path: string } {
  return { origin: url.origin, path: url.pathname + url.search }
}

/** A request to the target URL; throws InvalidRecordError in StreamPark mode (no fixed URL). */
export function requestTo (target: Target, headers: Record<string, string>, body: OutgoingRequest['body']): OutgoingRequest {
  if (target.url === undefined) throw new InvalidRecordError('no url option and the encoding does not take the URL from the record')
  const { origin, path } = splitUrl(target.url)
  return { origin, path, method: target.method, headers, body: target.method === 'HEAD' ? undefined : body }
}

/** Resolves a URL (absolute, or relative to the `url` option) and checks it is http(s). */
export function recordUrl (value: string, base: URL | undefined): URL {
  let url: URL
  try {
    url = new URL(value, base)
  } catch {
    throw new InvalidRecordError(`record is not a URL: ${JSON.stringify(value.slice(0, 200))}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidRecordError(`record URL must be http or https: ${JSON.stringify(value.slice(0, 200))}`)
  return url
}
