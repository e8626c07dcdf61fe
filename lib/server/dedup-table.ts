import type { RecordedAnswer } from './dedup-answer.js'

/** What the table knows of a key when a request carrying it arrives. */
export type KeySighting =
  | { kind: 'new' }
  | { kind: 'replay', answer: RecordedAnswer }
  | { kind: 'in-progress' }
  | { kind: 'mismatch' }

export interface DedupTableOptions {
  /** ms an applied key is remembered. */
  windowMs: number
  /** Keys held at most, in progress and applied together; the oldest goes first. */
  maxKeys: number
  /** Bytes the table may hold now (what the memory budget leaves it); asked at every change. */
  room: () => number
  /** A monotonic clock in ms (tests may pass their own). */
  now?: () => number
}

interface Pending {
  fingerprint: string
  bytes: number
}

interface Applied extends Pending {
  answer: RecordedAnswer
  at: number
}

/** Bytes charged per key beyond its text, fingerprint and answer: the entry objects and Map slots. */
export const KEY_OVERHEAD = 160

/**
 * The Idempotency-Key table: keys in progress (a request carrying them is being applied) and keys
 * applied (with the answer of the first request), each applied key remembered for `windowMs`.
 * Bounded: at most `maxKeys` keys and at most `room()` bytes; past either, the oldest applied keys
 * are dropped first, then (only with more requests in flight than `maxKeys`) the oldest in progress,
 * whose answer is then not remembered. Both Maps keep insertion order, so the oldest is first and
 * expiry stops at the first live key (an applied key is re-inserted when it is remembered).
 */
export class DedupTable {
  private readonly pending = new Map<string, Pending>()
  private readonly applied = new Map<string, Applied>()
  private readonly windowMs: number
  private readonly maxKeys: number
  private readonly room: () => number
  private readonly now: () => number
  private held = 0
  /** Applied keys dropped before their window ended (maxKeys or memory budget). */
  evicted = 0

  constructor (options: DedupTableOptions) {
    this.windowMs = options.windowMs
    this.maxKeys = options.maxKeys
    this.room = options.room
    this.now = options.now ?? (() => performance.now())
  }

  /** Keys held, in progress and applied. */
  get size (): number {
    return this.pending.size + this.applied.size
  }

  /** Bytes the table holds (what it charges the memory budget). */
  get bytes (): number {
    return this.held
  }

  /**
   * A request carrying `key` arrives: a new key is marked in progress (the caller must then
   * `remember` or `forget` it); an applied one with the same fingerprint gives its answer back.
   */
  begin (key: string, fingerprint: string): KeySighting {
    this.expire()
    const done = this.applied.get(key)
    if (done !== undefined) return done.fingerprint === fingerprint ? { kind: 'replay', answer: done.answer } : { kind: 'mismatch' }
    const running = this.pending.get(key)
    if (running !== undefined) return running.fingerprint === fingerprint ? { kind: 'in-progress' } : { kind: 'mismatch' }
    const entry = { fingerprint, bytes: KEY_OVERHEAD + 2 * key.length + fingerprint.length }
    this.pending.set(key, entry)
    this.held += entry.bytes
    this.fit()
    return { kind: 'new' }
  }

  /** The request carrying `key` was applied and answered `answer`: remember both for `windowMs`. */
  remember (key: string, answer: RecordedAnswer): void {
    const running = this.pending.get(key)
    if (running === undefined) return // dropped while in flight: not remembered
    this.pending.delete(key)
    const entry: Applied = { fingerprint: running.fingerprint, bytes: running.bytes + answer.bytes, answer, at: this.now() }
    this.held += answer.bytes
    this.applied.set(key, entry)
    this.fit()
  }

  /** The request carrying `key` failed (nothing applied): a retry will be applied. */
  forget (key: string): void {
    const running = this.pending.get(key)
    if (running === undefined) return
    this.pending.delete(key)
    this.held -= running.bytes
  }

  /** Drops applied keys past their window; the first live one ends the sweep (later ones are newer). */
  private expire (): void {
    const cutoff = this.now() - this.windowMs
    for (const [key, entry] of this.applied) {
      if (entry.at > cutoff) return
      this.applied.delete(key)
      this.held -= entry.bytes
    }
  }

  /** Drops the oldest keys until the table holds at most `bytes` (the memory receiver needs room for records). */
  shrinkTo (bytes: number): void {
    this.fit(bytes)
  }

  /** Drops the oldest keys until the table is within `maxKeys` and `room`. */
  private fit (room = this.room()): void {
    while (this.size > this.maxKeys || (this.held > room && this.size > 0)) {
      const oldest = this.applied.size > 0 ? this.applied : this.pending
      const [key, entry] = oldest.entries().next().value as [string, Pending]
      oldest.delete(key)
      this.held -= entry.bytes
      if (oldest === this.applied) this.evicted++
    }
  }
}
