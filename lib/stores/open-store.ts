import { InvalidOptionError } from '../errors.js'
import { FileStore } from './file.js'
import { HBaseStore } from './hbase.js'
import { KafkaStore } from './kafka.js'
import { MySqlStore } from './mysql.js'
import type { Store } from './store.js'
import { redactUri } from './store.js'
import { WebHdfsStore } from './webhdfs.js'

type Opener = (uri: string, field: string) => Store

const openers: Record<string, Opener> = {
  'file:': (uri, field) => new FileStore(fileDirectory(uri, field)),
  'kafka:': (uri, field) => KafkaStore.fromUri(uri, field),
  'mysql:': (uri, field) => MySqlStore.fromUri(uri, field),
  'webhdfs:': (uri, field) => WebHdfsStore.fromUri(uri, field),
  'hbase:': (uri, field) => HBaseStore.fromUri(uri, field)
}

/**
 * Opens a failover store from its URI: `file:./dir`, `kafka://host:port/topic`,
 * `mysql://user:pass@host:port/db?table=t`, `webhdfs://host:port/path?user=u&format=yyyy-MM-dd`,
 * `hbase://host:port/table`. Connects lazily; a bad URI throws ERR_INVALID_OPTION at once.
 */
export function openStore (uri: string, field = 'failover'): Store {
  if (typeof uri !== 'string' || uri === '') throw new InvalidOptionError(field, 'a store URI must be a non-empty string')
  // Not `new URL(uri)`: a Kafka bootstrap list (`host:port,host:port`) is not a URL host.
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(uri)?.[1]?.toLowerCase()
  if (scheme === undefined) throw new InvalidOptionError(field, `not a store URI: ${JSON.stringify(redactUri(uri))}`)
  const open = openers[scheme]
  if (open === undefined) {
    throw new InvalidOptionError(field, `unknown store scheme ${JSON.stringify(scheme)} (expected one of ${Object.keys(openers).join(' ')})`)
  }
  return open(uri, field)
}

/** `file:./dir` and `file:dir` are relative to the working directory; `file:///abs` is absolute. */
function fileDirectory (uri: string, field: string): string {
  const rest = uri.slice('file:'.length)
  const path = rest.startsWith('//') ? decodeURIComponent(new URL(uri).pathname) : decodeURIComponent(rest.split('?')[0] ?? '')
  if (path === '') throw new InvalidOptionError(field, 'file: store needs a directory, e.g. file:./http-failover')
  return path
}
