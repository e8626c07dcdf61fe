import { readJson, requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import { HttpProblem, methodNotAllowed, notFound } from '../http-problem.js'
import { sendJson } from '../http-io.js'
import { checkName } from '../names.js'
import { TopicNotFoundError } from '../receivers/receiver-errors.js'
import { checkAccept, V2 } from './kafka-rest-media.js'
import { partitionRoutes } from './kafka-rest-partitions.js'
import { produce } from './kafka-rest-produce.js'

export { NDJSON, V2, V2_BINARY, V2_JSON } from './kafka-rest-media.js'

/**
 * `/topics…` of the Kafka REST Proxy v2 API: list, describe, produce (json and binary embedded
 * formats, plus an NDJSON bulk extension), partitions (`kafka-rest-partitions`), and our
 * `/topics/{t}/schema` (JSON Schema per topic).
 */
export const topicRoutes: Route = async (ctx, ex) => {
  const { segments, req } = ex
  const method = req.method ?? 'GET'
  if (segments.length === 1) {
    if (method !== 'GET') throw methodNotAllowed(['GET'])
    checkAccept(ex.req.headers.accept)
    requireOperation(ctx.receiver, 'topics')
    sendJson(ex.res, 200, await ctx.receiver.listTopics?.() ?? [], V2)
    return
  }
  const topic = checkName(segments[1] as string, 'topic')
  if (segments.length === 2) {
    if (method === 'POST') return await produce(ctx, ex, topic)
    if (method !== 'GET') throw methodNotAllowed(['GET', 'POST'])
    checkAccept(ex.req.headers.accept)
    requireOperation(ctx.receiver, 'topics')
    const info = await ctx.receiver.describeTopic?.(topic)
    if (info === null || info === undefined) throw new TopicNotFoundError(topic)
    sendJson(ex.res, 200, info, V2)
    return
  }
  if (segments.length === 3 && segments[2] === 'schema') return await schema(ctx, ex, topic, method)
  if (segments[2] === 'partitions' && segments.length <= 5) return await partitionRoutes(ctx, ex, topic)
  throw notFound()
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
