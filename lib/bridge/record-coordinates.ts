import { createHash } from 'node:crypto'

interface Coordinates { topic: string, partition: number, offset: bigint }

const sha = (text: string, chars: number): string => createHash('sha256').update(text).digest('base64url').slice(0, chars)
const partitionId = (topic: string, partition: number): string => `${topic}\0${partition}`

/**
 * Where each record handed to the writable came from (topic, partition, offset), and the
 * idempotency key of a request made of such records: per partition `topic-partition-offset` (one
 * record) or `topic-partition-first-last` (a contiguous run), partitions in order, joined by `,`.
 * Deterministic: the same messages in a request give the same key, whichever member sends it.
 *
 * A record is found by identity (a WeakMap). Batch encodings keep only the request body and hand
 * the key function records decoded from it (copies), so with `byContent` a record is also found by
 * its JSON text, among the records not yet committed (`committed()` prunes). A record found by
 * neither, or whose text several uncommitted messages share, is keyed by a hash of its JSON text.
 */
export class RecordCoordinates {
  readonly #of = new WeakMap<object, Coordinates>()
  /** JSON text → the uncommitted messages with that text (byContent only). */
  readonly #byText: Map<string, Coordinates[]> | undefined

  constructor (byContent: boolean) {
    this.#byText = byContent ? new Map() : undefined
  }

  note (record: unknown, topic: string, partition: number, offset: string): void {
    const c = { topic, partition, offset: BigInt(offset) }
    if (typeof record === 'object' && record !== null) this.#of.set(record, c)
    if (this.#byText === undefined) return
    const text = JSON.stringify(record)
    const same = this.#byText.get(text)
    if (same === undefined) this.#byText.set(text, [c])
    else same.push(c)
  }

  /** Forgets the messages before `offsets` (settled and committed: no request is built from them again). */
  committed (offsets: ReadonlyArray<{ topic: string, partition: number, offset: string }>): void {
    if (this.#byText === undefined) return
    const below = new Map(offsets.map((o) => [partitionId(o.topic, o.partition), BigInt(o.offset)]))
    this.#prune((c) => { const b = below.get(partitionId(c.topic, c.partition)); return b !== undefined && c.offset < b })
  }

  /** Forgets the partitions not in `assignment` (revoked). */
  keepOnly (assignment: Record<string, number[]>): void {
    this.#prune((c) => assignment[c.topic]?.includes(c.partition) !== true)
  }

  #prune (gone: (c: Coordinates) => boolean): void {
    for (const [text, list] of this.#byText ?? []) {
      const kept = list.filter((c) => !gone(c))
      if (kept.length === 0) this.#byText!.delete(text)
      else if (kept.length !== list.length) this.#byText!.set(text, kept)
    }
  }

  #find (record: unknown): Coordinates | undefined {
    const c = typeof record === 'object' && record !== null ? this.#of.get(record) : undefined
    if (c !== undefined || this.#byText === undefined) return c
    const same = this.#byText.get(JSON.stringify(record))
    return same?.length === 1 ? same[0] : undefined
  }

  key (records: readonly unknown[]): string {
    const runs = new Map<string, { topic: string, partition: number, offsets: bigint[] }>()
    const unknown: unknown[] = []
    for (const record of records) {
      const c = this.#find(record)
      if (c === undefined) {
        unknown.push(record)
        continue
      }
      const id = partitionId(c.topic, c.partition)
      let run = runs.get(id)
      if (run === undefined) runs.set(id, run = { topic: c.topic, partition: c.partition, offsets: [] })
      run.offsets.push(c.offset)
    }
    const parts = [...runs.values()]
      .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
      .map((run) => segment(run.topic, run.partition, run.offsets))
    if (unknown.length > 0) parts.push(`~${sha(JSON.stringify(unknown), 22)}`)
    return parts.join(',')
  }
}

/** `t-p-o`, `t-p-first-last` for a contiguous run, else `t-p-first-last-<hash of the offsets>`. */
function segment (topic: string, partition: number, offsets: bigint[]): string {
  offsets.sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
  const first = offsets[0]!
  const last = offsets[offsets.length - 1]!
  if (offsets.length === 1) return `${topic}-${partition}-${first}`
  const contiguous = last - first + 1n === BigInt(offsets.length) && offsets.every((o, i) => i === 0 || o !== offsets[i - 1])
  return `${topic}-${partition}-${first}-${last}${contiguous ? '' : `-${sha(offsets.join(','), 12)}`}`
}
