import type { ConnectionOptions } from 'node:tls'
import { InvalidOptionError } from '../errors.js'

/** PEM text or a Buffer (DER for `pfx`), or a list of them: what node's `tls.connect` takes. */
export type Pem = string | Buffer | Array<string | Buffer>

/** The `tls` option: how the sink's client side of TLS is set up (both transports). */
export interface TlsOptions {
  /** CA certificates to trust instead of node's bundled ones (an internal CA). */
  ca?: Pem
  /** Client certificate chain (mTLS), with `key`. */
  cert?: Pem
  /** Client private key (mTLS). */
  key?: Pem
  /** Passphrase of `key` or `pfx`. */
  passphrase?: string
  /** PKCS#12 bundle (key and certificates), instead of `cert` and `key`. */
  pfx?: Pem
  /** Verify the server's certificate. Default true. */
  rejectUnauthorized?: boolean
  /** SNI name and name to verify, when it differs from the URL's host. */
  servername?: string
  /** Lowest TLS version accepted. Default node's (TLSv1.2). */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'
}

const pemItem = { anyOf: [{ type: 'string', pattern: '-----BEGIN [A-Z0-9 ]+-----' }, { isObjectLike: true }] }
const pem = {
  description: 'PEM text or a Buffer, or a list of them',
  anyOf: [pemItem, { type: 'array', minItems: 1, items: pemItem }]
}

/** The JSON schema of `tls` (Buffers are checked by `resolveTls`, which JSON Schema cannot name). */
export const TLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ca: pem,
    cert: pem,
    key: pem,
    pfx: { description: 'a Buffer or a list of them', anyOf: [{ isObjectLike: true }, { type: 'string', minLength: 1 }] },
    passphrase: { type: 'string' },
    rejectUnauthorized: { type: 'boolean' },
    servername: { type: 'string', minLength: 1 },
    minVersion: { enum: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] }
  }
} as const

/**
 * Checks what the schema could not (objects that must be Buffers, a key without its certificate)
 * and gives back the options node's `tls.connect` takes; undefined when there is nothing to set.
 */
export function resolveTls (tls: TlsOptions | undefined): ConnectionOptions | undefined {
  if (tls === undefined) return undefined
  for (const field of ['ca', 'cert', 'key', 'pfx'] as const) {
    const value = tls[field]
    if (value === undefined) continue
    const items = Array.isArray(value) ? value : [value]
    if (!items.every((v) => typeof v === 'string' || Buffer.isBuffer(v))) {
      throw new InvalidOptionError(`tls.${field}`, 'must be PEM text or a Buffer, or a list of them')
    }
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new InvalidOptionError(tls.cert === undefined ? 'tls.cert' : 'tls.key', 'cert and key go together (mTLS)')
  }
  const resolved: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized ?? true }
  for (const field of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'servername', 'minVersion'] as const) {
    if (tls[field] !== undefined) (resolved as Record<string, unknown>)[field] = tls[field]
  }
  return resolved
}
