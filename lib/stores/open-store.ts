import { InvalidOptionError } from '../errors.js'
import { FileStore } from './file.js'
import type { Store } from './store.js'
import { redactUri } from './store.js'

type Opener = (url: URL, uri: string, field: string) => Store

const openers: Record<string, Opener> = {
  'file:': (url, uri, field) => new FileStore(fileDirectory(uri, field))
}

/**
 * Opens a failover store from its URI: `file:./dir`, `kafka://host:port/topic`,
 * `mysql://user:pass@host:port/db?table=t`, `webhdfs://host:port/path?user=u&format=yyyy-MM-dd`,
 * `hbase://host:port/table`. Connects lazily; a bad URI throws ERR_INVALID_OPTION at once.
 */
export function openStore (uri: string, field = 'failover'): Store {
  if (typeof uri !== 'string' || uri === '') throw new InvalidOptionError(field, 'a store URI must be a non-empty string')
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new InvalidOptionError(field, `not a store URI: ${JSON.stringify(redactUri(uri))}`)
  }
  const open = openers[url.protocol]
  if (open === undefined) {
    throw new InvalidOptionError(field, `unknown store scheme ${JSON.stringify(url.protocol)} (expected one of ${Object.keys(openers).join(' ')})`)
  }
  return open(url, uri, field)
}

/** `file:./dir` and `file:dir` are relative to the working directory; `file:///abs` is absolute. */
function fileDirectory (uri: string, field: string): string {
  const rest = uri.slice('file:'.length)
  const path = rest.startsWith('//') ? decodeURIComponent(new URL(uri).pathname) : decodeURIComponent(rest.split('?')[0] ?? '')
  if (path === '') throw new InvalidOptionError(field, 'file: store needs a directory, e.g. file:./http-failover')
  return path
}
