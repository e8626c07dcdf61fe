import { InvalidOptionError } from '../errors.js'
import { compileOptions, show } from '../shared/validate.js'
import type { EmbeddedFormat } from './embedded-format.js'

export interface HttpStreamClientOptions {
  /** Extra headers on every request. */
  headers?: Record<string, string>
  /** ms per request (a fetch gets its poll wait on top). Default 10000. */
  timeout?: number
  /** Bearer token or Basic credentials. */
  auth?: { token: string } | { username: string, password: string }
  /** Sockets to the server at most. Default 8. */
  connections?: number
  /**
   * The Kafka REST v2 embedded format: 'json' (keys and values as JSON) or 'binary' (sent as
   * Buffers, Uint8Arrays or strings, read back as Buffers; base64 on the wire). Default 'json'.
   */
  format?: EmbeddedFormat
}

export const CLIENT_DEFAULTS = { timeout: 10000, connections: 8, format: 'json' } as const

/** The client's options as JSON Schema properties; the readable's schema extends them. */
export const CLIENT_PROPERTIES = {
  headers: { type: 'object', additionalProperties: { type: 'string' } },
  timeout: { type: 'integer', minimum: 1 },
  auth: {
    description: '{ token } or { username, password }',
    anyOf: [
      { type: 'object', additionalProperties: false, required: ['token'], properties: { token: { type: 'string', minLength: 1 } } },
      { type: 'object', additionalProperties: false, required: ['username', 'password'], properties: { username: { type: 'string' }, password: { type: 'string' } } }
    ]
  },
  connections: { type: 'integer', minimum: 1 },
  format: { enum: ['json', 'binary'], description: "'json' or 'binary'" }
} as const

const check = compileOptions<HttpStreamClientOptions>({ type: 'object', additionalProperties: false, properties: CLIENT_PROPERTIES })

/** Checks the client's options once, at construction. Throws InvalidOptionError naming the field. */
export function checkClientOptions (options: unknown): HttpStreamClientOptions {
  if (options === undefined) return {}
  checkObject(options)
  return check(options)
}

/** Options must be a plain object (not null, an array or a primitive). */
export function checkObject (options: unknown): asserts options is object {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidOptionError('options', `must be an object (got ${show(options)})`)
  }
}

/** The server's base URL: http or https, no query or fragment (paths are appended to it). `field` names it in errors. */
export function parseServerUrl (url: unknown, field = 'url'): URL {
  let parsed: URL
  try {
    parsed = new URL(url as string)
  } catch {
    throw new InvalidOptionError(field, `not a URL (got ${show(url)})`)
  }
  if (typeof url !== 'string') throw new InvalidOptionError(field, `must be a string (got ${show(url)})`)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidOptionError(field, `must be http or https (got ${show(url)})`)
  if (parsed.search !== '' || parsed.hash !== '') throw new InvalidOptionError(field, `must not have a query or fragment: paths are appended to it (got ${show(url)})`)
  return parsed
}
