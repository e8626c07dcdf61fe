import type { FailoverEnvelope } from './store.js'

/**
 * An envelope as one NDJSON line. A record JSON cannot hold (BigInt, a cycle) is kept as its
 * String() form with a note in `error`, so storing it never fails for the record's sake.
 */
export function encodeEnvelopeLine (envelope: FailoverEnvelope): string {
  try {
    return JSON.stringify(envelope) + '\n'
  } catch (err) {
    const note = `record stored as text: ${(err as Error).message}`
    return JSON.stringify({ ...envelope, record: String(envelope.record), error: envelope.error === null ? note : `${envelope.error}; ${note}` }) + '\n'
  }
}
