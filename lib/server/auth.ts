import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { InvalidOptionError } from '../errors.js'
import { HttpProblem } from './http-problem.js'

/** `{ token }` for `Authorization: Bearer <token>`, `{ username, password }` for Basic. */
export type ServerAuth = { token: string } | { username: string, password: string }

export type AuthCheck = (req: IncomingMessage) => void

/**
 * Builds the check run before every route but /healthz. Credentials are compared as SHA-256
 * digests with timingSafeEqual, so neither their content nor their length leaks through timing.
 */
export function authCheck (auth: ServerAuth | undefined): AuthCheck | undefined {
  if (auth === undefined) return undefined
  if (auth === null || typeof auth !== 'object') throw new InvalidOptionError('auth', 'must be { token } or { username, password }')
  if ('token' in auth) {
    if (typeof auth.token !== 'string' || auth.token === '') throw new InvalidOptionError('auth.token', 'must be a non-empty string')
    return expect(`Bearer ${auth.token}`, 'Bearer realm="http-stream"')
  }
  const { username, password } = auth as { username?: unknown, password?: unknown }
  if (typeof username !== 'string' || username === '' || username.includes(':')) throw new InvalidOptionError('auth.username', 'must be a non-empty string without ":"')
  if (typeof password !== 'string') throw new InvalidOptionError('auth.password', 'must be a string')
  return expect(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`, 'Basic realm="http-stream"')
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

function expect (header: string, challenge: string): AuthCheck {
  const want = digest(header)
  return (req) => {
    const got = req.headers.authorization
    if (typeof got !== 'string' || !timingSafeEqual(digest(got.trim()), want)) {
      throw new HttpProblem(401, 40101, 'Unauthorized: missing or wrong credentials', { 'www-authenticate': challenge })
    }
  }
}
