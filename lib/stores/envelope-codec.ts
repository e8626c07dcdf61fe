/**
 * Envelopes to and from the text the network stores keep: the envelope JSON (as the file store's
 * lines), StreamPark's `{"values":[…],"timestamp":ms}`, and the envelope's fields without the record.
 */
import { encodeEnvelopeLine } from './envelope-line.js'
import type { FailoverEnvelope } from './store.js'

export type EnvelopeMeta = Omit<FailoverEnvelope, 'record'>

/** The envelope as one JSON text (no newline). */
export function envelopeJson (envelope: FailoverEnvelope): string {
  return encodeEnvelopeLine(envelope).slice(0, -1)
}

/** JSON text of any record; a record JSON cannot hold (BigInt, a cycle) is kept as its String() form. */
export function recordJson (record: unknown): string {
  try {
    return JSON.stringify(record) ?? 'null'
  } catch {
    return JSON.stringify(String(record))
  }
}

/** StreamPark's failover value: `{"values":[record],"timestamp":failedAt}`. */
export function streamParkJson (envelope: FailoverEnvelope): string {
  return `{"values":[${recordJson(envelope.record)}],"timestamp":${envelope.failedAt}}`
}

export function envelopeMeta (envelope: FailoverEnvelope): EnvelopeMeta {
  const { url, method, attempts, status, error, failedAt } = envelope
  return { url, method, attempts, status, error, failedAt }
}

/** Builds an envelope from stored fields, tolerating missing or mistyped ones (old or foreign rows). */
export function toEnvelope (record: unknown, meta: Partial<Record<keyof EnvelopeMeta, unknown>>): FailoverEnvelope {
  const num = (v: unknown): number | null => {
    const n = typeof v === 'string' && v !== '' ? Number(v) : v
    return typeof n === 'number' && Number.isFinite(n) ? n : null
  }
  return {
    record,
    url: typeof meta.url === 'string' ? meta.url : '',
    method: typeof meta.method === 'string' && meta.method !== '' ? meta.method : 'POST',
    attempts: num(meta.attempts) ?? 0,
    status: num(meta.status),
    error: typeof meta.error === 'string' && meta.error !== '' ? meta.error : null,
    failedAt: num(meta.failedAt) ?? 0
  }
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
