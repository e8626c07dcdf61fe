import { requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import { HttpProblem, methodNotAllowed, notFound } from '../http-problem.js'
import { sendJson } from '../http-io.js'
import { checkName } from '../names.js'
import type { ClusterInfo, Receiver, TopicInfo } from '../receivers/receiver.js'
import { UnsupportedOperationError } from '../receivers/receiver-errors.js'
import { checkV3Accept } from './kafka-rest-media.js'
import { produceV3 } from './kafka-rest-v3-produce.js'

const JSON_TYPE = 'application/json'

/** Cluster ids do not change: each receiver's is asked once, for produce's check. */
const knownIds = new WeakMap<Receiver, string>()

/**
 * `/v3/clusters…` of the Kafka REST v3 API, as Confluent's `resources/v3/ClustersResource`,
 * `TopicsResource` and `ProduceAction` answer it (entities `v3/ClusterData`, `TopicData`,
 * `ProduceResponse`): the cluster list and one cluster, its topics and one topic, and produce
 * (`kafka-rest-v3-produce`). The cluster is the receiver's (`describeCluster`: the memory receiver's
 * id is `memory`, the Kafka receiver's is Kafka's own). A wrong cluster id is 404 / 404 ("Cluster X
 * cannot be found.", `controllers/Entities.checkEntityExists`), produce included (Confluent checks it
 * only in Confluent Cloud). Other v3 resources (ACLs, configs, groups, …) are 404.
 */
export const v3Routes: Route = async (ctx, ex) => {
  const s = ex.segments
  if (s[1] !== 'clusters' || s.length > 6) throw notFound()
  const method = ex.req.method ?? 'GET'
  const base = `${ctx.baseUrl(ex.req)}/v3/clusters`
  if (s.length === 2) {
    onlyGet(method, ex)
    const cluster = await clusterOf(ctx)
    sendJson(ex.res, 200, { kind: 'KafkaClusterList', metadata: { self: base, next: null }, data: [clusterData(base, cluster)] }, JSON_TYPE)
    return
  }
  const clusterId = s[2] as string
  if (s.length === 3) {
    onlyGet(method, ex)
    sendJson(ex.res, 200, clusterData(base, await requireCluster(ctx, clusterId, 'HTTP 404 Not Found')), JSON_TYPE)
    return
  }
  if (s[3] !== 'topics') throw notFound()
  if (s.length === 4) {
    onlyGet(method, ex)
    await requireCluster(ctx, clusterId)
    const names = [...await ctx.receiver.listTopics?.() ?? []].sort()
    const topics = (await Promise.all(names.map(async (n) => await ctx.receiver.describeTopic?.(n)))).filter((t): t is TopicInfo => t !== null && t !== undefined)
    sendJson(ex.res, 200, { kind: 'KafkaTopicList', metadata: { self: `${base}/${clusterId}/topics`, next: null }, data: topics.map((t) => topicData(base, clusterId, t)) }, JSON_TYPE)
    return
  }
  const topic = checkName(s[4] as string, 'topic')
  if (s.length === 5) {
    onlyGet(method, ex)
    await requireCluster(ctx, clusterId)
    const info = await ctx.receiver.describeTopic?.(topic)
    // Kafka's UnknownTopicOrPartitionException, as rest-utils' KafkaExceptionMapper answers it.
    if (info === null || info === undefined) throw new HttpProblem(404, 40403, 'This server does not host this topic-partition.')
    sendJson(ex.res, 200, topicData(base, clusterId, info), JSON_TYPE)
    return
  }
  if (s[5] !== 'records') throw notFound()
  if (method !== 'POST') throw methodNotAllowed(['POST'])
  if (knownIds.get(ctx.receiver) !== clusterId) await requireCluster(ctx, clusterId)
  await produceV3(ctx, ex, clusterId, topic)
}

function onlyGet (method: string, ex: Exchange): void {
  if (method !== 'GET') throw methodNotAllowed(['GET'])
  checkV3Accept(ex.req.headers.accept)
}

async function clusterOf (ctx: RouteContext): Promise<ClusterInfo> {
  requireOperation(ctx.receiver, 'topics')
  const cluster = await ctx.receiver.describeCluster?.()
  if (cluster === undefined) throw new UnsupportedOperationError(ctx.receiver.kind, 'topics')
  knownIds.set(ctx.receiver, cluster.clusterId)
  return cluster
}

async function requireCluster (ctx: RouteContext, clusterId: string, message = `Cluster ${clusterId} cannot be found.`): Promise<ClusterInfo> {
  const cluster = await clusterOf(ctx)
  if (cluster.clusterId !== clusterId) throw new HttpProblem(404, 404, message)
  return cluster
}

function related (url: string): { related: string } {
  return { related: url }
}

/** `entities/v3/ClusterData`, links as `ClustersResource.toClusterData` makes them (CRN authority empty). */
function clusterData (base: string, c: ClusterInfo): object {
  const self = `${base}/${c.clusterId}`
  return {
    kind: 'KafkaCluster',
    metadata: { self, resource_name: `crn:///kafka=${c.clusterId}` },
    cluster_id: c.clusterId,
    ...(c.controller === null ? {} : { controller: related(`${self}/brokers/${c.controller}`) }),
    acls: related(`${self}/acls`),
    brokers: related(`${self}/brokers`),
    broker_configs: related(`${self}/broker-configs`),
    consumer_groups: related(`${self}/consumer-groups`),
    topics: related(`${self}/topics`),
    partition_reassignments: related(`${self}/topics/-/partitions/-/reassignment`)
  }
}

/** `entities/v3/TopicData`, as `TopicsResource.toTopicData` makes it (replication factor: partition 0's replicas). */
function topicData (base: string, clusterId: string, t: TopicInfo): object {
  const self = `${base}/${clusterId}/topics/${t.name}`
  return {
    kind: 'KafkaTopic',
    metadata: { self, resource_name: `crn:///kafka=${clusterId}/topic=${t.name}` },
    cluster_id: clusterId,
    topic_name: t.name,
    is_internal: t.name.startsWith('__'),
    replication_factor: t.partitions[0]?.replicas.length ?? 0,
    partitions_count: t.partitions.length,
    partitions: related(`${self}/partitions`),
    configs: related(`${self}/configs`),
    partition_reassignments: related(`${self}/partitions/-/reassignment`),
    authorized_operations: []
  }
}
