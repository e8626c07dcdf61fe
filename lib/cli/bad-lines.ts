import { InvalidRecordError, describeError } from '../errors.js'
import type { FailoverEnvelope, Store } from '../stores/store.js'
import type { CliIo } from './io.js'

/**
 * Input lines `send` cannot turn into records (not JSON, or cut off by a signal). Each goes into
 * the sink's failover store as an envelope whose `record` is the line's text and whose `error`
 * says `ERR_INVALID_RECORD: line N …`, so nothing read is thrown away. Without a store
 * (`--failover false`) they are counted as neither delivered nor stored.
 */
export class BadLines {
  readonly #io: CliIo
  readonly #store: Store | undefined
  readonly #target: { url: string, method: string }
  #pending: FailoverEnvelope[] = []
  seen = 0
  stored = 0
  lost = 0
  #error: string | undefined

  constructor (io: CliIo, store: Store | undefined, target: { url: string, method: string }) {
    this.#io = io
    this.#store = store
    this.#target = target
  }

  add (lineNumber: number, text: string, why: string): void {
    if (++this.seen <= 5) this.#io.stderr.write(`line ${lineNumber}: ${why}, ${this.#store === undefined ? 'not stored (failover off)' : 'kept in failover'}\n`)
    const error = describeError(new InvalidRecordError(`line ${lineNumber}: ${why}`))
    this.#pending.push({ record: text, ...this.#target, attempts: 0, status: null, error, failedAt: Date.now() })
  }

  /** Stores the lines added since the last call; resolves once they are durable (or counted lost). */
  async flush (): Promise<void> {
    const batch = this.#pending
    if (batch.length === 0) return
    this.#pending = []
    if (this.#store === undefined) {
      this.lost += batch.length
      return
    }
    try {
      await this.#store.put(batch)
      this.stored += batch.length
    } catch (err) {
      this.lost += batch.length
      this.#error = describeError(err)
    }
  }

  /** The summary's fields ({} when every line was a record). */
  fields (): Record<string, string | number> {
    if (this.seen === 0) return {}
    return {
      'bad lines': this.#store === undefined ? `${this.seen} (not stored: failover off)` : `${this.seen} -> ${this.#store.uri} (${this.stored} stored)`,
      ...(this.#error === undefined ? {} : { 'bad lines error': this.#error })
    }
  }
}
