import type { ConsumerInstance } from '../consumer-instances.js'
import type { RouteContext } from '../context.js'
import { HttpProblem } from '../http-problem.js'
import { isJsonObject } from '../json-guard.js'
import { checkName } from '../names.js'
import type { ConsumedRecord } from '../receivers/receiver.js'
import { InvalidOffsetError } from '../receivers/receiver-errors.js'

/**
 * How an /actions subscriber's fetches deliver rows:
 * - `at-most-once` (the default, as spark-http-stream's MemoryBufferAsReceiver.handleFetchStream):
 *   each fetch returns rows not returned before; the position advances on fetch (and is committed).
 * - `at-least-once` (ours): fetched rows stay pending and come back on every fetch until `ack`
 *   names their offset.
 */
export type Delivery = 'at-most-once' | 'at-least-once'

const DELIVERIES: readonly Delivery[] = ['at-most-once', 'at-least-once']

/** The mode each subscriber chose at actionSubscribe; a subscriber not found here is at-most-once. */
const chosen = new WeakMap<ConsumerInstance, Delivery>()

/** `delivery` of an actionSubscribe body, checked. */
export function deliveryOf (value: unknown): Delivery {
  if (value === undefined || value === null) return 'at-most-once'
  if (typeof value !== 'string' || !(DELIVERIES as readonly string[]).includes(value)) {
    throw new HttpProblem(422, 422, `"delivery" must be ${DELIVERIES.map(d => JSON.stringify(d)).join(' or ')}`)
  }
  return value as Delivery
}

export function rememberDelivery (instance: ConsumerInstance, delivery: Delivery): void {
  if (delivery !== 'at-most-once') chosen.set(instance, delivery)
}

export function deliveryFor (instance: ConsumerInstance): Delivery {
  return chosen.get(instance) ?? 'at-most-once'
}

export interface FetchRequest {
  ack: unknown
  maxBytes: number
  timeoutMs: number
}

/** One actionFetchStream: the rows to answer, by the subscriber's delivery mode. */
export async function fetchRows (ctx: RouteContext, instance: ConsumerInstance, request: FetchRequest): Promise<ConsumedRecord[]> {
  return deliveryFor(instance) === 'at-least-once'
    ? await fetchAcknowledged(ctx, instance, request)
    : await fetchAdvancing(ctx, instance, request)
}

async function fetchAdvancing (ctx: RouteContext, instance: ConsumerInstance, request: FetchRequest): Promise<ConsumedRecord[]> {
  if (request.ack !== undefined && request.ack !== null) {
    throw new HttpProblem(422, 422, '"ack" applies to subscribers made with "delivery": "at-least-once"; this one advances on each fetch')
  }
  const rows = await poll(ctx, instance, request.maxBytes, request.timeoutMs)
  // Rows returned are done with: commit so a grouped subscriber resumes after them and retention frees them.
  if (rows.length > 0) await instance.consumer.commit(null)
  return rows
}

async function fetchAcknowledged (ctx: RouteContext, instance: ConsumerInstance, request: FetchRequest): Promise<ConsumedRecord[]> {
  await acknowledge(instance, request.ack)
  const pending = instance.pending ??= []
  let bytes = 0
  for (const r of pending) bytes += r.bytes
  if (bytes < request.maxBytes) {
    const fresh = await poll(ctx, instance, request.maxBytes - bytes, pending.length > 0 ? 0 : request.timeoutMs)
    for (const r of fresh) pending.push(r)
  }
  return pending
}

async function poll (ctx: RouteContext, instance: ConsumerInstance, maxBytes: number, timeoutMs: number): Promise<ConsumedRecord[]> {
  const fresh = await instance.consumer.poll({ timeoutMs, maxBytes, signal: ctx.closing })
  for (const r of fresh) ctx.metrics.consumed(r.topic, 1, r.bytes)
  return fresh
}

/** Drops pending rows up to the acknowledged offsets and commits after them. */
async function acknowledge (instance: ConsumerInstance, ack: unknown): Promise<void> {
  if (ack === undefined || ack === null) return
  const pending = instance.pending ?? []
  const upTo = new Map<string, number>()
  if (typeof ack === 'number') {
    for (const topic of instance.consumer.subscription()) upTo.set(topic, ack)
  } else if (isJsonObject(ack)) {
    for (const [topic, offset] of Object.entries(ack)) upTo.set(checkName(topic, 'topic'), Number(offset))
  }
  for (const [topic, offset] of upTo) {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(`ack for ${topic} must be an offset >= 0`)
  }
  if (upTo.size === 0) throw new InvalidOffsetError('"ack" must be an offset or { topic: offset }')
  instance.pending = pending.filter(r => !(r.offset <= (upTo.get(r.topic) ?? -1)))
  await instance.consumer.commit([...upTo].map(([topic, offset]) => ({ topic, partition: 0, offset: offset + 1 })))
}
