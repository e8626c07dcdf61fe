import { requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import { HttpProblem, methodNotAllowed, notFound } from '../http-problem.js'
import { sendJson } from '../http-io.js'
import type { PartitionInfo } from '../receivers/receiver.js'
import { PartitionNotFoundError, TopicNotFoundError, UnsupportedOperationError } from '../receivers/receiver-errors.js'
import { checkAccept, V2 } from './kafka-rest-media.js'
import { produce } from './kafka-rest-produce.js'

/**
 * `/topics/{t}/partitions…` and `/brokers` of the Kafka REST Proxy v2 API, shaped as Confluent's
 * entities (`entities/v2/GetPartitionResponse`, `TopicPartitionOffsetResponse`, `BrokerList`;
 * resources `v2/PartitionsResource`, `v2/ProduceToPartitionAction`, `v2/BrokersResource`).
 */
export async function partitionRoutes (ctx: RouteContext, ex: Exchange, topic: string): Promise<void> {
  const { segments } = ex
  const method = ex.req.method ?? 'GET'
  if (segments.length === 3) {
    if (method !== 'GET') throw methodNotAllowed(['GET'])
    checkAccept(ex.req.headers.accept)
    sendJson(ex.res, 200, await partitionsOf(ctx, topic), V2)
    return
  }
  const partition = partitionId(segments[3] as string)
  if (segments.length === 4) {
    if (method === 'POST') return await produce(ctx, ex, topic, partition)
    if (method !== 'GET') throw methodNotAllowed(['GET', 'POST'])
    checkAccept(ex.req.headers.accept)
    const found = (await partitionsOf(ctx, topic)).find(p => p.partition === partition)
    if (found === undefined) throw new PartitionNotFoundError(topic, partition)
    sendJson(ex.res, 200, found, V2)
    return
  }
  if (segments.length === 5 && segments[4] === 'offsets') {
    if (method !== 'GET') throw methodNotAllowed(['GET'])
    checkAccept(ex.req.headers.accept)
    requireOperation(ctx.receiver, 'topics')
    const offsets = await ctx.receiver.partitionOffsets?.(topic, partition)
    if (offsets === undefined) throw new UnsupportedOperationError(ctx.receiver.kind, 'topics')
    if (offsets === null) throw new PartitionNotFoundError(topic, partition)
    sendJson(ex.res, 200, { beginning_offset: offsets.beginning, end_offset: offsets.end }, V2)
    return
  }
  throw notFound()
}

/** `GET /brokers`: `{ "brokers": [ids] }`. */
export const brokerRoutes: Route = async (ctx, ex) => {
  if (ex.segments.length !== 1) throw notFound()
  if ((ex.req.method ?? 'GET') !== 'GET') throw methodNotAllowed(['GET'])
  checkAccept(ex.req.headers.accept)
  requireOperation(ctx.receiver, 'topics')
  const cluster = await ctx.receiver.describeCluster?.()
  if (cluster === undefined) throw new UnsupportedOperationError(ctx.receiver.kind, 'topics')
  sendJson(ex.res, 200, { brokers: cluster.brokers.map(b => b.id) }, V2)
}

async function partitionsOf (ctx: RouteContext, topic: string): Promise<PartitionInfo[]> {
  requireOperation(ctx.receiver, 'topics')
  const info = await ctx.receiver.describeTopic?.(topic)
  if (info === null || info === undefined) throw new TopicNotFoundError(topic)
  return info.partitions
}

/** A partition path segment: a non-negative integer (Confluent's `@PathParam int`: 404 otherwise). */
function partitionId (segment: string): number {
  if (!/^\d{1,9}$/.test(segment)) throw new HttpProblem(404, 404, `HTTP 404 Not Found: partition ${JSON.stringify(segment)} is not a partition id`)
  return Number(segment)
}
