import { AuthError, describeError } from '../errors.js'
import type { AuthOptions } from './auth-options.js'
import { OAuth2TokenSource } from './auth-oauth2.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'

/** Where the Authorization header comes from. */
interface Credentials {
  header: () => string | Promise<string>
  /** After a 401 to `used`: whether one more try with a fresh header is worth it. */
  refresh?: (used: string) => boolean
}

/**
 * A Transport decorator that sets `Authorization` on every request. After a 401 it asks once for
 * fresh credentials (OAuth2: a new token; a bearer function: called again) and sends once more; a
 * second 401 is the attempt's answer, judged as any other.
 */
export class AuthTransport implements Transport {
  readonly #inner: Transport
  readonly #credentials: Credentials

  constructor (inner: Transport, auth: AuthOptions, timeout: number) {
    this.#inner = inner
    this.#credentials = credentials(auth, inner, timeout)
  }

  async send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    const used = await this.#credentials.header()
    const response = await this.#inner.send(authorized(request, used), options)
    if (response.status !== 401 || this.#credentials.refresh?.(used) !== true) return response
    return this.#inner.send(authorized(request, await this.#credentials.header()), options)
  }

  close (abort?: boolean): Promise<void> {
    return this.#inner.close(abort)
  }
}

/** `inner`, with credentials when `auth` is set (no decorator, no cost, when it is not). */
export function withAuth (inner: Transport, auth: AuthOptions | undefined, timeout: number): Transport {
  return auth === undefined ? inner : new AuthTransport(inner, auth, timeout)
}

function authorized (request: OutgoingRequest, header: string): OutgoingRequest {
  return { ...request, headers: { ...request.headers, authorization: header } }
}

function credentials (auth: AuthOptions, transport: Transport, timeout: number): Credentials {
  if ('oauth2' in auth) {
    const source = new OAuth2TokenSource(auth.oauth2, transport, timeout)
    return { header: () => source.header(), refresh: (used) => source.refresh(used) }
  }
  if ('username' in auth) {
    const header = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
    return { header: () => header }
  }
  const bearer = auth.bearer
  if (typeof bearer === 'string') {
    const header = `Bearer ${bearer}`
    return { header: () => header }
  }
  return { header: () => callBearer(bearer), refresh: () => true }
}

async function callBearer (bearer: () => string | Promise<string>): Promise<string> {
  let token: unknown
  try {
    token = await bearer()
  } catch (err) {
    throw new AuthError(`auth.bearer function failed: ${describeError(err)}`, { cause: err })
  }
  if (typeof token !== 'string' || token === '') throw new AuthError('auth.bearer function did not return a non-empty string')
  return `Bearer ${token}`
}
