/**
 * The "nothing lost" check. Every record written to a sink must be accounted for: accepted by the
 * receiver, stored by the failover store, carried by the stream's error (`err.records`), or refused
 * to the writer through its write callback. Copies beyond the written count are duplicates: allowed
 * (at-least-once), counted and reported.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FailoverEnvelope } from '../../lib/stores/store.js'
import { recordKey } from './receiver.js'

type Bag = ReadonlyMap<string, number> | readonly unknown[]

export interface LedgerInput {
  written: readonly unknown[]
  /** The receiver's multiset (or a list of delivered records). */
  delivered: Bag
  /** Records the failover store holds. */
  stored?: readonly unknown[]
  /** Records carried by the stream's error (`err.records`). */
  errored?: readonly unknown[]
  /** Records whose write callback reported an error (the writer was told). */
  rejected?: readonly unknown[]
}

export interface LedgerReport {
  written: number
  delivered: number
  stored: number
  errored: number
  rejected: number
  lost: number
  /** Copies beyond what was written, over delivered + stored + errored. */
  duplicates: number
  /** Written records the receiver accepted more than once. */
  deliveredTwice: number
  /** Written records both delivered and stored. */
  deliveredAndStored: number
}

function toBag (items: Bag | undefined): Map<string, number> {
  if (items === undefined) return new Map()
  if (items instanceof Map) return new Map(items)
  const bag = new Map<string, number>()
  for (const item of items as readonly unknown[]) {
    const key = recordKey(item)
    bag.set(key, (bag.get(key) ?? 0) + 1)
  }
  return bag
}

const total = (bag: Map<string, number>): number => [...bag.values()].reduce((a, b) => a + b, 0)

/** Asserts written ⊆ delivered ∪ stored ∪ errored ∪ rejected and returns the counts. */
export function assertNothingLost (input: LedgerInput): LedgerReport {
  const written = toBag(input.written)
  const delivered = toBag(input.delivered)
  const stored = toBag(input.stored)
  const errored = toBag(input.errored)
  const rejected = toBag(input.rejected)
  const lost: string[] = []
  let duplicates = 0
  let deliveredTwice = 0
  let deliveredAndStored = 0
  for (const [key, count] of written) {
    const d = delivered.get(key) ?? 0
    const s = stored.get(key) ?? 0
    const copies = d + s + (errored.get(key) ?? 0)
    if (copies + (rejected.get(key) ?? 0) < count) lost.push(key)
    duplicates += Math.max(0, copies - count)
    if (d > count) deliveredTwice++
    if (d > 0 && s > 0) deliveredAndStored++
  }
  const report: LedgerReport = {
    written: total(written),
    delivered: total(delivered),
    stored: total(stored),
    errored: total(errored),
    rejected: total(rejected),
    lost: lost.length,
    duplicates,
    deliveredTwice,
    deliveredAndStored
  }
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} record(s) lost (neither delivered, stored, in the error, nor refused): ${JSON.stringify(report)}`)
  return report
}

/**
 * Reads every envelope the file store wrote under `dir` (`*.ndjson` segment files, searched
 * recursively). A torn last line (no newline, not JSON) is skipped; any other bad line fails.
 * A missing directory holds no envelopes. Synchronous, so a 'finish' handler can look at once.
 */
export function readFailoverDir (dir: string): FailoverEnvelope[] {
  let names: string[]
  try {
    names = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.ndjson'))
      .map((d) => join(d.parentPath, d.name))
      .sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return []
    throw err
  }
  const envelopes: FailoverEnvelope[] = []
  for (const name of names) {
    const text = readFileSync(name, 'utf8')
    const lines = text.split('\n')
    const torn = lines.pop() ?? ''
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue
      let value: FailoverEnvelope
      try {
        value = JSON.parse(line) as FailoverEnvelope
      } catch {
        assert.fail(`${name}:${i + 1} is not JSON: ${line.slice(0, 200)}`)
      }
      assert.ok(value !== null && typeof value === 'object' && 'record' in value && 'failedAt' in value,
        `${name}:${i + 1} is not a failover envelope: ${line.slice(0, 200)}`)
      envelopes.push(value)
    }
    if (torn.trim() !== '') {
      try {
        envelopes.push(JSON.parse(torn) as FailoverEnvelope)
      } catch {}
    }
  }
  return envelopes
}
