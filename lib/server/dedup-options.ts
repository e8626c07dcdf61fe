import { DedupTable } from './dedup-table.js'
import { MEMORY_DEFAULTS, MemoryReceiver } from './receivers/memory.js'
import type { Receiver } from './receivers/receiver.js'

/** `dedup` of createHttpStreamServer: Idempotency-Key handling on produce routes. */
export interface DedupOptions {
  /** ms an applied key is remembered. Default 300000 (5 minutes). */
  windowMs?: number
  /** Keys remembered at most; the oldest goes first. Default 100000. */
  maxKeys?: number
}

export const DEDUP_DEFAULTS = { windowMs: 300_000, maxKeys: 100_000 }

export interface DedupSettings {
  windowMs: number
  maxKeys: number
}

/** The ajv schema of the option: false, or `{ windowMs, maxKeys }`. */
export const DEDUP_SCHEMA = {
  description: 'false or { windowMs, maxKeys }',
  anyOf: [
    { const: false },
    {
      type: 'object',
      additionalProperties: false,
      properties: { windowMs: { type: 'integer', minimum: 1 }, maxKeys: { type: 'integer', minimum: 1 } }
    }
  ]
}

/** On unless `false`; defaults filled in. */
export function resolveDedup (option: DedupOptions | false | undefined): DedupSettings | undefined {
  if (option === false) return undefined
  return { windowMs: option?.windowMs ?? DEDUP_DEFAULTS.windowMs, maxKeys: option?.maxKeys ?? DEDUP_DEFAULTS.maxKeys }
}

/** Bytes the key table may take with a receiver that holds no records here (Kafka): the memory receiver's default budget. */
export const DEDUP_MAX_BYTES_WITHOUT_BUDGET = MEMORY_DEFAULTS.maxBytes

/**
 * The key table of a server. With the memory receiver it lives in the memory budget (`maxBytes`):
 * its bytes count there, it may hold what the stored records leave of it, and gives way to them
 * (its oldest keys go first) after committed records and before unread ones.
 * With other receivers, which hold no records here, it is bounded by DEDUP_MAX_BYTES_WITHOUT_BUDGET (256 MiB).
 */
export function dedupTable (settings: DedupSettings | undefined, receiver: Receiver): DedupTable | undefined {
  if (settings === undefined) return undefined
  const room = receiver instanceof MemoryReceiver
    ? () => receiver.budgetBytes - receiver.heldBytes
    : () => DEDUP_MAX_BYTES_WITHOUT_BUDGET
  const table = new DedupTable({ ...settings, room })
  if (receiver instanceof MemoryReceiver) receiver.shareBudget(table)
  return table
}
