import { randomUUID } from 'node:crypto'
import { readJson, requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import type { ConsumerInstance } from '../consumer-instances.js'
import { HttpProblem, methodNotAllowed } from '../http-problem.js'
import { sendJson } from '../http-io.js'
import { isJsonObject } from '../json-guard.js'
import { checkName, ownValue } from '../names.js'
import { valueRecords } from './produce-body.js'
import { recordValue, type ConsumedRecord } from '../receivers/receiver.js'

/**
 * spark-http-stream's five actions as JSON POSTs to `/actions`: `{ "action": "actionSendStream", … }`.
 * Rows come back as RowEx (`row`, `batchId`, `offsetInBatch`, `timestamp`) plus their topic
 * `offset`, unique across packets. Fetching is acknowledged, not destructive: rows stay pending
 * and are fetched again until `ack` names their offset.
 */
export const actionRoutes: Route = async (ctx, ex) => {
  if (ex.segments.length !== 1) throw new HttpProblem(404, 404, 'HTTP 404 Not Found')
  if (ex.req.method !== 'POST') throw methodNotAllowed(['POST'])
  const body = await readJson(ctx, ex)
  if (!isJsonObject(body) || typeof body.action !== 'string') throw new HttpProblem(422, 422, 'body must be { "action": "action…", … }')
  const handler = ownValue(ACTIONS, body.action)
  if (handler === undefined) {
    throw new HttpProblem(400, 40010, `unknown action ${JSON.stringify(body.action.slice(0, 64))} (known: ${Object.keys(ACTIONS).join(', ')})`)
  }
  sendJson(ex.res, 200, await handler(ctx, ex, body))
}

type Action = (ctx: RouteContext, ex: Exchange, body: Record<string, unknown>) => Promise<unknown>

const ACTIONS: Record<string, Action> = {
  async actionFetchSchema (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'schema')
    const topic = topicOf(body.topic)
    return { topic, schema: (await ctx.receiver.getSchema?.(topic)) ?? null }
  },

  async actionSendStream (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'produce')
    const topic = topicOf(body.topic)
    if (!Array.isArray(body.rows)) throw new HttpProblem(422, 422, '"rows" must be an array')
    const batchId = body.batchId === undefined ? undefined : String(body.batchId)
    const records = valueRecords(body.rows, (i): Record<string, string> => batchId === undefined ? { offsetInBatch: String(i) } : { batchId, offsetInBatch: String(i) })
    const offsets = await ctx.receiver.produce(topic, records)
    let bytes = 0
    for (const r of records) bytes += r.bytes
    ctx.metrics.produced(topic, records.length, bytes)
    return { topic, count: offsets.length, batchId: batchId ?? null, firstOffset: offsets[0]?.offset ?? null, lastOffset: offsets[offsets.length - 1]?.offset ?? null }
  },

  async actionSubscribe (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const topics = Array.isArray(body.topics) ? body.topics.map(topicOf) : [topicOf(body.topic)]
    const name = `subscriber-${randomUUID()}`
    const group = body.groupId === undefined ? name : checkName(String(body.groupId), 'group')
    const from = body.from ?? 'latest'
    if (from !== 'earliest' && from !== 'latest') throw new HttpProblem(422, 422, '"from" must be "earliest" or "latest"')
    const consumer = await ctx.receiver.createConsumer?.({ group, name, autoOffsetReset: from, autoCommit: false, ephemeral: body.groupId === undefined })
    if (consumer === undefined) throw new HttpProblem(501, 501, 'no consumers')
    try {
      await consumer.subscribe(topics)
    } catch (err) {
      await consumer.close()
      throw err
    }
    ctx.instances.add(group, name, consumer)
    return { subscriberId: `${group}:${name}`, topics }
  },

  async actionFetchStream (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const [group, name] = subscriber(body.subscriberId)
    return await ctx.instances.use(group, name, async (instance) => {
      await acknowledge(instance, body.ack)
      const pending = instance.pending ??= []
      const maxBytes = Math.min(ctx.limits.maxFetchBytes, positiveOr(body.maxBytes, ctx.limits.maxFetchBytes))
      let bytes = pending.reduce((n, r) => n + r.bytes, 0)
      if (bytes < maxBytes) {
        const timeoutMs = pending.length > 0 ? 0 : Math.min(ctx.limits.maxPollTimeoutMs, positiveOr(body.timeout, 0))
        const fresh = await instance.consumer.poll({ timeoutMs, maxBytes: maxBytes - bytes, signal: ctx.closing })
        for (const r of fresh) {
          pending.push(r)
          bytes += r.bytes
          ctx.metrics.consumed(r.topic, 1, r.bytes)
        }
      }
      return { subscriberId: body.subscriberId, rows: pending.map(rowEx) }
    })
  },

  async actionUnsubscribe (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const [group, name] = subscriber(body.subscriberId)
    await ctx.instances.remove(group, name)
    return { subscriberId: body.subscriberId, unsubscribed: true }
  }
}

/** Drops pending rows up to the acknowledged offsets and commits after them. */
async function acknowledge (instance: ConsumerInstance, ack: unknown): Promise<void> {
  if (ack === undefined || ack === null) return
  const pending = instance.pending ?? []
  const upTo = new Map<string, number>()
  if (typeof ack === 'number') {
    for (const topic of instance.consumer.subscription()) upTo.set(topic, ack)
  } else if (isJsonObject(ack)) {
    for (const [topic, offset] of Object.entries(ack)) upTo.set(topicOf(topic), Number(offset))
  }
  for (const [topic, offset] of upTo) {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new HttpProblem(422, 42202, `ack for ${topic} must be an offset >= 0`)
  }
  if (upTo.size === 0) throw new HttpProblem(422, 42202, '"ack" must be an offset or { topic: offset }')
  instance.pending = pending.filter(r => !(r.offset <= (upTo.get(r.topic) ?? -1)))
  await instance.consumer.commit([...upTo].map(([topic, offset]) => ({ topic, partition: 0, offset: offset + 1 })))
}

function rowEx (r: ConsumedRecord): Record<string, unknown> {
  const batchId = r.headers?.batchId
  const inBatch = r.headers?.offsetInBatch
  return {
    topic: r.topic,
    offset: r.offset,
    batchId: batchId === undefined ? null : batchId,
    offsetInBatch: inBatch === undefined ? null : Number(inBatch),
    timestamp: r.timestamp,
    row: recordValue(r)
  }
}

function topicOf (value: unknown): string {
  if (typeof value !== 'string') throw new HttpProblem(422, 422, '"topic" must be a string')
  return checkName(value, 'topic')
}

function subscriber (id: unknown): [string, string] {
  const parts = typeof id === 'string' ? id.split(':') : []
  if (parts.length !== 2) throw new HttpProblem(422, 422, '"subscriberId" must be what actionSubscribe returned')
  return [checkName(parts[0] as string, 'group'), checkName(parts[1] as string, 'instance')]
}

function positiveOr (value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : fallback
}
