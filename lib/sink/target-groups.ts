import type { BatchEncoding } from '../encoders/index.js'
import { Batcher, type RejectRecord } from './batcher.js'
import type { BatchOptions } from './options.js'
import type { RecordTarget, RecordTargets } from './targets.js'

/** A full batch of one target (see EmitBatch). */
export type EmitGroupBatch = (records: unknown[] | undefined, pieces: string[] | undefined, count: number, tags: unknown[] | undefined, target: RecordTarget) => void

/**
 * One Batcher per resolved target (same URL and templated headers), at most `maxGroups` of them:
 * a new target beyond that sends the oldest group's partial batch and forgets it, so a
 * high-cardinality field cannot grow memory. `add` throws InvalidRecordError for a record
 * whose target cannot be resolved.
 */
export class TargetGroups {
  readonly #targets: RecordTargets
  readonly #encoding: BatchEncoding
  readonly #limits: Required<BatchOptions>
  readonly #emit: EmitGroupBatch
  readonly #reject: RejectRecord
  /** By target key, oldest first (Map keeps insertion order). */
  readonly #groups = new Map<string, Batcher>()

  constructor (targets: RecordTargets, encoding: BatchEncoding, limits: Required<BatchOptions>, emit: EmitGroupBatch, reject: RejectRecord) {
    this.#reject = reject
    this.#targets = targets
    this.#encoding = encoding
    this.#limits = limits
    this.#emit = emit
  }

  add (record: unknown, tag: unknown): void {
    const target = this.#targets.resolve(record)
    let batcher = this.#groups.get(target.key)
    if (batcher === undefined) {
      if (this.#groups.size >= this.#limits.maxGroups) this.#evictOldest()
      batcher = new Batcher(this.#encoding, this.#limits, (records, pieces, count, tags) => this.#emit(records, pieces, count, tags, target), this.#reject)
      this.#groups.set(target.key, batcher)
    }
    batcher.add(record, tag)
  }

  /** Sends every partial batch now. */
  flush (): void {
    for (const batcher of this.#groups.values()) batcher.flush()
  }

  shrink (rejected: number, forMs: number): void {
    for (const batcher of this.#groups.values()) batcher.shrink(rejected, forMs)
  }

  #evictOldest (): void {
    const [key, oldest] = this.#groups.entries().next().value as [string, Batcher]
    this.#groups.delete(key)
    oldest.flush()
  }
}
