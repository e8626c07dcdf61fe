/** One partition as the bridge sees it: offsets as numbers (exact below 2^53). */
export interface PartitionLag {
  topic: string
  partition: number
  /** The partition's end offset, from the last fetched batch's high watermark. */
  highWatermark: number
  /** The next offset to hand to the writable: one past the last message taken. */
  position: number
  /** The offset this member last committed for the partition (null: none yet). */
  committed: number | null
  /** highWatermark − position: messages in Kafka not yet taken by this member. */
  lag: number
}

interface Entry { topic: string, partition: number, next: string, first: string, highWatermark: string, committed: string | null }

type Offsets = Array<{ topic: string, partition: number, offset: string }>

/**
 * Per partition: the next offset to commit (one past the last message handed to the writable),
 * the high watermark of its last fetched batch, and the offset last committed.
 */
export class ConsumedOffsets {
  readonly #entries = new Map<string, Entry>()

  #entry (topic: string, partition: number, offset: string): Entry {
    const key = `${topic}\0${partition}`
    let e = this.#entries.get(key)
    if (e === undefined) {
      e = { topic, partition, next: '', first: offset, highWatermark: offset, committed: null }
      this.#entries.set(key, e)
    }
    return e
  }

  /** A fetched batch (once per batch, not per message): its first offset and high watermark. */
  fetched (topic: string, partition: number, firstOffset: string, highWatermark: string): void {
    this.#entry(topic, partition, firstOffset).highWatermark = highWatermark
  }

  note (topic: string, partition: number, offset: string): void {
    this.#entry(topic, partition, offset).next = (BigInt(offset) + 1n).toString()
  }

  /** A copy of what was consumed so far: committed once everything before it has settled. */
  snapshot (): Offsets {
    const out: Offsets = []
    for (const e of this.#entries.values()) if (e.next !== '') out.push({ topic: e.topic, partition: e.partition, offset: e.next })
    return out
  }

  /** Offsets the group accepted. */
  committed (offsets: Offsets): void {
    for (const o of offsets) {
      const e = this.#entries.get(`${o.topic}\0${o.partition}`)
      if (e !== undefined) e.committed = o.offset
    }
  }

  /** Lag per partition, in topic then partition order. */
  lag (): PartitionLag[] {
    return [...this.#entries.values()]
      .map((e) => {
        const highWatermark = Number(e.highWatermark)
        const position = Number(e.next === '' ? e.first : e.next)
        return { topic: e.topic, partition: e.partition, highWatermark, position, committed: e.committed === null ? null : Number(e.committed), lag: Math.max(0, highWatermark - position) }
      })
      .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition)
  }

  /** Forgets the partitions not in `assignment` (revoked): their offsets are another member's now. */
  keepOnly (assignment: Record<string, number[]>): void {
    for (const [key, e] of this.#entries) if (assignment[e.topic]?.includes(e.partition) !== true) this.#entries.delete(key)
  }
}
