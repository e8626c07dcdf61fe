import { readJson, requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import { HttpProblem, methodNotAllowed, notFound } from '../http-problem.js'
import { mediaType, readBody, sendJson } from '../http-io.js'
import { parseGuardedJson } from '../json-guard.js'
import { checkName } from '../names.js'
import { kafkaRestRecords, ndjsonRecords } from './produce-body.js'
import type { ProduceRecord } from '../receivers/receiver.js'
import { TopicNotFoundError } from '../receivers/receiver-errors.js'

/** Kafka REST Proxy v2 content types (JSON embedded format only). */
export const V2 = 'application/vnd.kafka.v2+json'
export const V2_JSON = 'application/vnd.kafka.json.v2+json'
export const NDJSON = 'application/x-ndjson'

/**
 * `/topics…` of the Kafka REST Proxy v2 API: list, describe, produce (JSON embedded format, plus an
 * NDJSON bulk extension), and our `/topics/{t}/schema` (JSON Schema per topic).
 */
export const topicRoutes: Route = async (ctx, ex) => {
  const { segments, req } = ex
  const method = req.method ?? 'GET'
  if (segments.length === 1) {
    if (method !== 'GET') throw methodNotAllowed(['GET'])
    requireOperation(ctx.receiver, 'topics')
    sendJson(ex.res, 200, await ctx.receiver.listTopics?.() ?? [], V2)
    return
  }
  const topic = checkName(segments[1] as string, 'topic')
  if (segments.length === 2) {
    if (method === 'POST') return await produce(ctx, ex, topic)
    if (method !== 'GET') throw methodNotAllowed(['GET', 'POST'])
    requireOperation(ctx.receiver, 'topics')
    const info = await ctx.receiver.describeTopic?.(topic)
    if (info === null || info === undefined) throw new TopicNotFoundError(topic)
    sendJson(ex.res, 200, info, V2)
    return
  }
  if (segments.length === 3 && segments[2] === 'schema') return await schema(ctx, ex, topic, method)
  throw notFound()
}

async function produce (ctx: RouteContext, ex: Exchange, topic: string): Promise<void> {
  requireOperation(ctx.receiver, 'produce')
  const type = mediaType(ex.req.headers['content-type'])
  const ndjson = type === NDJSON
  if (!ndjson && type !== V2_JSON && type !== 'application/json') {
    throw new HttpProblem(415, 415, `HTTP 415 Unsupported Media Type: produce takes ${V2_JSON} (JSON embedded format) or ${NDJSON}, not ${JSON.stringify(type)}`)
  }
  const body = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
  let records: ProduceRecord[]
  if (ndjson) {
    records = ndjsonRecords(body, ctx.limits)
  } else {
    records = kafkaRestRecords(parseGuardedJson(body.toString('utf8'), ctx.limits), body.length)
  }
  const offsets = await ctx.receiver.produce(topic, records)
  let bytes = 0
  for (const r of records) bytes += r.bytes
  ctx.metrics.produced(topic, records.length, bytes)
  if (ndjson) {
    const first = offsets[0]
    const last = offsets[offsets.length - 1]
    sendJson(ex.res, 200, { count: offsets.length, first_offset: first?.offset ?? null, last_offset: last?.offset ?? null, offsets: compact(offsets) }, V2)
    return
  }
  sendJson(ex.res, 200, {
    key_schema_id: null,
    value_schema_id: null,
    offsets: offsets.map(o => ({ partition: o.partition, offset: o.offset, error_code: null, error: null }))
  }, V2)
}

/** Offsets of a bulk produce as runs per partition: [{ partition, first, last }]. */
function compact (offsets: Array<{ partition: number, offset: number }>): Array<{ partition: number, first: number, last: number }> {
  const runs: Array<{ partition: number, first: number, last: number }> = []
  for (const o of offsets) {
    const run = runs[runs.length - 1]
    if (run !== undefined && run.partition === o.partition && run.last + 1 === o.offset) run.last = o.offset
    else runs.push({ partition: o.partition, first: o.offset, last: o.offset })
  }
  return runs
}

async function schema (ctx: RouteContext, ex: Exchange, topic: string, method: string): Promise<void> {
  requireOperation(ctx.receiver, 'schema')
  if (method === 'GET') {
    const s = await ctx.receiver.getSchema?.(topic)
    if (s === undefined) throw new TopicNotFoundError(topic)
    if (s === null) throw new HttpProblem(404, 40441, `Topic ${topic} has no schema.`)
    sendJson(ex.res, 200, s, 'application/schema+json')
    return
  }
  if (method !== 'PUT') throw methodNotAllowed(['GET', 'PUT'])
  const body = await readJson(ctx, ex)
  await ctx.receiver.setSchema?.(topic, body as object)
  sendJson(ex.res, 204, undefined)
}
