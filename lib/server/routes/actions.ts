import { randomUUID } from 'node:crypto'
import { requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import { withIdempotency } from '../dedup.js'
import { HttpProblem, methodNotAllowed } from '../http-problem.js'
import { mediaType, readBody, sendJson } from '../http-io.js'
import { isJsonObject, parseGuardedJson } from '../json-guard.js'
import { checkName, ownValue } from '../names.js'
import { valueRecords } from './produce-body.js'
import { recordValue, type ConsumedRecord } from '../receivers/receiver.js'
import { deliveryOf, fetchRows, rememberDelivery } from './actions-delivery.js'

/**
 * spark-http-stream's five actions as JSON POSTs to `/actions`: `{ "action": "actionSendStream", … }`.
 * Answers carry the keys spark-http-stream's HttpStreamClient reads (`rowsCount`, `subscriberId`,
 * `topic`, `schema`, `rows`) with ours beside them. Rows come back as RowEx (`row`, `batchId`,
 * `offsetInBatch`, `timestamp`) plus their topic `offset`, unique across packets. A fetch returns
 * the rows not returned before (the original's behaviour), or, for a subscriber made with
 * `"delivery": "at-least-once"`, the rows not yet acknowledged (see actions-delivery).
 * The original speaks Kryo-serialised Scala maps (Content-Type application/octet-stream); ours
 * speaks JSON over the same actions and answers such a body 415.
 */
export const actionRoutes: Route = async (ctx, ex) => {
  if (ex.segments.length !== 1) throw new HttpProblem(404, 404, 'HTTP 404 Not Found')
  if (ex.req.method !== 'POST') throw methodNotAllowed(['POST'])
  const type = mediaType(ex.req.headers['content-type'])
  if (SERIALISED.has(type)) {
    throw new HttpProblem(415, 415, `HTTP 415 Unsupported Media Type: /actions takes JSON (application/json), not ${JSON.stringify(type)}; spark-http-stream's Kryo-serialised maps are not supported`)
  }
  const raw = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
  const body = parseGuardedJson(raw.toString('utf8'), ctx.limits)
  if (!isJsonObject(body) || typeof body.action !== 'string') throw new HttpProblem(422, 422, 'body must be { "action": "action…", … }')
  const handler = ownValue(ACTIONS, body.action)
  if (handler === undefined) {
    throw new HttpProblem(400, 40010, `unknown action ${JSON.stringify(body.action.slice(0, 64))} (known: ${Object.keys(ACTIONS).join(', ')})`)
  }
  // actionSendStream writes rows: with an Idempotency-Key it is applied at most once (dedup.ts).
  if (body.action === 'actionSendStream') return await withIdempotency(ctx, ex, raw, async (ex) => sendJson(ex.res, 200, await handler(ctx, ex, body)))
  sendJson(ex.res, 200, await handler(ctx, ex, body))
}

/** What spark-http-stream's HttpStreamClient sends (Kryo bytes as application/octet-stream), and Kryo's own type. */
const SERIALISED = new Set(['application/octet-stream', 'application/x-kryo', 'application/x-java-serialized-object'])

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
    const batchId = batchIdOf(body.batchId)
    const records = valueRecords(body.rows, (i): Record<string, string> => batchId === undefined ? { offsetInBatch: String(i) } : { batchId: String(batchId), offsetInBatch: String(i) })
    const offsets = await ctx.receiver.produce(topic, records)
    let bytes = 0
    for (const r of records) bytes += r.bytes
    ctx.metrics.produced(topic, records.length, bytes)
    return { rowsCount: offsets.length, topic, count: offsets.length, batchId: batchId ?? null, firstOffset: offsets[0]?.offset ?? null, lastOffset: offsets[offsets.length - 1]?.offset ?? null }
  },

  async actionSubscribe (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const topics = Array.isArray(body.topics) ? body.topics.map(topicOf) : [topicOf(body.topic)]
    const name = `subscriber-${randomUUID()}`
    const group = body.groupId === undefined ? name : checkName(String(body.groupId), 'group')
    const from = body.from ?? 'latest'
    const delivery = deliveryOf(body.delivery)
    if (from !== 'earliest' && from !== 'latest') throw new HttpProblem(422, 422, '"from" must be "earliest" or "latest"')
    const consumer = await ctx.receiver.createConsumer?.({ group, name, autoOffsetReset: from, autoCommit: false, ephemeral: body.groupId === undefined })
    if (consumer === undefined) throw new HttpProblem(501, 501, 'no consumers')
    try {
      await consumer.subscribe(topics)
    } catch (err) {
      await consumer.close()
      throw err
    }
    rememberDelivery(ctx.instances.add(group, name, consumer), delivery)
    const schema = topics.length === 1 && ctx.receiver.operations.has('schema') ? (await ctx.receiver.getSchema?.(topics[0] as string)) ?? null : null
    return { subscriberId: `${group}:${name}`, topic: topics[0], schema, topics, delivery }
  },

  async actionFetchStream (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const [group, name] = subscriber(body.subscriberId)
    const maxBytes = Math.min(ctx.limits.maxFetchBytes, positiveOr(body.maxBytes, ctx.limits.maxFetchBytes))
    const timeoutMs = Math.min(ctx.limits.maxPollTimeoutMs, positiveOr(body.timeout, 0))
    const rows = await ctx.instances.use(group, name, async (instance) => await fetchRows(ctx, instance, { ack: body.ack, maxBytes, timeoutMs }))
    return { subscriberId: body.subscriberId, rows: rows.map(rowEx), rowsCount: rows.length }
  },

  async actionUnsubscribe (ctx, _ex, body) {
    requireOperation(ctx.receiver, 'consume')
    const [group, name] = subscriber(body.subscriberId)
    await ctx.instances.remove(group, name)
    return { subscriberId: body.subscriberId, unsubscribed: true }
  }
}

function rowEx (r: ConsumedRecord): Record<string, unknown> {
  const batchId = r.headers?.batchId
  const inBatch = r.headers?.offsetInBatch
  return {
    topic: r.topic,
    offset: r.offset,
    batchId: batchId === undefined ? null : INTEGER.test(batchId) && Number.isSafeInteger(Number(batchId)) ? Number(batchId) : batchId,
    offsetInBatch: inBatch === undefined ? null : Number(inBatch),
    timestamp: r.timestamp,
    row: recordValue(r)
  }
}

const INTEGER = /^-?(0|[1-9]\d{0,15})$/

/** spark-http-stream's batchId is a Long: kept as the number it was sent as (a string is kept as a string). */
function batchIdOf (value: unknown): number | string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value
  if (typeof value === 'string' && value.length <= 64) return value
  throw new HttpProblem(422, 422, '"batchId" must be an integer (or a string of at most 64 characters)')
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
