import { InvalidOptionError } from '../errors.js'

export interface OAuth2Options {
  /** The token endpoint (RFC 6749 §4.4, client credentials grant). */
  tokenUrl: string
  clientId: string
  clientSecret: string
  scope?: string
  audience?: string
  /** More form fields sent to the token endpoint. */
  extraParams?: Record<string, string>
}

/** `Authorization` for every request: a Bearer token (or a function giving one), Basic, or OAuth2 client credentials. */
export type AuthOptions =
  | { bearer: string | (() => string | Promise<string>) }
  | { username: string, password: string }
  | { oauth2: OAuth2Options }

const SHAPES = '{ bearer }, { username, password } or { oauth2: { tokenUrl, clientId, clientSecret } }'
const OAUTH2_KEYS = ['tokenUrl', 'clientId', 'clientSecret', 'scope', 'audience', 'extraParams']

/**
 * Checks `auth` by hand rather than with the schema: an ajv message shows the bad value, and a
 * value here may be a secret. Messages name fields only, never their values.
 */
export function resolveAuth (value: unknown): AuthOptions | undefined {
  if (value === undefined) return undefined
  const o = plainObject(value, 'auth', `must be ${SHAPES}`)
  const keys = Object.keys(o)
  if ('bearer' in o) {
    only(keys, ['bearer'], 'auth')
    if (typeof o.bearer !== 'function' && (typeof o.bearer !== 'string' || o.bearer === '')) throw new InvalidOptionError('auth.bearer', 'must be a non-empty string or a function returning one')
    return o as AuthOptions
  }
  if ('username' in o || 'password' in o) {
    only(keys, ['username', 'password'], 'auth')
    if (typeof o.username !== 'string' || o.username === '' || o.username.includes(':')) throw new InvalidOptionError('auth.username', 'must be a non-empty string without ":"')
    if (typeof o.password !== 'string') throw new InvalidOptionError('auth.password', 'must be a string')
    return o as AuthOptions
  }
  if ('oauth2' in o) {
    only(keys, ['oauth2'], 'auth')
    const c = plainObject(o.oauth2, 'auth.oauth2', 'must be { tokenUrl, clientId, clientSecret, scope?, audience?, extraParams? }')
    only(Object.keys(c), OAUTH2_KEYS, 'auth.oauth2')
    tokenUrl(c.tokenUrl)
    for (const field of ['clientId', 'clientSecret']) {
      if (typeof c[field] !== 'string' || c[field] === '') throw new InvalidOptionError(`auth.oauth2.${field}`, 'must be a non-empty string')
    }
    for (const field of ['scope', 'audience']) {
      if (c[field] !== undefined && typeof c[field] !== 'string') throw new InvalidOptionError(`auth.oauth2.${field}`, 'must be a string')
    }
    if (c.extraParams !== undefined) {
      const extra = plainObject(c.extraParams, 'auth.oauth2.extraParams', 'must be an object of strings')
      for (const [k, v] of Object.entries(extra)) if (typeof v !== 'string') throw new InvalidOptionError(`auth.oauth2.extraParams.${k}`, 'must be a string')
    }
    return o as AuthOptions
  }
  throw new InvalidOptionError('auth', `must be ${SHAPES}`)
}

function plainObject (value: unknown, field: string, message: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(field, message)
  return value as Record<string, unknown>
}

function only (keys: string[], allowed: string[], field: string): void {
  const extra = keys.find((k) => !allowed.includes(k))
  if (extra !== undefined) throw new InvalidOptionError(`${field}.${extra}`, `unknown option (known: ${allowed.join(', ')})`)
}

function tokenUrl (value: unknown): void {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {}
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new InvalidOptionError('auth.oauth2.tokenUrl', 'must be an http or https URL')
}
