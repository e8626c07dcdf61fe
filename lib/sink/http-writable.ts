import { Writable, type Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { DeliveryFailedError, FailoverStoreError, StreamDestroyedError, InvalidOptionError, describeError } from '../errors.js'
import { resolveOptions, type HttpWritableOptions } from './options.js'
import { DeliveryEngine, type EngineStats, type Job, type RetryEvent } from './delivery-engine.js'
import type { SinkMetrics } from './sink-metrics.js'
import { FailoverTransform, type FailoverItem } from './failover-transform.js'
import { openStore } from '../stores/open-store.js'
import type { FailoverEnvelope, Store } from '../stores/store.js'

/** Written through the stream by flush(), so it is ordered with the records written before it. */
class FlushMarker {
  constructor (readonly resolve: () => void, readonly reject: (err: Error) => void) {}
}

type Chunk = { chunk: unknown }

export interface CloseOptions {
  /** ms to wait for every record inside to be delivered before `destroy()` sends the rest to failover. Default 10000; `Infinity` waits for ever. */
  graceMs?: number
  /** Aborting it ends the grace period at once (a second Ctrl-C): the records still inside go to failover. */
  signal?: AbortSignal
}

/** The events of an HttpWritable and what their listeners receive. */
export interface HttpWritableEvents {
  /** A request failed and will be sent again after `delay` ms. */
  retry: [event: RetryEvent]
  /** Envelopes are durably in the failover store. */
  failover: [envelopes: FailoverEnvelope[]]
  error: [err: Error]
  drain: []
  finish: []
  close: []
  pipe: [source: Readable]
  unpipe: [source: Readable]
}

/** Typed listeners for the events above; other names keep EventEmitter's untyped (`any`) form. */
export interface HttpWritable {
  on: (<E extends keyof HttpWritableEvents>(event: E, listener: (...args: HttpWritableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
  once: (<E extends keyof HttpWritableEvents>(event: E, listener: (...args: HttpWritableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
  off: (<E extends keyof HttpWritableEvents>(event: E, listener: (...args: HttpWritableEvents[E]) => void) => this) & ((event: string | symbol, listener: (...args: any[]) => void) => this)
}

/**
 * An object-mode Writable that delivers each record over HTTP (see createHttpWritable). `write()`
 * returns false while `queueCapacity` records are inside (buffered, queued, in flight, waiting to
 * retry, or on their way into failover); 'finish' and `flush()` wait until every record is
 * delivered or durably stored; an error carries in `err.records` every record that is neither.
 */
export class HttpWritable extends Writable {
  readonly #engine: DeliveryEngine
  readonly #capacity: number
  readonly #lowWater: number
  readonly #store: Store | undefined
  readonly #ownsStore: boolean
  readonly #failover: FailoverTransform<Job> | undefined
  readonly #flushes = new Set<FlushMarker>()
  /** Chunks of the _writev call whose callback waits for room in the engine. */
  #held = 0
  /** Flush markers written but not yet reached by _writev. */
  #markersBuffered = 0
  #needDrain = false
  #fatal: Error | undefined
  /** The counters as they stood once destroy() had stored (or failed to store) what was inside. */
  #final: EngineStats | undefined

  constructor (options: HttpWritableOptions = {}) {
    const resolved = resolveOptions(options)
    super({ objectMode: true, highWaterMark: resolved.queueCapacity })
    this.#capacity = resolved.queueCapacity
    this.#lowWater = Math.floor(resolved.queueCapacity * 3 / 4)
    if (resolved.failover === false) {
      this.#ownsStore = false
    } else {
      this.#ownsStore = typeof resolved.failover === 'string'
      this.#store = typeof resolved.failover === 'string' ? openStore(resolved.failover) : resolved.failover
      this.#failover = new FailoverTransform<Job>(this.#store)
      this.#failover.on('data', (item: FailoverItem<Job>) => {
        this.#engine.settle(item.token, 'failedOver')
        this.emit('failover', item.envelopes)
      })
      this.#failover.on('error', (err) => this.#fail(err))
    }
    this.#engine = new DeliveryEngine(resolved, { fail: (job, envelopes) => this.#onUndeliverable(job, envelopes) })
    this.#engine.on('retry', (event) => this.emit('retry', event))
    this.#engine.on('error', (err: Error) => this.#fail(err))
    this.#engine.onSettled = () => this.#maybeDrain()
    if (resolved.signal !== undefined) this.#destroyOnAbort(resolved.signal)
  }

  /** `signal` destroys the sink as destroy() does (what is inside goes to failover): at once if already aborted. */
  #destroyOnAbort (signal: AbortSignal): void {
    if (signal.aborted) {
      this.destroy()
      return
    }
    const abort = (): void => { this.destroy() }
    signal.addEventListener('abort', abort, { once: true })
    this.once('close', () => signal.removeEventListener('abort', abort))
  }

  /** The failover store (undefined with `failover: false`): the CLI stores input lines it cannot parse in it. */
  get store (): Store | undefined {
    return this.#store
  }

  /** Counters: `{ written, delivered, retried, failedOver, inFlight, queued }`. */
  stats (): EngineStats {
    if (this.#final !== undefined) return { ...this.#final }
    const stats = this.#engine.stats()
    const buffered = this.#buffered()
    return { ...stats, written: stats.written + buffered, queued: stats.queued + buffered }
  }

  /** Counters and the request latency histogram, as a plain JSON-able object (see SinkMetrics); record counts as stats(). */
  metrics (): SinkMetrics {
    return this.#engine.meter.snapshot(this.stats())
  }

  /** Resolves when every record written before the call is delivered or durably in failover. */
  flush (): Promise<void> {
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal)
    if (this.destroyed) return Promise.reject(new StreamDestroyedError([], { message: 'flush() after destroy()' }))
    if (this.writableEnded) return finished(this)
    return new Promise((resolve, reject) => {
      const marker = new FlushMarker(resolve, reject)
      this.#flushes.add(marker)
      this.#markersBuffered++
      super.write(marker)
    })
  }

  /**
   * Ends the sink and waits up to `graceMs` for 'finish' (everything delivered or stored); then
   * destroys it, which puts the records still inside into failover. Resolves with the final stats
   * once every record written is delivered or stored; rejects with the stream's error otherwise
   * (`err.records`: the records neither delivered nor stored).
   */
  close (options: CloseOptions = {}): Promise<EngineStats> {
    const { graceMs = 10_000, signal } = options
    if (typeof graceMs !== 'number' || Number.isNaN(graceMs) || graceMs < 0) throw new InvalidOptionError('graceMs', `must be a number >= 0 or Infinity (got ${String(graceMs)})`)
    return new Promise((resolve, reject) => {
      const hurry = (): void => { this.destroy() }
      const timer = Number.isFinite(graceMs) ? setTimeout(hurry, graceMs) : undefined
      const settle = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', hurry)
        this.off('error', ignore)
        const err = this.errored
        if (err !== null) reject(err)
        else resolve(this.stats())
      }
      const ignore = (): void => {}
      // The error is this promise's rejection; without a listener it would also crash the process.
      this.on('error', ignore)
      if (this.closed) return settle()
      this.once('close', settle)
      signal?.addEventListener('abort', hurry, { once: true })
      if (signal?.aborted === true) return hurry()
      if (!this.writableEnded && !this.destroyed) this.end()
    })
  }

  override write (chunk: unknown, encoding?: BufferEncoding | ((error: Error | null | undefined) => void), callback?: (error: Error | null | undefined) => void): boolean {
    // The hot path (a pipe's write: no callback): when the Writable holds nothing and would call
    // _write at once, the record goes straight to the engine, skipping the Writable's per-write
    // bookkeeping (about a tenth of a µs a record). Anything else keeps the Writable's own order
    // and errors: a buffered record or marker, a held _writev, cork, end, destroy, null.
    if (callback === undefined && encoding === undefined && chunk != null && this.writableLength === 0 && this.#engine.inside + 1 < this.#capacity &&
      this.writableCorked === 0 && !this.writableEnded && !this.destroyed) {
      this.#engine.push(chunk)
      return true
    }
    const ok = super.write(chunk, encoding as BufferEncoding, callback)
    if (ok && this.#engine.inside + this.#buffered() < this.#capacity) return true
    this.#needDrain = true
    return false
  }

  override _write (chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (chunk instanceof FlushMarker || this.#engine.inside + 1 >= this.#capacity) return this.#accept([{ chunk }], callback)
    // The hot path: no array, no closure.
    this.#engine.push(chunk)
    callback()
  }

  override _writev (chunks: Chunk[], callback: (error?: Error | null) => void): void {
    this.#accept(chunks, callback)
  }

  #accept (chunks: Chunk[], callback: (error?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      if (chunk instanceof FlushMarker) {
        this.#markersBuffered--
        this.#engine.barrier().then(() => {
          this.#flushes.delete(chunk)
          chunk.resolve()
        }, chunk.reject)
      } else {
        this.#engine.push(chunk)
      }
    }
    this.#held = chunks.length
    this.#engine.whenBelow(this.#capacity, () => {
      this.#held = 0
      callback()
    })
  }

  override _final (callback: (error?: Error | null) => void): void {
    this.#engine.barrier().then(async () => {
      this.#failover?.end()
      await this.#release()
    }).then(() => callback(), callback)
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    const before = this.stats()
    for (const marker of this.#flushes) marker.reject(this.#fatal ?? error ?? new StreamDestroyedError([], { message: 'destroyed before the flush completed' }))
    this.#flushes.clear()
    if (this.#fatal !== undefined) {
      this.#release().then(() => callback(this.#fatal), () => callback(this.#fatal))
      return
    }
    // Taken before stop(): stop() releases a held write callback, and Node then empties the buffer of a destroyed stream.
    const buffered = this.#bufferedEnvelopes()
    const left = this.#engine.stop()
    const envelopes = [...left.flatMap((job) => this.#engine.envelopes(job)), ...buffered]
    for (const envelope of envelopes) envelope.error = `stream destroyed before delivery${envelope.error === null ? '' : ` (last: ${envelope.error})`}`
    const records = envelopes.map((e) => e.record)
    const done = (err: Error | null): void => {
      const stored = err === error ? records.length : 0
      this.#final = { ...before, failedOver: before.failedOver + stored, inFlight: 0, queued: records.length - stored }
      this.#release().then(() => callback(err), () => callback(err))
    }
    if (records.length === 0) return done(error)
    if (this.#store === undefined) return done(new StreamDestroyedError(records, { cause: error ?? undefined }))
    this.#store.put(envelopes).then(() => {
      this.emit('failover', envelopes)
      done(error)
    }, (err: unknown) => done(new FailoverStoreError(`destroyed, and failover store ${this.#store!.uri} could not store ${records.length} record(s): ${describeError(err)}`, records, { cause: err })))
  }

  #onUndeliverable (job: Job, envelopes: FailoverEnvelope[]): void {
    if (this.#failover === undefined) {
      this.#fail(new DeliveryFailedError(`could not deliver to ${envelopes[0]?.url ?? ''} after ${job.attempts} attempt(s): ${envelopes[0]?.error ?? job.error ?? 'unknown error'}`, [], { cause: job.cause }))
      return
    }
    this.#failover.write({ envelopes, token: job })
  }

  /** Errors the stream once, with every record not delivered nor stored in `err.records`. */
  #fail (cause: Error): void {
    if (this.#fatal !== undefined || this.destroyed) return
    const buffered = this.#bufferedEnvelopes().map((e) => e.record)
    const left = this.#engine.stop()
    const records = [...left.flatMap((job) => this.#engine.recordsOf(job)), ...buffered]
    this.#fatal = cause instanceof FailoverStoreError
      ? new FailoverStoreError(cause.message, records, { cause: cause.cause })
      : new DeliveryFailedError(`${records.length} record(s) not delivered: ${cause.message}`, records, { cause: cause instanceof DeliveryFailedError ? cause.cause : cause })
    this.destroy(this.#fatal)
  }

  async #release (): Promise<void> {
    await this.#engine.close()
    if (this.#ownsStore) await this.#store?.close()
  }

  /** Records in the Writable's own buffer, not yet handed to the engine. */
  #buffered (): number {
    return this.writableLength - this.#held - this.#markersBuffered
  }

  #bufferedEnvelopes (): FailoverEnvelope[] {
    const state = (this as unknown as { _writableState?: { getBuffer?: () => Chunk[] } })._writableState
    const chunks = state?.getBuffer?.() ?? []
    const base = { url: this.#engine.targetDescription, method: this.#engine.options.method, attempts: 0, status: null, error: null, failedAt: Date.now() }
    return chunks.filter((c) => !(c.chunk instanceof FlushMarker)).map((c) => ({ ...base, record: c.chunk }))
  }

  #maybeDrain (): void {
    if (!this.#needDrain || this.#engine.inside + this.#buffered() > this.#lowWater) return
    this.#needDrain = false
    this.emit('drain')
  }
}

/** Creates an object-mode Writable that delivers records over HTTP. Options: see the README. */
export function createHttpWritable (options?: HttpWritableOptions): HttpWritable {
  return new HttpWritable(options)
}
