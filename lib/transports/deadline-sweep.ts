/** A request in flight with a deadline (a `performance.now()` time) and a way to cut it. */
export interface Expiring {
  readonly deadline: number
  /** Fails the request as timed out; called at most once, after the deadline. */
  expire: () => void
}

/** Where a tracked request sits in the sweep's list; give it back to `untrack`. */
export interface Tracked {
  readonly item: Expiring
  prev: Tracked | undefined
  next: Tracked | undefined
  linked: boolean
}

/**
 * One coarse timer for every request of a transport in flight, instead of a timer per request:
 * an unref'd interval of a quarter of `timeout` (10 ms to 250 ms), running only while something is
 * tracked, expires what is past its deadline. An attempt is thus cut at most one period late.
 * Requests are kept in a linked list (a Set costs several µs per request in the GC).
 */
export class DeadlineSweep {
  readonly period: number
  #head: Tracked | undefined
  #tail: Tracked | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (timeout: number) {
    this.period = Math.min(250, Math.max(10, Math.ceil(timeout / 4)))
  }

  track (item: Expiring): Tracked {
    const tracked: Tracked = { item, prev: this.#tail, next: undefined, linked: true }
    if (this.#tail === undefined) this.#head = tracked
    else this.#tail.next = tracked
    this.#tail = tracked
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), this.period)
      this.#timer.unref()
    }
    return tracked
  }

  /** Stops watching (the request settled); the timer itself stops at its next tick if nothing is left. */
  untrack (tracked: Tracked): void {
    if (!tracked.linked) return
    tracked.linked = false
    const { prev, next } = tracked
    if (prev === undefined) this.#head = next
    else prev.next = next
    if (next === undefined) this.#tail = prev
    else next.prev = prev
  }

  #sweep (): void {
    if (this.#head === undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
      return
    }
    const now = performance.now()
    for (let tracked: Tracked | undefined = this.#head; tracked !== undefined; tracked = tracked.next) {
      if (tracked.item.deadline > now) continue
      this.untrack(tracked)
      tracked.item.expire()
    }
  }
}
