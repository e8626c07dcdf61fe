import { AuthError, describeError } from '../errors.js'
import type { OAuth2Options } from './auth-options.js'
import type { Transport, TransportResponse } from './transport.js'

/** A token is refreshed once this share of its `expires_in` has passed. */
export const REFRESH_AT = 0.9

interface Token { header: string, refreshAt: number, expiresAt: number }

/**
 * OAuth2 client credentials (RFC 6749 §4.4) with client_secret_basic (§2.3.1, the method the RFC
 * asks servers to support). One token is cached and shared; concurrent callers share one fetch.
 * Past 90% of `expires_in` a new token is fetched in the background while the old one still
 * serves; past expiry (or after refresh(), on a 401) callers wait for the new one. A failed fetch
 * is not cached: it rejects with AuthError and the engine retries the attempt with its backoff.
 */
export class OAuth2TokenSource {
  readonly #transport: Transport
  readonly #timeout: number
  readonly #origin: string
  readonly #path: string
  /** The endpoint as errors name it: no query, no userinfo. */
  readonly #where: string
  readonly #headers: Record<string, string>
  readonly #form: string
  #token: Token | undefined
  #fetching: Promise<string> | undefined

  constructor (options: OAuth2Options, transport: Transport, timeout: number) {
    this.#transport = transport
    this.#timeout = timeout
    const url = new URL(options.tokenUrl)
    this.#origin = url.origin
    this.#path = url.pathname + url.search
    this.#where = url.origin + url.pathname
    const basic = Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString('base64')
    this.#headers = { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }
    const form = new URLSearchParams({ grant_type: 'client_credentials' })
    if (options.scope !== undefined) form.set('scope', options.scope)
    if (options.audience !== undefined) form.set('audience', options.audience)
    for (const [k, v] of Object.entries(options.extraParams ?? {})) form.set(k, v)
    this.#form = form.toString()
  }

  /** `Bearer <token>`: the cached one, or a fetch shared with every concurrent caller. */
  header (): string | Promise<string> {
    const token = this.#token
    const now = Date.now()
    if (token !== undefined && now < token.refreshAt) return token.header
    if (token !== undefined && now < token.expiresAt) {
      this.#fetch().catch(() => {})
      return token.header
    }
    return this.#fetch()
  }

  /** The endpoint refused `used` (401): forget it unless a newer token already replaced it. */
  refresh (used: string): boolean {
    if (this.#token?.header === used) this.#token = undefined
    return true
  }

  #fetch (): Promise<string> {
    this.#fetching ??= this.#request().finally(() => { this.#fetching = undefined })
    return this.#fetching
  }

  async #request (): Promise<string> {
    const started = Date.now()
    let response: TransportResponse
    try {
      response = await this.#transport.send(
        { origin: this.#origin, path: this.#path, method: 'POST', headers: this.#headers, body: this.#form },
        { timeout: this.#timeout, readBody: () => true }
      )
    } catch (err) {
      throw new AuthError(`OAuth2 token endpoint ${this.#where} failed: ${describeError(err)}`, { cause: err })
    }
    const token = parseToken(response, this.#where, started)
    this.#token = token
    return token.header
  }
}

function parseToken (response: TransportResponse, where: string, started: number): Token {
  let body: Record<string, unknown> | undefined
  try {
    const parsed: unknown = JSON.parse(response.body)
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>
  } catch {}
  if (response.status !== 200) {
    // Only the RFC 6749 §5.2 error code is repeated, and only when it looks like one: a body may echo what was sent.
    const code = typeof body?.error === 'string' && /^[\w.-]{1,64}$/.test(body.error) ? ` (${body.error})` : ''
    throw new AuthError(`OAuth2 token endpoint ${where} answered ${response.status}${code}`)
  }
  const access = body?.access_token
  if (typeof access !== 'string' || access === '') throw new AuthError(`OAuth2 token endpoint ${where} answered without an access_token`)
  const type = body?.token_type
  if (typeof type === 'string' && type.toLowerCase() !== 'bearer') throw new AuthError(`OAuth2 token endpoint ${where} gave token_type ${JSON.stringify(type.slice(0, 20))}; only Bearer is supported`)
  const seconds = typeof body?.expires_in === 'number' ? body.expires_in : Number(body?.expires_in)
  // Without expires_in the token is kept until the endpoint answers 401.
  const lifetime = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Infinity
  return { header: `Bearer ${access}`, refreshAt: started + lifetime * REFRESH_AT, expiresAt: started + lifetime }
}

/** application/x-www-form-urlencoded, as RFC 6749 §2.3.1 asks for the Basic credentials. */
function formEncode (text: string): string {
  return new URLSearchParams({ x: text }).toString().slice(2)
}
