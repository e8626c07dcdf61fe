/**
 * Envelopes to and from the text the network stores keep: the envelope JSON (as the file store's
 * lines), StreamPark's `{"values":[…],"timestamp":ms}`, and the envelope's fields without the record.
 */
import { encodeEnvelopeLine, type EnvelopeMeta } from './envelope-line.js'
import type { FailoverEnvelope } from './store.js'
import { jsonSafeText } from '../shared/json-safe.js'

export { envelopeMeta, type EnvelopeMeta } from './envelope-line.js'

/** The envelope as one JSON text (no newline). */
export function envelopeJson (envelope: FailoverEnvelope): string {
  return encodeEnvelopeLine(envelope).slice(0, -1)
}

/** JSON text of any record; a record JSON cannot hold (a BigInt, a cycle…) is kept as its JSON-safe copy. */
export function recordJson (record: unknown): string {
  return jsonSafeText(record).text
}

/** StreamPark's failover value: `{"values":[record],"timestamp":failedAt}`. */
export function streamParkJson (envelope: FailoverEnvelope): string {
  return `{"values":[${recordJson(envelope.record)}],"timestamp":${envelope.failedAt}}`
}

/** Builds an envelope from stored fields, tolerating missing or mistyped ones (old or foreign rows). */
export function toEnvelope (record: unknown, meta: Partial<Record<keyof EnvelopeMeta, unknown>>): FailoverEnvelope {
  const num = (v: unknown): number | null => {
    const n = typeof v === 'string' && v !== '' ? Number(v) : v
    return typeof n === 'number' && Number.isFinite(n) ? n : null
  }
  const envelope: FailoverEnvelope = {
    record,
    url: typeof meta.url === 'string' ? meta.url : '',
    method: typeof meta.method === 'string' && meta.method !== '' ? meta.method : 'POST',
    attempts: num(meta.attempts) ?? 0,
    status: num(meta.status),
    error: typeof meta.error === 'string' && meta.error !== '' ? meta.error : null,
    failedAt: num(meta.failedAt) ?? 0
  }
  if (typeof meta.idempotencyKey === 'string' && meta.idempotencyKey !== '') envelope.idempotencyKey = meta.idempotencyKey
  return envelope
}

/** Parses an envelope JSON text; undefined when it is not one. */
export function parseEnvelope (text: string): FailoverEnvelope | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !('record' in value)) return undefined
  const v = value as Record<string, unknown>
  return toEnvelope(v.record, v)
}
