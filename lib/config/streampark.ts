import { parse } from 'yaml'
import { InvalidOptionError } from '../errors.js'
import type { HttpWritableOptions } from '../sink/options.js'
import { show } from '../shared/validate.js'

const PREFIX = 'http.sink'
/** HBase REST and WebHDFS listen on HTTP ports StreamPark's keys do not name; these are the stock ones. */
const HBASE_REST_PORT = 8080
const WEBHDFS_PORT = 9870

type Tree = Record<string, unknown>

/**
 * Reads StreamPark's HttpSink configuration (YAML text, a parsed object, or flat
 * `http.sink.threshold.*` / `http.sink.failover.*` keys) into createHttpWritable options:
 * `threshold.numWriters/queueCapacity/timeout/requestTimeout/retries/successCode/delayTime` and the
 * failover store (`failover.storage`: mysql, kafka, hbase, hdfs; none → the file store).
 */
export function fromStreamParkConfig (config: string | Tree): HttpWritableOptions {
  let tree: unknown
  if (typeof config === 'string') {
    try {
      tree = parse(config)
    } catch (err) {
      throw new InvalidOptionError('config', `not YAML: ${(err as Error).message}`)
    }
  } else {
    tree = config
  }
  if (tree === null || typeof tree !== 'object') throw new InvalidOptionError('config', `must be a YAML mapping (got ${show(tree)})`)
  const sink = pick(tree as Tree, PREFIX) as Tree | undefined | null
  if (sink === undefined || sink === null || typeof sink !== 'object') throw new InvalidOptionError('config', `has no ${PREFIX} section`)
  const threshold = (pick(sink, 'threshold') ?? {}) as Tree
  const failover = pick(sink, 'failover') as Tree | undefined
  const options: HttpWritableOptions = {}
  const int = (key: string): number | undefined => integer(threshold, key)
  const numWriters = int('numWriters')
  if (numWriters !== undefined) options.numWriters = numWriters
  const queueCapacity = int('queueCapacity')
  if (queueCapacity !== undefined) options.queueCapacity = queueCapacity
  const timeout = int('requestTimeout') ?? int('timeout')
  if (timeout !== undefined) options.timeout = timeout
  const retries = int('retries')
  if (retries !== undefined) options.retries = retries
  const delay = int('delayTime')
  if (delay !== undefined) options.backoff = { base: delay, max: Math.max(delay, 30000) }
  const success = pick(threshold, 'successCode')
  if (success !== undefined) options.successCode = successCodes(success)
  if (failover !== undefined) {
    const uri = failoverUri(failover)
    if (uri !== undefined) options.failover = uri
  }
  return options
}

/** Reads `a.b.c` from nested mappings, from flat dotted keys, or from any mix of both. */
function pick (tree: Tree, path: string): unknown {
  if (Object.hasOwn(tree, path)) return tree[path]
  const parts = path.split('.')
  for (let i = parts.length - 1; i >= 1; i--) {
    const head = parts.slice(0, i).join('.')
    if (Object.hasOwn(tree, head) && tree[head] !== null && typeof tree[head] === 'object') {
      const found = pick(tree[head] as Tree, parts.slice(i).join('.'))
      if (found !== undefined) return found
    }
  }
  const flat = Object.keys(tree).filter((k) => k.startsWith(`${path}.`))
  if (flat.length === 0) return undefined
  const out: Tree = {}
  for (const key of flat) out[key.slice(path.length + 1)] = tree[key]
  return out
}

function integer (tree: Tree, key: string): number | undefined {
  const value = pick(tree, key)
  if (value === undefined || value === null || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new InvalidOptionError(`${PREFIX}.threshold.${key}`, `must be a whole number (got ${show(value)})`)
  return n
}

function successCodes (value: unknown): number | number[] {
  const codes = String(value).split(',').map((s) => Number(s.trim()))
  if (codes.some((c) => !Number.isInteger(c) || c < 100 || c > 599)) {
    throw new InvalidOptionError(`${PREFIX}.threshold.successCode`, `must be status codes (got ${show(value)})`)
  }
  return codes.length === 1 ? codes[0]! : codes
}

function text (tree: Tree, key: string, field: string): string {
  const value = pick(tree, key)
  if (value === undefined || value === null || String(value) === '') throw new InvalidOptionError(`${PREFIX}.failover.${field}`, 'is required')
  return String(value)
}

function failoverUri (failover: Tree): string | undefined {
  const storage = pick(failover, 'storage')
  if (storage === undefined || storage === null || storage === '') return undefined
  const table = () => text(failover, 'table', 'table')
  switch (String(storage).toLowerCase()) {
    case 'mysql': {
      const jdbc = (pick(failover, 'jdbc') ?? {}) as Tree
      const url = text(jdbc, 'jdbcUrl', 'jdbc.jdbcUrl')
      const m = /^jdbc:(?:mysql|mariadb):\/\/([^/?]+)\/([^?]+)/.exec(url)
      if (m === null) throw new InvalidOptionError(`${PREFIX}.failover.jdbc.jdbcUrl`, `must be jdbc:mysql://host:port/db (got ${show(url)})`)
      const user = encodeURIComponent(text(jdbc, 'username', 'jdbc.username'))
      const password = pick(jdbc, 'password')
      const auth = password === undefined || password === null ? user : `${user}:${encodeURIComponent(String(password))}`
      const host = m[1]!.includes(':') ? m[1]! : `${m[1]!}:3306`
      return `mysql://${auth}@${host}/${m[2]!}?table=${encodeURIComponent(table())}`
    }
    case 'kafka': {
      const kafka = (pick(failover, 'kafka') ?? {}) as Tree
      const servers = text(kafka, 'bootstrap.servers', 'kafka.bootstrap.servers').split(',').map((s) => s.trim()).filter(Boolean).join(',')
      return `kafka://${servers}/${encodeURIComponent(text(kafka, 'topic', 'kafka.topic'))}?shape=streampark`
    }
    case 'hbase': {
      const hbase = (pick(failover, 'hbase') ?? {}) as Tree
      const rest = pick(hbase, 'rest')
      const origin = rest !== undefined ? String(rest).replace(/^https?:\/\//, '').replace(/\/$/, '') : `${text(hbase, 'zookeeper.quorum', 'hbase.zookeeper.quorum').split(',')[0]!.trim()}:${HBASE_REST_PORT}`
      return `hbase://${origin}/${encodeURIComponent(table())}`
    }
    case 'hdfs': {
      const hdfs = (pick(failover, 'hdfs') ?? {}) as Tree
      const webhdfs = pick(hdfs, 'webhdfs')
      const origin = webhdfs !== undefined
        ? String(webhdfs).replace(/^\w+:\/\//, '').replace(/\/$/, '')
        : `${new URL(text(hdfs, 'namenode', 'hdfs.namenode')).hostname}:${WEBHDFS_PORT}`
      const path = text(hdfs, 'path', 'hdfs.path')
      const query = new URLSearchParams({ user: text(hdfs, 'user', 'hdfs.user') })
      const format = pick(hdfs, 'format')
      if (format !== undefined) query.set('format', String(format))
      return `webhdfs://${origin}${path.startsWith('/') ? '' : '/'}${path}?${query.toString()}`
    }
    case 'file': {
      const dir = pick(failover, 'file.dir') ?? pick(failover, 'dir')
      return `file:${dir === undefined ? './http-failover' : String(dir)}`
    }
    default:
      throw new InvalidOptionError(`${PREFIX}.failover.storage`, `must be one of mysql kafka hbase hdfs file (got ${show(storage)})`)
  }
}
