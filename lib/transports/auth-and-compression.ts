import type { Transport } from './transport.js'
import type { AuthOptions } from './auth-options.js'
import type { ResolvedCompression } from './compress-options.js'
import { withAuth } from './auth-transport.js'
import { withCompression } from './compress-transport.js'

/**
 * The base transport wrapped for `auth` and `compression` (each only when set). Compression is
 * outside: the engine's request object is compressed once for all its attempts, and the 401 retry
 * inside resends the same compressed body. The OAuth2 token fetch goes through the bare transport.
 */
export function withAuthAndCompression (base: Transport, options: { auth: AuthOptions | undefined, compression: ResolvedCompression | undefined, timeout: number }): Transport {
  return withCompression(withAuth(base, options.auth, options.timeout), options.compression)
}
