import { readFileSync } from 'node:fs'
import type { HttpWritableOptions } from '../sink/options.js'
import { UsageError } from './io.js'

type Values = Record<string, string | boolean | string[] | undefined>

/** The flags for `tls`, `http2` and `proxy`. */
export const TLS_FLAGS = {
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  insecure: { type: 'boolean' },
  http2: { type: 'boolean' },
  proxy: { type: 'string' }
} as const

export const TLS_FLAGS_HELP = `  --tls-ca FILE            trust the CA certificates in this PEM file (an internal CA)
  --tls-cert FILE --tls-key FILE
                           client certificate and key, PEM (mTLS)
  --insecure               do not verify the server's certificate (tls.rejectUnauthorized: false)
  --http2                  let undici negotiate HTTP/2 over TLS
  --proxy URL|env          forward proxy http://user:pass@host:port, or env for
                           HTTPS_PROXY/HTTP_PROXY/NO_PROXY (undici transport)`

/** Sets `tls`, `http2` and `proxy` from the flags; the PEM files are read now (a missing one is a usage error naming its flag). */
export function tlsOptions (values: Values, options: HttpWritableOptions): void {
  const tls: NonNullable<HttpWritableOptions['tls']> = { ...options.tls }
  for (const [flag, field] of [['tls-ca', 'ca'], ['tls-cert', 'cert'], ['tls-key', 'key']] as const) {
    const path = values[flag]
    if (typeof path === 'string') tls[field] = readPem(flag, path)
  }
  if (values.insecure === true) tls.rejectUnauthorized = false
  if (Object.keys(tls).length > 0) options.tls = tls
  if (values.http2 === true) options.http2 = true
  if (typeof values.proxy === 'string') options.proxy = values.proxy
}

function readPem (flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new UsageError(`--${flag}: cannot read ${JSON.stringify(path)} (${code === 'ENOENT' ? 'no such file' : code ?? (err as Error).message})`)
  }
}
