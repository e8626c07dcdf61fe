import type { HttpWritableOptions } from '../sink/options.js'
import { UsageError } from './io.js'

type Values = Record<string, string | boolean | string[] | undefined>

/** The flags for `compression` and `auth`; secrets may come from the environment instead, out of `ps`. */
export const AUTH_FLAGS = {
  compression: { type: 'string' },
  'auth-token': { type: 'string' },
  'auth-user': { type: 'string' },
  'auth-password': { type: 'string' },
  'oauth2-token-url': { type: 'string' },
  'oauth2-client-id': { type: 'string' },
  'oauth2-client-secret': { type: 'string' },
  'oauth2-scope': { type: 'string' }
} as const

export const AUTH_FLAGS_HELP = `  --compression ALG        gzip deflate br zstd (Node >= 22.15): bodies of 1024 bytes or more
  --auth-token T           Authorization: Bearer T (or env HTTP_STREAM_AUTH_TOKEN)
  --auth-user U --auth-password P
                           Authorization: Basic (or env HTTP_STREAM_AUTH_PASSWORD)
  --oauth2-token-url URL --oauth2-client-id ID --oauth2-client-secret S [--oauth2-scope S]
                           OAuth2 client credentials (or env HTTP_STREAM_OAUTH2_CLIENT_SECRET)`

/** Sets `compression` and `auth` from the flags and `env` (a flag wins over its variable). */
export function authOptions (values: Values, options: HttpWritableOptions, env: NodeJS.ProcessEnv = process.env): void {
  const text = (flag: string): string | undefined => typeof values[flag] === 'string' ? values[flag] : undefined
  const compression = text('compression')
  if (compression !== undefined) options.compression = compression as NonNullable<HttpWritableOptions['compression']>
  const token = text('auth-token') ?? env.HTTP_STREAM_AUTH_TOKEN
  const user = text('auth-user')
  const tokenUrl = text('oauth2-token-url')
  const chosen = [token !== undefined && '--auth-token', user !== undefined && '--auth-user', tokenUrl !== undefined && '--oauth2-token-url'].filter(Boolean)
  if (chosen.length > 1) throw new UsageError(`${chosen.join(' and ')} exclude each other: pick one kind of auth`)
  if (token !== undefined) options.auth = { bearer: token }
  if (user !== undefined) {
    const password = text('auth-password') ?? env.HTTP_STREAM_AUTH_PASSWORD
    if (password === undefined) throw new UsageError('--auth-user needs --auth-password (or HTTP_STREAM_AUTH_PASSWORD)')
    options.auth = { username: user, password }
  }
  if (tokenUrl !== undefined) {
    const clientId = text('oauth2-client-id')
    const clientSecret = text('oauth2-client-secret') ?? env.HTTP_STREAM_OAUTH2_CLIENT_SECRET
    if (clientId === undefined || clientSecret === undefined) throw new UsageError('--oauth2-token-url needs --oauth2-client-id and --oauth2-client-secret (or HTTP_STREAM_OAUTH2_CLIENT_SECRET)')
    const scope = text('oauth2-scope')
    options.auth = { oauth2: { tokenUrl, clientId, clientSecret, ...(scope === undefined ? {} : { scope }) } }
  }
}
