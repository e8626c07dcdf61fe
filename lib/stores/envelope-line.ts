import type { FailoverEnvelope } from './store.js'
import { describeProblems, jsonSafeText } from '../shared/json-safe.js'

export type EnvelopeMeta = Omit<FailoverEnvelope, 'record'>

export function envelopeMeta (envelope: FailoverEnvelope): EnvelopeMeta {
  const { url, method, attempts, status, error, failedAt, idempotencyKey } = envelope
  return idempotencyKey === undefined ? { url, method, attempts, status, error, failedAt } : { url, method, attempts, status, error, failedAt, idempotencyKey }
}

/**
 * An envelope as one NDJSON line, `record` first. A record JSON cannot hold (a BigInt, a cycle, a
 * throwing toJSON, a bare function or undefined) is stored as its JSON-safe copy (see
 * shared/json-safe), and `error` names the paths that were replaced unless it already does (the
 * encoder's ERR_INVALID_RECORD names them), so storing never fails, nor loses the record, for the
 * record's sake.
 */
export function encodeEnvelopeLine (envelope: FailoverEnvelope): string {
  // The fast path: one stringify. JSON.stringify leaves out a key whose value it cannot encode
  // (undefined, a function), so the line must start with the record to be whole.
  let line: string | undefined
  try {
    line = JSON.stringify(envelope)
  } catch {}
  if (line !== undefined && line.startsWith('{"record":')) return line + '\n'
  const record = jsonSafeText(envelope.record)
  const meta = envelopeMeta(envelope)
  if (record.problems.length > 0) meta.error = noteCopy(meta.error, describeProblems(record))
  return `{"record":${record.text},${JSON.stringify(meta).slice(1)}\n`
}

function noteCopy (error: string | null, problems: string): string {
  if (error === null) return `ERR_INVALID_RECORD: record stored as a JSON-safe copy: ${problems}`
  return error.includes(problems) ? error : `${error}; record stored as a JSON-safe copy: ${problems}`
}
