import { resolveOptions, type HttpWritableOptions } from './options.js'
import { DeliveryEngine, type Job } from './delivery-engine.js'
import { openStore } from '../stores/open-store.js'
import type { Store, StoredRecord } from '../stores/store.js'
import { isStore } from '../stores/store.js'
import { InvalidOptionError } from '../errors.js'

export interface ReplayProgress {
  /** Stored records read so far. */
  read: number
  /** Accepted by the endpoint and acked in the store. */
  delivered: number
  /** Failed again: kept in the store with attempts, status and error updated. */
  failedAgain: number
}

export interface ReplaySummary extends ReplayProgress {
  store: string
  ms: number
}

export interface ReplayOptions extends Omit<HttpWritableOptions, 'failover'> {
  /** Stored records read and delivered per round (each round ends with ack/retain). Default 5000. */
  batchSize?: number
  /** Called after each round. */
  onProgress?: (progress: ReplayProgress) => void
}

/**
 * Sends stored records again through the same delivery engine as the writable. Only records the
 * endpoint accepted are acked (removed or marked) in the store; those that fail again stay, with
 * attempts/status/error updated. Acks happen after each round, so a replay stopped midway and run
 * again re-sends at most the round that was under way. Records stored with an `idempotencyKey` are
 * sent again as the request they were, with that key (see KeyedGroups). Aborting `signal` stops
 * reading and sending at once and rejects with the signal's reason; the records delivered so far
 * are acked, every other one stays in the store as it was.
 */
export async function replay (storeOrUri: Store | string, options: ReplayOptions): Promise<ReplaySummary> {
  const { batchSize = 5000, onProgress, ...writableOptions } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError('batchSize', `must be an integer >= 1 (got ${String(batchSize)})`)
  if (typeof storeOrUri !== 'string' && !isStore(storeOrUri)) throw new InvalidOptionError('store', 'must be a store URI or a Store')
  const resolved = resolveOptions({ ...writableOptions, failover: false })
  const store = typeof storeOrUri === 'string' ? openStore(storeOrUri, 'store') : storeOrUri
  const started = Date.now()
  const progress: ReplayProgress = { read: 0, delivered: 0, failedAgain: 0 }
  const accepted: string[] = []
  const failed: StoredRecord[] = []
  const engine = new DeliveryEngine(resolved, {
    fail: (job, envelopes) => {
      envelopes.forEach((envelope, i) => {
        const stored = job.tags![i] as StoredRecord
        failed.push({ id: stored.id, envelope: { ...envelope, record: stored.envelope.record, attempts: stored.envelope.attempts + envelope.attempts } })
      })
      engine.settle(job, 'failedOver')
    }
  })
  const broken = new Promise<never>((_resolve, reject) => engine.once('error', reject))
  broken.catch(() => {})
  engine.onSettled = (job: Job, outcome) => {
    if (outcome === 'delivered') for (const tag of job.tags!) accepted.push((tag as StoredRecord).id)
  }
  const groups = new KeyedGroups(engine, resolved.batch?.maxRecords ?? 1)
  // `signal`: reading and waiting for a round stop at once; what was not acked stays in the store.
  const abort = resolved.signal === undefined ? undefined : whenAborted(resolved.signal)
  const unlessAborted = <T>(work: Promise<T>): Promise<T> => abort === undefined ? work : Promise.race([work, abort.promise])
  /** Waits for what was pushed, then acks the delivered and retains the failed. */
  const settleRound = async (): Promise<void> => {
    await unlessAborted(Promise.race([engine.barrier(), broken]))
    await store.ack(accepted.splice(0))
    const again = failed.splice(0)
    await store.retain(again)
    progress.delivered = engine.stats().delivered
    progress.failedAgain += again.length
    onProgress?.({ ...progress })
  }
  if (resolved.signal?.aborted === true) {
    if (typeof storeOrUri === 'string') await store.close()
    throw resolved.signal.reason
  }
  const batches = store.read({ batchSize })[Symbol.asyncIterator]()
  try {
    for (;;) {
      const next = await unlessAborted(batches.next())
      if (next.done === true) break
      groups.push(next.value)
      progress.read += next.value.length
      await settleRound()
    }
    if (groups.flushHeld()) await settleRound()
  } catch (err) {
    // Aborted: what was delivered before is acked (not sent again by the next replay), the rest stays as it was.
    if (abort?.signal.aborted === true) await store.ack(accepted.splice(0)).catch(() => {})
    throw err
  } finally {
    abort?.dispose()
    engine.stop()
    // After an abort too: a read under way ends first, so the store's replay lock is released.
    await batches.return?.(undefined).catch(() => {})
    await engine.close()
    if (typeof storeOrUri === 'string') await store.close()
  }
  return { ...progress, store: store.uri, ms: Date.now() - started }
}

/**
 * Hands a round of stored records to the engine. Records stored with an `idempotencyKey` were one
 * request: those of one key are sent again as one request with that key (`pushGroup`, at most
 * `maxRecords` a request), past normal batching; the others are pushed one by one as ever. The
 * group of a round's last record may go on in the next round (the store's batch ended inside
 * it), so it is held back to be sent with that round, or by `flushHeld` after the last.
 */
class KeyedGroups {
  readonly #engine: DeliveryEngine
  readonly #maxRecords: number
  #held: StoredRecord[] = []

  constructor (engine: DeliveryEngine, maxRecords: number) {
    this.#engine = engine
    this.#maxRecords = maxRecords
  }

  push (batch: readonly StoredRecord[]): void {
    const round = this.#held.length === 0 ? batch : [...this.#held, ...batch]
    this.#held = []
    const lastKey = round[round.length - 1]?.envelope.idempotencyKey
    const groups = new Map<string, StoredRecord[]>()
    for (const stored of round) {
      const key = stored.envelope.idempotencyKey
      if (key === undefined) this.#engine.push(stored.envelope.record, stored)
      else if (key === lastKey) this.#held.push(stored)
      else {
        const group = groups.get(key)
        if (group === undefined) groups.set(key, [stored])
        else group.push(stored)
      }
    }
    for (const [key, group] of groups) this.#send(key, group)
  }

  /** Sends the group held back from the last round; false when there was none. */
  flushHeld (): boolean {
    if (this.#held.length === 0) return false
    this.#send(this.#held[0]!.envelope.idempotencyKey!, this.#held)
    this.#held = []
    return true
  }

  #send (key: string, group: StoredRecord[]): void {
    for (let i = 0; i < group.length; i += this.#maxRecords) {
      const part = group.slice(i, i + this.#maxRecords)
      this.#engine.pushGroup(part.map((s) => s.envelope.record), part, key)
    }
  }
}

/** A promise that rejects with the signal's reason once it is aborted (at once if it already is). */
function whenAborted (signal: AbortSignal): { signal: AbortSignal, promise: Promise<never>, dispose: () => void } {
  let onAbort = (): void => {}
  const promise = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
  promise.catch(() => {})
  return { signal, promise, dispose: () => signal.removeEventListener('abort', onAbort) }
}
