import type { ValidateFunction } from 'ajv'
import type { BinaryPair } from './receiver.js'

/** A record as the memory receiver keeps it: key and value as JSON text (compact, served as is). */
export interface StoredRecord {
  /** The key's JSON text ('null' without a key). */
  key: string
  /** The value's JSON text. */
  value: string
  headers: Record<string, string> | undefined
  /** UTF-8 bytes of the value's JSON text: what `retention.bytes` counts. */
  bytes: number
  /** Memory the record holds (key, value, headers and a fixed overhead): what the `maxBytes` budget counts. */
  cost: number
  /** Produced in the binary embedded format: the bytes as sent (`key`/`value` are then 'null'). */
  binary?: BinaryPair
}

export interface MemoryEntry extends StoredRecord {
  offset: number
  timestamp: number
}

/**
 * One topic of the memory receiver: a single partition (0) kept as an array with a moving head, so
 * appends, reads by offset and evictions are O(1) (the array is compacted now and then).
 */
export class MemoryTopic {
  readonly name: string
  schema: object | null = null
  validate: ValidateFunction | undefined
  /** Records evicted before every group consumed them. */
  dropped = 0
  private entries: MemoryEntry[] = []
  private head = 0
  private start = 0
  private next = 0
  private size = 0
  private held = 0
  private lastTimestamp = 0
  private readonly waiters = new Set<() => void>()

  constructor (name: string) {
    this.name = name
  }

  get startOffset (): number { return this.start }
  get nextOffset (): number { return this.next }
  get count (): number { return this.entries.length - this.head }
  get bytes (): number { return this.size }
  /** Memory held by the stored records (the sum of their `cost`). */
  get cost (): number { return this.held }

  at (offset: number): MemoryEntry | undefined {
    if (offset < this.start || offset >= this.next) return undefined
    return this.entries[this.head + offset - this.start]
  }

  /** Appends all records; returns the first offset given. Wakes every waiting poll. */
  append (records: readonly StoredRecord[], now: number): number {
    const first = this.next
    const timestamp = Math.max(now, this.lastTimestamp)
    this.lastTimestamp = timestamp
    for (const r of records) {
      this.entries.push({ offset: this.next++, key: r.key, value: r.value, timestamp, headers: r.headers, bytes: r.bytes, cost: r.cost, binary: r.binary })
      this.size += r.bytes
      this.held += r.cost
    }
    for (const wake of [...this.waiters]) wake()
    return first
  }

  /** Evicts records below `floor`; returns how many. */
  evictBelow (floor: number): number {
    let n = 0
    while (this.start < floor && this.count > 0) {
      this.evictOne()
      n++
    }
    this.compact()
    return n
  }

  /** Evicts the oldest records while `more` says so; counts those at or above `floor` as dropped. */
  evictWhile (more: () => boolean, floor: number): void {
    while (this.count > 0 && more()) {
      if (this.start >= floor) this.dropped++
      this.evictOne()
    }
    this.compact()
  }

  /** The first offset stored at or after `timestamp` (the end offset when none is). */
  offsetForTimestamp (timestamp: number): number {
    let lo = this.head
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.entries[mid] as MemoryEntry).timestamp < timestamp) lo = mid + 1
      else hi = mid
    }
    return this.start + (lo - this.head)
  }

  /** Registers a callback run (once) at the next append; returns its remover. */
  onAppend (wake: () => void): () => void {
    this.waiters.add(wake)
    return () => { this.waiters.delete(wake) }
  }

  private evictOne (): void {
    const e = this.entries[this.head] as MemoryEntry
    this.entries[this.head] = undefined as unknown as MemoryEntry
    this.head++
    this.start++
    this.size -= e.bytes
    this.held -= e.cost
  }

  private compact (): void {
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }
}
