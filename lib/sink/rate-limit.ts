/** `rateLimit`: at most this many per `perMs` (token buckets, a burst of one period's worth). */
export interface RateLimitOptions {
  /** Requests (attempts, retries included) per period. */
  requests?: number
  /** Records per period. */
  records?: number
  /** Request body bytes (before compression) per period. */
  bytes?: number
  /** The period in ms. Default 1000. */
  perMs?: number
}

export const RATE_LIMIT_SCHEMA = {
  description: '{ requests?, records?, bytes?, perMs } with at least one of requests, records, bytes (each at least 1)',
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  anyOf: [{ required: ['requests'] }, { required: ['records'] }, { required: ['bytes'] }],
  properties: {
    requests: { type: 'integer', minimum: 1 },
    records: { type: 'integer', minimum: 1 },
    bytes: { type: 'integer', minimum: 1 },
    perMs: { type: 'integer', minimum: 1 }
  }
}

/** One bucket: `capacity` tokens, refilled at capacity per `perMs`. */
class Bucket {
  tokens: number
  constructor (readonly capacity: number, readonly perMs: number) {
    this.tokens = capacity
  }

  refill (elapsed: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.capacity / this.perMs)
  }

  /** A cost above capacity waits for a full bucket (and may then go below zero). */
  enough (cost: number): boolean {
    return this.tokens >= Math.min(cost, this.capacity)
  }

  msUntil (cost: number): number {
    return Math.max(0, (Math.min(cost, this.capacity) - this.tokens) * this.perMs / this.capacity)
  }
}

interface Waiting { records: number, bytes: number, run: () => void }

/**
 * Holds requests until the buckets have tokens for them, first come first served. Those waiting
 * are kept in one FIFO and woken by one timer (for the next refill), never a timer per request.
 * The records waiting stay counted inside the engine, so `queueCapacity` holds the producer back.
 */
export class RateLimiter {
  readonly #requests: Bucket | undefined
  readonly #records: Bucket | undefined
  readonly #bytes: Bucket | undefined
  readonly #waiting: Waiting[] = []
  #head = 0
  #last = performance.now()
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor (options: Required<Pick<RateLimitOptions, 'perMs'>> & RateLimitOptions) {
    const bucket = (n: number | undefined): Bucket | undefined => n === undefined ? undefined : new Bucket(n, options.perMs)
    this.#requests = bucket(options.requests)
    this.#records = bucket(options.records)
    this.#bytes = bucket(options.bytes)
  }

  /** Calls `run` once one request of `records` records and `bytes` body bytes may go (now, or later). */
  schedule (records: number, bytes: number, run: () => void): void {
    if (this.#stopped) return
    if (this.#head === this.#waiting.length && this.#take(records, bytes)) return run()
    this.#waiting.push({ records, bytes, run })
    this.#arm()
  }

  /** Drops those waiting (their records are the engine's to store) and the timer. */
  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting.length = 0
    this.#head = 0
  }

  #take (records: number, bytes: number): boolean {
    const now = performance.now()
    const elapsed = now - this.#last
    this.#last = now
    this.#requests?.refill(elapsed)
    this.#records?.refill(elapsed)
    this.#bytes?.refill(elapsed)
    if (this.#requests?.enough(1) === false || this.#records?.enough(records) === false || this.#bytes?.enough(bytes) === false) return false
    if (this.#requests !== undefined) this.#requests.tokens -= 1
    if (this.#records !== undefined) this.#records.tokens -= records
    if (this.#bytes !== undefined) this.#bytes.tokens -= bytes
    return true
  }

  #arm (): void {
    if (this.#timer !== undefined) return
    const next = this.#waiting[this.#head]!
    const wait = Math.max(this.#requests?.msUntil(1) ?? 0, this.#records?.msUntil(next.records) ?? 0, this.#bytes?.msUntil(next.bytes) ?? 0)
    this.#timer = setTimeout(() => this.#wake(), Math.max(1, Math.ceil(wait)))
  }

  #wake (): void {
    this.#timer = undefined
    while (this.#head < this.#waiting.length && !this.#stopped) {
      const next = this.#waiting[this.#head]!
      if (!this.#take(next.records, next.bytes)) break
      this.#head++
      next.run()
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0
      this.#head = 0
    } else if (this.#head > 1024) {
      this.#waiting.splice(0, this.#head)
      this.#head = 0
    }
    if (this.#head < this.#waiting.length && !this.#stopped) this.#arm()
  }
}

/** Body bytes of a request as the bucket counts them. */
export function bodyBytes (body: string | Buffer | undefined): number {
  if (body === undefined) return 0
  return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength
}
