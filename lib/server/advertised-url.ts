import { InvalidOptionError } from '../errors.js'
import { show } from '../shared/validate.js'

/**
 * `advertisedUrl` (Confluent's `advertised.listeners`): the base URL clients reach this node by,
 * named in the `base_uri` of the consumer instances it creates. http or https, no query or
 * fragment; a trailing slash is dropped. Throws InvalidOptionError naming the field.
 */
export function parseAdvertisedUrl (value: string | undefined, field = 'advertisedUrl'): string | undefined {
  if (value === undefined) return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidOptionError(field, `must be an absolute http(s) URL such as http://node1.example:8082 (got ${show(value)})`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError(field, `must be http or https (got ${show(value)})`)
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new InvalidOptionError(field, `must not have credentials, a query or a fragment: paths are appended to it (got ${show(value)})`)
  }
  return url.href.replace(/\/+$/, '')
}
