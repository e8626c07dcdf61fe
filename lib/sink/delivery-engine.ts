import { EventEmitter } from 'node:events'
import fastq, { type queue as FastQueue } from 'fastq'
import { InvalidRecordError, ItemRejectedError, UnexpectedStatusError, describeError } from '../errors.js'
import type { ResolvedOptions } from './options.js'
import { parseRetryAfter, retryDelay } from '../shared/retry.js'
import { createEncoding, type Encoding, type Target, type Verdict } from '../encoders/index.js'
import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from '../transports/transport.js'
import { UndiciTransport } from '../transports/undici.js'
import { GotTransport } from '../transports/got.js'
import { withAuthAndCompression } from '../transports/auth-and-compression.js'
import { Batcher } from './batcher.js'
import { TargetGroups } from './target-groups.js'
import { toTarget, type RecordTarget, type RecordTargets } from './targets.js'
import { RateLimiter, bodyBytes } from './rate-limit.js'
import type { FailoverEnvelope } from '../stores/store.js'
import { ITEM_RESULTS_MAX_BODY, type ItemProblem, type ItemReader } from './item-results.js'
import { SHRINK_AFTER_413_MS, halves, splitPolicy } from './bisect.js'
import { SinkMeter } from './sink-metrics.js'
import { Epoch, type EngineStats, type Job } from './job.js'
import { idempotencyKeyOf, resolveIdempotencyKey, withIdempotencyKey, type IdempotencyKeys } from './idempotency-key.js'

export type { EngineStats, Job } from './job.js'

export interface RetryEvent { records: unknown[], attempt: number, delay: number, status: number | null, error: string | null }

/**
 * Where the engine sends what it cannot deliver; `fail` must eventually call engine.settle (or stop
 * the engine). `keepResponses`: read every response body in full and hand it to onSettled (the
 * transform emits them).
 */
export interface FailureSink {
  fail: (job: Job, envelopes: FailoverEnvelope[]) => void
  keepResponses?: boolean
}

/**
 * The delivery engine shared by the writable and replay: encodes records (one per request, or
 * batched), runs requests on a fastq pool of `numWriters`, retries with jittered backoff or
 * Retry-After, and hands what cannot be delivered to a FailureSink. Counts every record from
 * `push` until `settle` so callers can bound memory (`inside`) and wait for barriers (`barrier`).
 */
export class DeliveryEngine extends EventEmitter {
  readonly options: ResolvedOptions
  /** Told of every job delivered or stored (a plain hook, not an event: it runs once per request). */
  onSettled: ((job: Job, outcome: 'delivered' | 'failedOver', response?: TransportResponse) => void) | undefined
  readonly #transport: Transport
  readonly #encoding: Encoding
  readonly #target: Target
  readonly #queue: FastQueue<Job, void>
  readonly #batcher: Batcher | TargetGroups | undefined
  /** Per-record targets (url/header templates); undefined when the target is fixed. */
  readonly #targets: RecordTargets | undefined
  /** `rateLimit`; undefined when off. */
  readonly #limiter: RateLimiter | undefined
  readonly #failures: FailureSink
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #jobs = new Set<Job>()
  readonly #epochs: Epoch[] = [new Epoch()]
  /** Request counters, latency histogram and diagnostics_channel messages (`metrics()`). */
  readonly meter = new SinkMeter()
  readonly #sendOptions: SendOptions
  #stopped = false
  #inside = 0
  #inFlight = 0
  #delivered = 0
  #retried = 0
  #failedOver = 0
  #capacityWaiter: (() => void) | undefined
  /** The encoding's `ready()`, until it settles. */
  #ready: Promise<void> | undefined
  /** Reads per-item results of 2xx answers (`itemResults`); undefined when off. */
  readonly #items: ItemReader | undefined
  /** Whether an answer splits a batch (`onReject`, 413); undefined without batches. */
  readonly #splits: ((status: number, final: boolean) => boolean) | undefined
  /** `idempotencyKey`; undefined when off (then no request gets a key, nothing is computed). */
  readonly #keys: IdempotencyKeys | undefined
  /** With `#keys` off: `true`'s keys, for the parts of a pushGroup request (replay's stored keys). */
  #groupKeys: IdempotencyKeys | undefined

