import { inspect } from 'node:util'
import { EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici'
import type { ConnectionOptions } from 'node:tls'
import { InvalidOptionError } from '../errors.js'

/**
 * The `proxy` option, parsed once: a forward proxy's URL, or `env` (HTTPS_PROXY, HTTP_PROXY and
 * NO_PROXY, read when the sink starts). Its credentials are kept out of every rendering of it
 * (String, JSON, util.inspect), so options, errors and logs never show the password.
 */
export class ProxySetting {
  readonly env: boolean
  /** The proxy's URL without credentials (undefined for `env`). */
  readonly url: URL | undefined
  /** `Basic …` for a URL with user and password. */
  readonly #authorization: string | undefined

  private constructor (env: boolean, url: URL | undefined, authorization: string | undefined) {
    this.env = env
    this.url = url
    this.#authorization = authorization
  }

  /** Throws ERR_INVALID_OPTION naming `proxy`, with the value's password masked. */
  static parse (value: string): ProxySetting {
    if (value === 'env') return new ProxySetting(true, undefined, undefined)
    let url: URL
    try {
      url = new URL(value)
    } catch {
      throw new InvalidOptionError('proxy', `must be 'env' or an http(s) URL such as http://user:pass@host:3128 (got ${mask(value)})`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('proxy', `must be an http or https URL (got ${mask(value)})`)
    const authorization = url.username === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    url.username = ''
    url.password = ''
    return new ProxySetting(false, url, authorization)
  }

  /** The `Proxy-Authorization` value, if the URL carried credentials. */
  get authorization (): string | undefined {
    return this.#authorization
  }

  toString (): string {
    return this.env ? 'env' : `${this.url!.protocol}//${this.#authorization === undefined ? '' : '***@'}${this.url!.host}`
  }

  toJSON (): string {
    return this.toString()
  }

  [inspect.custom] (): string {
    return `ProxySetting(${this.toString()})`
  }
}

/** `value` with anything between `//` and `@` masked: for messages about a value that did not parse. */
function mask (value: string): string {
  return JSON.stringify(value.replace(/\/\/[^/@]*@/, '//***@'))
}

/**
 * One undici dispatcher for every origin, through the proxy: CONNECT tunnels for https targets,
 * absolute-form requests for http ones (undici's `proxyTunnel: false`). `factory` makes the pool
 * per origin (and per proxy), so the sink's connection count and timeouts hold as without a proxy.
 */
export function undiciProxyAgent (proxy: ProxySetting, factory: (origin: string | URL, options: object) => Dispatcher, tls: ConnectionOptions | undefined, timeout: number): Dispatcher {
  const common = { factory, proxyTunnel: false, requestTls: { ...tls, timeout }, proxyTls: { timeout } }
  if (proxy.env) return new EnvHttpProxyAgent({ ...common, connect: { ...tls, timeout } } as EnvHttpProxyAgent.Options)
  return new ProxyAgent({ ...common, uri: proxy.url!.href, token: proxy.authorization } as ProxyAgent.Options)
}
