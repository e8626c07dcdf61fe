/** The next offset to commit per partition: one past the last message handed to the writable. */
export class ConsumedOffsets {
  readonly #next = new Map<string, { topic: string, partition: number, offset: string }>()

  note (topic: string, partition: number, offset: string): void {
    this.#next.set(`${topic}\0${partition}`, { topic, partition, offset: (BigInt(offset) + 1n).toString() })
  }

  /** A copy of what was consumed so far: committed once everything before it has settled. */
  snapshot (): Array<{ topic: string, partition: number, offset: string }> {
    return [...this.#next.values()].map((e) => ({ ...e }))
  }

  /** Forgets the partitions not in `assignment` (revoked): their offsets are another member's now. */
  keepOnly (assignment: Record<string, number[]>): void {
    for (const [key, e] of this.#next) if (assignment[e.topic]?.includes(e.partition) !== true) this.#next.delete(key)
  }
}
