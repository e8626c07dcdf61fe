/**
 * The sink's request counters and latency histogram (`sink.metrics()`), and its diagnostics_channel
 * messages. The delivery engine calls it once when an attempt is sent and once when it is answered
 * (a clock read, a status-class count and a histogram bucket each: nothing per record); retries and
 * give-ups only publish, and only while their channel has a subscriber. Record counts come from the
 * engine's own counters (`stats()`), so the two always agree.
 */
import { describeError } from '../errors.js'
import type { EngineStats, Job } from './job.js'
import type { OutgoingRequest, TransportResponse } from '../transports/transport.js'
import {
  anySubscribers, failoverChannel, pathOnly, requestChannel, responseChannel, retryChannel,
  type SinkFailoverMessage, type SinkRequestMessage, type SinkResponseMessage, type SinkRetryMessage
} from './diagnostics.js'

/** Upper bounds (seconds) of the request duration histogram's buckets; fixed. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'error'
const CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'error']
const ERROR_CLASS = 4

/** `sink.metrics()`: a plain, JSON-able snapshot. */
export interface SinkMetrics {
  records: {
    /** Records written to the sink (as `stats().written`). */
    written: number
    delivered: number
    /** Record retries: a record sent three times counts 2 (as `stats().retried`). */
    retried: number
    failedOver: number
    /** Records in requests on the wire now. */
    inFlight: number
    /** Records written and not yet delivered or stored (buffered, queued, in flight, waiting to retry). */
    inside: number
  }
  requests: {
    /** Attempts sent (retries and split batches included). */
    sent: number
    /** Attempts sent and not yet answered. */
    inFlight: number
    /** Attempts answered, by status class; `error`: no answer (network error, timeout). */
    byClass: Record<StatusClass, number>
  }
  /** Duration of answered attempts, from sending to the answer or the error. */
  requestDurationSeconds: {
    /** Cumulative: `count` attempts took at most `le` seconds (Prometheus' `le`); `+Inf` is `count` below. */
    buckets: Array<{ le: number, count: number }>
    sum: number
    count: number
  }
}

let sinks = 0

export class SinkMeter {
  /** Numbers the meters (one per engine) of the process from 1. */
  readonly sinkId = ++sinks
  #sent = 0
  readonly #classes = [0, 0, 0, 0, 0]
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly #buckets: number[] = new Array<number>(DURATION_BUCKETS.length + 1).fill(0)
  #seconds = 0
  /** The requestId of each job's last attempt: kept only while some channel has a subscriber. */
  readonly #ids = new WeakMap<Job, number>()

  /** An attempt goes out; returns its start time for `answered`. */
  sent (job: Job, request: OutgoingRequest): number {
    const requestId = ++this.#sent
    if (anySubscribers()) {
      this.#ids.set(job, requestId)
      if (requestChannel.hasSubscribers) {
        requestChannel.publish({ sinkId: this.sinkId, requestId, origin: request.origin, path: pathOnly(request.path), method: request.method, attempt: job.attempts, records: job.count } satisfies SinkRequestMessage)
      }
    }
    return performance.now()
  }

  /** The attempt sent at `started` has its answer (`response`) or failed (`error`). */
  answered (job: Job, request: OutgoingRequest, response: TransportResponse | undefined, error: Error | undefined, started: number): void {
    const ms = performance.now() - started
    const seconds = ms / 1000
    let i = 0
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++
    this.#buckets[i]!++
    this.#seconds += seconds
    const status = response?.status
    this.#classes[status === undefined ? ERROR_CLASS : status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3]!++
    if (responseChannel.hasSubscribers) {
      responseChannel.publish({
        sinkId: this.sinkId, requestId: this.#ids.get(job) ?? null, origin: request.origin, path: pathOnly(request.path), method: request.method, attempt: job.attempts, records: job.count,
        status: status ?? null, duration: ms, error: error === undefined ? null : describeError(error)
      } satisfies SinkResponseMessage)
    }
  }

  /** The job will be sent again in `delay` ms. */
  retrying (job: Job, delay: number): void {
    if (!retryChannel.hasSubscribers || job.request === undefined) return
    const request = job.request
    retryChannel.publish({
      sinkId: this.sinkId, requestId: this.#ids.get(job) ?? null, origin: request.origin, path: pathOnly(request.path), method: request.method, attempt: job.attempts + 1, records: job.count,
      status: job.status, delay, error: job.error
    } satisfies SinkRetryMessage)
  }

  /** The engine gave up on the job: it goes to failover. */
  gaveUp (job: Job): void {
    if (!failoverChannel.hasSubscribers) return
    const request = job.request
    failoverChannel.publish({
      sinkId: this.sinkId, requestId: this.#ids.get(job) ?? null, origin: request?.origin ?? null, path: request === undefined ? null : pathOnly(request.path), method: request?.method ?? null,
      attempt: job.attempts, records: job.count, status: job.status, error: job.error
    } satisfies SinkFailoverMessage)
  }

  /** The snapshot, with the record counts of `stats`. */
  snapshot (stats: EngineStats): SinkMetrics {
    let cumulative = 0
    const buckets = DURATION_BUCKETS.map((le, i) => ({ le, count: (cumulative += this.#buckets[i]!) }))
    const count = cumulative + this.#buckets[DURATION_BUCKETS.length]!
    const byClass = Object.fromEntries(CLASSES.map((name, i) => [name, this.#classes[i]!])) as Record<StatusClass, number>
    return {
      records: {
        written: stats.written,
        delivered: stats.delivered,
        retried: stats.retried,
        failedOver: stats.failedOver,
        inFlight: stats.inFlight,
        inside: stats.written - stats.delivered - stats.failedOver
      },
      requests: { sent: this.#sent, inFlight: this.#sent - count, byClass },
      requestDurationSeconds: { buckets, sum: this.#seconds, count }
    }
  }
}
