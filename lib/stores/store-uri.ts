/**
 * Parsing of network store URIs (`scheme://[user:pass@]host:port[,host:port]/path?k=v`).
 * Every problem throws InvalidOptionError naming the option (`field`) and saying what is wrong;
 * messages only ever show the URI with its password replaced by `***`.
 */
import { InvalidOptionError } from '../errors.js'
import { redactUri } from './store.js'

export interface HostPort {
  host: string
  port: number
}

export interface StoreUri {
  /** `kafka`, `mysql`, … (no colon). */
  scheme: string
  hosts: HostPort[]
  /** The decoded path without its leading slash ('' when none). */
  path: string
  username: string
  password: string
  params: UriParams
  /** The URI with any password replaced by `***`. */
  redacted: string
  /** Throws InvalidOptionError: `what` is wrong in this URI. */
  fail: (what: string) => never
}

export interface ParseOptions {
  /** Query parameters this store understands; any other one is an error. */
  params: readonly string[]
  /** Accept `host:port,host:port` (Kafka bootstrap lists). */
  multiHost?: boolean
  /** Example shown in errors, e.g. `kafka://host:port/topic`. */
  example: string
}

const AUTHORITY = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/i

export function parseStoreUri (uri: string, field: string, options: ParseOptions): StoreUri {
  const redacted = redactUri(uri)
  const fail = (what: string): never => {
    throw new InvalidOptionError(field, `${what} in ${JSON.stringify(redacted)} (expected ${options.example})`)
  }
  const match = AUTHORITY.exec(uri)
  if (match === null) return fail('not a store URI')
  const [, scheme, authority, rest] = match as unknown as [string, string, string, string]
  const at = authority.lastIndexOf('@')
  const userinfo = at === -1 ? '' : authority.slice(0, at)
  const hostList = authority.slice(at + 1)
  const hosts = hostList === '' ? [] : hostList.split(',').map((h) => parseHost(h, fail))
  if (hosts.length === 0) fail('no host:port')
  if (hosts.length > 1 && options.multiHost !== true) fail('more than one host')
  let url: URL
  try {
    // The host list may not be a valid URL host (commas); parse the rest against a placeholder.
    url = new URL(`${scheme}://${userinfo === '' ? '' : userinfo + '@'}placeholder${rest}`)
  } catch {
    return fail('not a valid URI')
  }
  let path: string
  let username: string
  let password: string
  try {
    path = decodeURIComponent(url.pathname.replace(/^\//, ''))
    username = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    return fail('bad percent-encoding')
  }
  return { scheme: scheme.toLowerCase(), hosts, path, username, password, params: new UriParams(url.searchParams, options.params, fail), redacted, fail }
}

function parseHost (text: string, fail: (what: string) => never): HostPort {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d+)$/i.exec(text)
  if (m === null) return fail(/:\d+$/.test(text) ? `bad host:port ${JSON.stringify(text)}` : `host ${JSON.stringify(text)} has no port`)
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`port ${m[2]} out of range 1-65535`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

/** Typed access to the query string; unknown names and bad values throw at once. */
export class UriParams {
  readonly #params: URLSearchParams
  readonly #fail: (what: string) => never

  constructor (params: URLSearchParams, allowed: readonly string[], fail: (what: string) => never) {
    this.#params = params
    this.#fail = fail
    for (const name of params.keys()) {
      if (!allowed.includes(name)) fail(`unknown parameter ${JSON.stringify(name)} (known: ${allowed.join(', ') || 'none'})`)
    }
  }

  string (name: string): string | undefined {
    const value = this.#params.get(name)
    return value === null ? undefined : value
  }

  int (name: string, fallback: number, min: number, max: number): number {
    const text = this.string(name)
    if (text === undefined) return fallback
    const value = Number(text)
    if (!/^\d+$/.test(text) || value < min || value > max) this.#fail(`${name}=${JSON.stringify(text)} must be an integer from ${min} to ${max}`)
    return value
  }

  choice<T extends string> (name: string, values: readonly T[], fallback: T): T {
    const text = this.string(name)
    if (text === undefined) return fallback
    if (!(values as readonly string[]).includes(text)) this.#fail(`${name}=${JSON.stringify(text)} must be one of ${values.join(', ')}`)
    return text as T
  }

  /** A required, non-empty value. */
  required (name: string, what: string): string {
    const text = this.string(name)
    if (text === undefined || text === '') this.#fail(`no ${what} (?${name}=)`)
    return text as string
  }
}

/** What `util.inspect` shows for a store: its kind and redacted URI, never a password. */
export function inspectStore (name: string, uri: string): string {
  return `${name} <${uri}>`
}
