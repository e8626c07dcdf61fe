import { TlsError } from '../errors.js'

/** node's codes for a certificate it would not accept (openssl's verify results, and the name check). */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'
])

/** The peer refused our certificate (mTLS) or has none we can use: openssl alerts, as node names them. */
const ALERT = /^ERR_SSL_(?:TLSV13_|SSLV3_|TLSV1_)?ALERT_(?:CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE)$/

/**
 * A TlsError (ERR_TLS) when `err`, or an error it wraps (undici's proxy tunnel, got's RequestError),
 * is a certificate failure; else undefined. Only failures that a retry cannot mend count: a TLS
 * connection reset is an ordinary network error.
 */
export function asTlsError (err: unknown): TlsError | undefined {
  for (let e = err as { code?: unknown, message?: unknown, cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 4; e = e.cause as typeof e, depth++) {
    if (e instanceof TlsError) return e
    const code = typeof e.code === 'string' ? e.code : ''
    if (!CERTIFICATE_CODES.has(code) && !ALERT.test(code)) continue
    const message = typeof e.message === 'string' ? e.message : code
    // node's name for this one contains our code, which would keep it out of envelope texts (describeError).
    const text = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? `hostname mismatch: ${message}` : `${message} (${code})`
    return new TlsError(code, text, { cause: err })
  }
  return undefined
}