  constructor (options: ResolvedOptions, failures: FailureSink) {
    super()
    this.options = options
    this.#failures = failures
    this.#target = { url: options.url, method: options.method, headers: options.headers }
    this.#encoding = createEncoding(options.encoding, this.#target, options.batch !== undefined, options.encodingOptions)
    this.#transport = withAuthAndCompression(options.transport === 'got'
      ? new GotTransport(options.numWriters, options.got, options)
      : new UndiciTransport(options.numWriters, options.timeout, options), options)
    const successStatus = options.successStatus
    this.#items = options.itemResults
    this.#keys = options.idempotencyKey
    this.#splits = options.batch !== undefined && this.#encoding.batch ? splitPolicy(options.onReject) : undefined
    const needsBody = failures.keepResponses === true || options.successNeedsBody || this.#encoding.judge !== undefined || this.#items !== undefined
    this.#sendOptions = {
      timeout: options.timeout,
      readBody: needsBody || successStatus === undefined ? () => true : (status) => !successStatus(status),
      maxBody: failures.keepResponses === true ? Number.MAX_SAFE_INTEGER : this.#items !== undefined ? ITEM_RESULTS_MAX_BODY : undefined
    }
    this.#queue = fastq(this, attemptWorker, options.numWriters)
    this.#ready = this.#encoding.ready?.().catch(() => {}).finally(() => { this.#ready = undefined })
    this.#targets = options.targets
    this.#limiter = options.rateLimit === undefined ? undefined : new RateLimiter(options.rateLimit)
    if (options.batch !== undefined && this.#encoding.batch) {
      const reject = (record: unknown, tag: unknown, err: unknown): void => this.#giveUp(this.#newJob([record], 1, undefined, tag === undefined ? undefined : [tag]), err)
      this.#batcher = this.#targets === undefined
        ? new Batcher(this.#encoding, options.batch, (records, pieces, count, tags) => this.#enqueueBatch(records, pieces, count, tags), reject)
        : new TargetGroups(this.#targets, this.#encoding, options.batch, (records, pieces, count, tags, target) => this.#enqueueBatch(records, pieces, count, tags, target), reject)
    }
  }

  /** Records accepted and not yet delivered or stored. */
  get inside (): number {
    return this.#inside
  }

  stats (): EngineStats {
    return {
      written: this.#delivered + this.#failedOver + this.#inside,
      delivered: this.#delivered,
      retried: this.#retried,
      failedOver: this.#failedOver,
      inFlight: this.#inFlight,
      queued: this.#inside - this.#inFlight
    }
  }

  /** Accepts one record. `tag` comes back on the job (replay uses it for store ids). */
  push (record: unknown, tag?: unknown): void {
    if (this.#stopped) return
    this.#count(1)
    const tags = tag === undefined ? undefined : [tag]
    if (this.#batcher !== undefined) {
      try {
        this.#batcher.add(record, tag)
      } catch (err) {
        this.#giveUp(this.#newJob([record], 1, undefined, tags), err)
      }
      return
    }
    let request: OutgoingRequest
    try {
      request = (this.#encoding as Extract<Encoding, { batch: false }>).encode(record, this.#target)
      if (this.#targets !== undefined) request = toTarget(request, this.#targets.resolve(record))
      if (this.#keys !== undefined) request = withIdempotencyKey(this.#keys, request, () => [record])
    } catch (err) {
      this.#giveUp(this.#newJob([record], 1, undefined, tags), err)
      return
    }
    this.#queue.push(this.#newJob(this.#encoding.decode === undefined ? [record] : undefined, 1, request, tags))
  }

  /**
   * Accepts records that were one request, to be sent again as one request with `key` (replay:
   * envelopes stored with the same key), past the batcher; without batches each record is a request
   * with `key`. The header is `idempotencyKey`'s (Idempotency-Key when off). `tags` as push's, one a record.
   */
  pushGroup (records: unknown[], tags: unknown[] | undefined, key: string): void {
    if (this.#stopped || records.length === 0) return
    const keys = this.#keys ?? (this.#groupKeys ??= resolveIdempotencyKey(true)!)
    const encoding = this.#encoding
    const parts = encoding.batch ? [records] : records.map((r) => [r])
    parts.forEach((part, i) => {
      const partTags = tags === undefined ? undefined : encoding.batch ? tags : [tags[i]]
      this.#count(part.length)
      let request: OutgoingRequest
      try {
        request = encoding.batch ? this.#assemble(part) : encoding.encode(part[0], this.#target)
        if (this.#targets !== undefined) request = toTarget(request, this.#targets.resolve(part[0]))
      } catch (err) {
        this.#giveUp(this.#newJob(part, part.length, undefined, partTags), err)
        return
      }
      this.#queue.push(this.#newJob(encoding.decode === undefined ? part : undefined, part.length, withIdempotencyKey(keys, request, () => part, key), partTags))
    })
  }

  /** `n` more records inside, in the current epoch. */
  #count (n: number): void {
    this.#inside += n
    this.#epochs[this.#epochs.length - 1]!.pending += n
  }

  /** One batch request of `records` (a batch encoding), past the batcher: for regrouped and split records. */
  #assemble (records: unknown[]): OutgoingRequest {
    const encoding = this.#encoding as Extract<Encoding, { batch: true }>
    return encoding.assemble(records.map((r) => encoding.piece(r)), records, this.#target)
  }

  /** The records of a job: kept, or decoded back from its request body. */
  recordsOf (job: Job): unknown[] {
    return job.records ?? this.#encoding.decode!(job.request!)
  }

  /** Calls `callback` once fewer than `limit` records are inside (at once if already so). */
  whenBelow (limit: number, callback: () => void): void {
    if (this.#inside < limit || this.#stopped) callback()
    else this.#capacityWaiter = () => {
      if (this.#inside >= limit && !this.#stopped) return
      this.#capacityWaiter = undefined
      callback()
    }
  }

  /**
   * Closes the current epoch: resolves once every record pushed so far is delivered or stored.
   * A partial batch is sent now rather than after lingerMs.
   */
  barrier (): Promise<void> {
    // First, so the partial batch's job joins the epoch its records were counted in.
    this.#batcher?.flush()
    const epoch = this.#epochs[this.#epochs.length - 1]!
    epoch.closed = true
    this.#epochs.push(new Epoch())
    const done = new Promise<void>((resolve) => epoch.waiters.push(resolve))
    this.#releaseEpochs()
    return done
  }

  /** A job handed to the FailureSink is now durably stored (or, with `delivered`, accepted). */
  settle (job: Job, outcome: 'delivered' | 'failedOver', response?: TransportResponse): void {
    if (!this.#jobs.delete(job)) return
    const n = job.count
    if (outcome === 'delivered') this.#delivered += n
    else this.#failedOver += n
    this.#inside -= n
    job.epoch.pending -= n
    this.#releaseEpochs()
    this.#capacityWaiter?.()
    this.onSettled?.(job, outcome, response)
  }

  /**
   * Stops everything: no more attempts, retries or batches. Returns the jobs not settled (queued,
   * in flight, waiting to retry, in a batch, or in failover) so the caller can store or report them.
   */
  stop (): Job[] {
    this.#stopped = true
    this.#batcher?.flush()
    this.#queue.kill()
    this.#limiter?.stop()
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const left = [...this.#jobs]
    this.#capacityWaiter?.()
    return left
  }

  /** Releases the transport; after stop() it also cuts requests still in flight. */
  async close (): Promise<void> {
    this.#batcher?.flush()
    await this.#transport.close(this.#stopped)
  }

  /** The URL an envelope names when its record never got a request: the url template's text, or the fixed url. */
  get targetDescription (): string {
    return this.#targets?.description ?? this.options.url?.href ?? ''
  }

  /** Builds the envelopes of a job given up on. */
  envelopes (job: Job): FailoverEnvelope[] {
    const url = job.request === undefined ? this.targetDescription : job.request.origin + job.request.path
    const method = job.request?.method ?? this.options.method
    const failedAt = Date.now()
    const error = envelopeError(job.firstError, job.error)
    const keys = this.#keysOf(job)
    const idempotencyKey = keys === undefined ? undefined : idempotencyKeyOf(keys, job.request)
    const base = { url, method, attempts: job.attempts, status: job.status, error, failedAt }
    return this.recordsOf(job).map((record) => idempotencyKey === undefined ? { record, ...base } : { record, ...base, idempotencyKey })
  }

  #newJob (records: unknown[] | undefined, count: number, request: OutgoingRequest | undefined, tags: unknown[] | undefined): Job {
    const job: Job = { records, count, request, attempts: 0, status: null, error: null, firstError: null, cause: undefined, epoch: this.#epochs[this.#epochs.length - 1]!, tags }
    this.#jobs.add(job)
    return job
  }

  #enqueueBatch (records: unknown[] | undefined, pieces: string[] | undefined, count: number, tags: unknown[] | undefined, target?: RecordTarget): void {
    if (pieces === undefined) {
      this.#giveUp(this.#newJob(records, count, undefined, tags), new InvalidRecordError(`record of more than batch.maxBytes (${this.options.batch!.maxBytes}) bytes`))
      return
    }
    const encoding = this.#encoding as Extract<Encoding, { batch: true }>
    let request: OutgoingRequest
    try {
      request = encoding.assemble(pieces, records ?? [], this.#target)
      if (target !== undefined) request = toTarget(request, target)
      if (this.#keys !== undefined) request = withIdempotencyKey(this.#keys, request, () => records ?? encoding.decode!(request))
    } catch (err) {
      this.#giveUp(this.#newJob(records ?? pieces, count, undefined, tags), err)
      return
    }
    this.#queue.push(this.#newJob(records, count, request, tags))
  }

  /** One attempt of a job; calls `done` once its outcome is handled. */
  attempt (job: Job, done: (err: Error | null) => void): void {
    if (this.#stopped) return done(null)
    if (this.#ready !== undefined) {
      this.#ready.then(() => this.attempt(job, done), () => this.attempt(job, done))
      return
    }
    if (this.#limiter !== undefined) this.#limiter.schedule(job.count, bodyBytes(job.request!.body), () => this.#send(job, done))
    else this.#send(job, done)
  }

  /** Sends one attempt now (the rate limiter, if any, has let it go). */
  #send (job: Job, done: (err: Error | null) => void): void {
    if (this.#stopped) return done(null)
    job.attempts++
    const request = this.#encoding.route?.(job.request!, job.attempts) ?? job.request!
    this.#inFlight += job.count
    const started = this.meter.sent(job, request)
    this.#transport.send(request, this.#sendOptions).then(
      (response) => this.#outcome(job, request, response, undefined, done, started),
      (err: unknown) => this.#outcome(job, request, undefined, err instanceof Error ? err : new Error(String(err)), done, started)
    )
  }

  #outcome (job: Job, request: OutgoingRequest, response: TransportResponse | undefined, error: Error | undefined, done: (err: Error | null) => void, started: number): void {
    this.#inFlight -= job.count
    this.meter.answered(job, request, response, error, started)
    try {
      if (this.#stopped || !this.#jobs.has(job)) return
      job.request = request
      const verdict = this.#judge(response, error)
      this.#encoding.report?.(request.origin, verdict === 'success')
      if (verdict === 'success') {
        if (this.#items === undefined) return this.settle(job, 'delivered', response)
        return this.#settleItems(job, response!)
      }
      if (response !== undefined && job.count > 1 && this.#splits?.(response.status, verdict === 'fail') === true) return this.#bisect(job, response)
      job.status = response?.status ?? null
      const cause = response !== undefined ? new UnexpectedStatusError(response.status, snippet(response.body)) : error
      // An answer's error reads "unexpected status 503: …", without its code.
      this.#noteError(job, cause, cause instanceof UnexpectedStatusError ? cause.message : describeError(error))
      if (verdict === 'retry' && job.attempts <= this.options.retries) this.#retryLater(job, response)
      else this.#giveUp(job, undefined)
    } catch (err) {
      this.emit('error', err)
    } finally {
      done(null)
    }
  }

  #judge (response: TransportResponse | undefined, error: Error | undefined): Verdict {
    if (response === undefined) return this.options.shouldRetry({ error }) ? 'retry' : 'fail'
    const judged = this.#encoding.judge?.(response)
    if (judged !== undefined) return judged
    if (this.options.isSuccess(response)) return 'success'
    return this.options.shouldRetry({ response }) ? 'retry' : 'fail'
  }

  /**
   * A 2xx answer with per-item results: the ok records are delivered, the 'retry' ones go again
   * as one smaller request, each 'fail' one goes to failover with its own item error. An answer
   * that cannot be read fails the whole job with that error.
   */
  #settleItems (job: Job, response: TransportResponse): void {
    let problems: ItemProblem[]
    try {
      problems = this.#items!(response, job.count, () => this.recordsOf(job))
    } catch (err) {
      job.status = response.status
      return this.#giveUp(job, err)
    }
    if (problems.length === 0) return this.settle(job, 'delivered', response)
    const records = this.recordsOf(job)
    const bad = new Set<number>()
    const retry: number[] = []
    for (const p of problems) {
      bad.add(p.index)
      if (p.verdict === 'retry') retry.push(p.index)
    }
    this.#jobs.delete(job)
    const ok: number[] = []
    for (let i = 0; i < records.length; i++) if (!bad.has(i)) ok.push(i)
    if (ok.length > 0) this.settle(this.#child(job, records, ok, false), 'delivered', response)
    for (const p of problems) {
      if (p.verdict !== 'fail') continue
      // Rebuilt with keys on, so its envelope carries the key of a request of this record alone.
      const failed = this.#child(job, records, [p.index], this.#keysOf(job) !== undefined)
      failed.status = p.status ?? response.status
      this.#noteError(failed, new ItemRejectedError(failed.status, p.error), p.error)
      this.#giveUp(failed, undefined)
    }
    if (retry.length === 0) return
    const again = this.#child(job, records, retry, true)
    if (again.request === undefined) return this.#giveUp(again, again.cause)
    const first = problems.find((p) => p.verdict === 'retry')!
    again.status = first.status ?? response.status
    this.#noteError(again, new ItemRejectedError(again.status, first.error), retry.length > 1 ? `${first.error} (and ${retry.length - 1} more)` : first.error)
    if (again.attempts <= this.options.retries) this.#retryLater(again, response)
    else this.#giveUp(again, undefined)
  }

  /** A batch rejected as a whole (4xx, 413): each half goes again at once; a 413 also shrinks the next batches. */
  #bisect (job: Job, response: TransportResponse): void {
    if (response.status === 413) this.#batcher?.shrink(job.count, SHRINK_AFTER_413_MS)
    const records = this.recordsOf(job)
    this.#jobs.delete(job)
    const indices = records.map((_, i) => i)
    for (const half of halves(indices)) {
      const part = this.#child(job, records, half, true)
      part.attempts = 0
      if (part.request === undefined) this.#giveUp(part, part.cause)
      else this.#queue.push(part)
    }
  }

  /**
   * A job of some of `parent`'s records, in its epoch (they were counted there), with its attempts.
   * `rebuild`: a new request with the same encoding (on failure, `request` is undefined and `cause` says why).
   */
  #child (parent: Job, records: unknown[], indices: number[], rebuild: boolean): Job {
    const mine = indices.map((i) => records[i])
    const tags = parent.tags === undefined ? undefined : indices.map((i) => parent.tags![i])
    const job: Job = { records: mine, count: mine.length, request: parent.request, attempts: parent.attempts, status: null, error: null, firstError: null, cause: undefined, epoch: parent.epoch, tags }
    this.#jobs.add(job)
    if (rebuild) {
      try {
        job.request = this.#encoding.batch ? this.#assemble(mine) : parent.request
        // A templated target: the parts go where the whole went.
        if (this.#targets !== undefined && parent.request !== undefined) job.request = { ...job.request!, origin: parent.request.origin, path: parent.request.path, headers: parent.request.headers }
        // Its own key, from its own records: the same records always give the same key.
        const keys = this.#keysOf(parent)
        if (keys !== undefined) job.request = withIdempotencyKey(keys, job.request!, () => mine)
      } catch (err) {
        job.request = undefined
        job.cause = err instanceof Error ? err : new Error(String(err))
      }
    }
    return job
  }

  /** The keys a job's request was built with: `idempotencyKey`'s, or a pushGroup's; undefined when it has none. */
  #keysOf (job: Job): IdempotencyKeys | undefined {
    if (this.#keys !== undefined) return this.#keys
    const group = this.#groupKeys
    return group !== undefined && idempotencyKeyOf(group, job.request) !== undefined ? group : undefined
  }

  #retryLater (job: Job, response: TransportResponse | undefined): void {
    const retryAfter = response === undefined ? undefined : parseRetryAfter(response.headers['retry-after'])
    const delay = retryDelay(job.attempts, this.options.backoff, retryAfter)
    this.#retried += job.count
    this.meter.retrying(job, delay)
    if (this.listenerCount('retry') > 0) this.emit('retry', { records: this.recordsOf(job), attempt: job.attempts + 1, delay, status: job.status, error: job.error } satisfies RetryEvent)
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#queue.push(job)
    }, delay)
    this.#timers.add(timer)
  }

  #giveUp (job: Job, err: unknown): void {
    if (err !== undefined) this.#noteError(job, err instanceof Error ? err : new Error(String(err)), describeError(err))
    // Stopped (stop() is sending out what the batcher held): the job is in what stop() returns.
    if (this.#stopped) return
    this.meter.gaveUp(job)
    this.#failures.fail(job, this.envelopes(job))
  }

  #noteError (job: Job, cause: Error | undefined, error: string): void {
    job.cause = cause
    job.error = error
    job.firstError ??= error
  }

  /** Resolves closed epochs from the oldest, in order, while nothing of theirs is pending. */
  #releaseEpochs (): void {
    while (this.#epochs.length > 1) {
      const oldest = this.#epochs[0]!
      if (!oldest.closed || oldest.pending > 0) return
      this.#epochs.shift()
      for (const resolve of oldest.waiters) resolve()
    }
  }
}

function attemptWorker (this: DeliveryEngine, job: Job, done: (err: Error | null) => void): void {
  this.attempt(job, done)
}

/** Longest `error` an envelope gets. */
const MAX_ENVELOPE_ERROR = 1000

/**
 * The envelope's `error`: the last error, and ` (first: …)` when the first attempt failed otherwise
 * (ENOTFOUND, then timeouts), at most MAX_ENVELOPE_ERROR characters (the first error is cut first).
 */
export function envelopeError (first: string | null, last: string | null): string | null {
  if (last === null || first === null || first === last) return bounded(last ?? first, MAX_ENVELOPE_ERROR)
  const lastPart = bounded(last, MAX_ENVELOPE_ERROR - 40)
  return `${lastPart} (first: ${bounded(first, MAX_ENVELOPE_ERROR - lastPart.length - 10)})`
}

/** `text` on one line, cut to `max` characters. */
function bounded<T extends string | null> (text: T, max: number): T {
  if (text === null) return text
  const line = text.includes('\n') ? text.replace(/\s*\n\s*/g, ' ') : text
  return (line.length <= max ? line : `${line.slice(0, max - 3)}...`) as T
}

function snippet (body: string): string {
  const text = body.replace(/\s+/g, ' ').trim()
  return text.length > 200 ? `${text.slice(0, 197)}...` : text
}
