import { randomUUID } from 'node:crypto'
import { readJson, requireOperation, type Exchange, type Route, type RouteContext } from '../context.js'
import type { ConsumerInstance } from '../consumer-instances.js'
import { HttpProblem, methodNotAllowed, notFound } from '../http-problem.js'
import { sendJson, sendText } from '../http-io.js'
import { isJsonObject } from '../json-guard.js'
import { checkName, ownValue } from '../names.js'
import { recordJson, recordKeyJson, type ConsumedRecord, type EmbeddedFormat, type TopicPartition, type TopicPartitionOffset, type TopicPartitionTimestamp } from '../receivers/receiver.js'
import { recordBinary } from '../receivers/record-bytes.js'
import { checkAccept, checkRecordsAccept, formatType, V2 } from './kafka-rest-media.js'

/**
 * `/consumers…` of the Kafka REST Proxy v2 API: instances, subscription, records, offsets and
 * positions, with the published status codes and `{ error_code, message }` bodies.
 */
export const consumerRoutes: Route = async (ctx, ex) => {
  requireOperation(ctx.receiver, 'consume')
  const { segments } = ex
  const method = ex.req.method ?? 'GET'
  const group = checkName(segments[1] ?? '', 'group')
  if (!(method === 'GET' && segments[segments.length - 1] === 'records')) checkAccept(ex.req.headers.accept, true)
  if (segments.length === 2) {
    if (method !== 'POST') throw methodNotAllowed(['POST'])
    return await createInstance(ctx, ex, group)
  }
  if (segments[2] !== 'instances' || segments.length < 4) throw notFound()
  const name = checkName(segments[3] as string, 'instance')
  const rest = segments.slice(4).join('/')
  if (rest === '') {
    if (method !== 'DELETE') throw methodNotAllowed(['DELETE'])
    await ctx.instances.remove(group, name)
    sendJson(ex.res, 204, undefined)
    return
  }
  const handler = ownValue(INSTANCE_ROUTES, `${method} ${rest}`)
  if (handler === undefined) {
    const allowed = Object.keys(INSTANCE_ROUTES).filter(k => k.endsWith(` ${rest}`)).map(k => k.split(' ')[0] as string)
    throw allowed.length > 0 ? methodNotAllowed(allowed) : notFound()
  }
  await ctx.instances.use(group, name, instance => handler(ctx, ex, instance))
}

type InstanceRoute = (ctx: RouteContext, ex: Exchange, instance: ConsumerInstance) => Promise<void>

const INSTANCE_ROUTES: Record<string, InstanceRoute> = {
  'POST subscription': async (ctx, ex, { consumer }) => {
    const body = await readJson(ctx, ex)
    if (!isJsonObject(body)) throw invalid('body must be an object')
    if (body.topic_pattern !== undefined && body.topics !== undefined) {
      throw new HttpProblem(409, 40903, 'Illegal state: subscription to topics and to a topic pattern are mutually exclusive')
    }
    if (body.topic_pattern !== undefined) {
      // KafkaConsumerState#subscribe: consumer.subscribe(Pattern.compile(topic_pattern)), 204.
      if (consumer.subscribePattern === undefined) throw unsupported(ctx, 'topic_pattern subscriptions')
      await consumer.subscribePattern(topicPattern(body.topic_pattern))
      sendJson(ex.res, 204, undefined)
      return
    }
    if (!Array.isArray(body.topics) || body.topics.some(t => typeof t !== 'string')) throw invalid('"topics" must be an array of topic names')
    await consumer.subscribe((body.topics as string[]).map(t => checkName(t, 'topic')))
    sendJson(ex.res, 204, undefined)
  },
  'GET subscription': async (_ctx, ex, { consumer }) => {
    sendJson(ex.res, 200, { topics: consumer.subscription() }, V2)
  },
  'DELETE subscription': async (_ctx, ex, { consumer }) => {
    await consumer.unsubscribe()
    sendJson(ex.res, 204, undefined)
  },
  // Manual assignment (ConsumersResource#assign): 204; mixed with a subscription, Kafka's 409 / 40903.
  'POST assignments': async (ctx, ex, { consumer }) => {
    const partitions = partitionsOf(await readJson(ctx, ex))
    if (consumer.assign === undefined) throw unsupported(ctx, 'manual partition assignment')
    await consumer.assign(partitions)
    sendJson(ex.res, 204, undefined)
  },
  'GET assignments': async (ctx, ex, { consumer }) => {
    if (consumer.assignment === undefined) throw unsupported(ctx, 'reporting its assignment')
    sendJson(ex.res, 200, { partitions: consumer.assignment() }, V2)
  },
  'GET records': async (ctx, ex, instance) => {
    const format = instance.format ?? 'binary'
    checkRecordsAccept(ex.req.headers.accept, format)
    const q = ex.url.searchParams
    const timeoutMs = clampInt(q.get('timeout'), instance.requestTimeoutMs ?? ctx.limits.defaultPollTimeoutMs, 0, ctx.limits.maxPollTimeoutMs, 'timeout')
    const maxBytes = clampInt(q.get('max_bytes'), ctx.limits.maxFetchBytes, 1, ctx.limits.maxFetchBytes, 'max_bytes')
    const signal = AbortSignal.any([ctx.closing, gone(ex)])
    const records = await instance.consumer.poll({ timeoutMs, maxBytes, signal })
    const perTopic = new Map<string, [number, number]>()
    for (const r of records) {
      const t = perTopic.get(r.topic) ?? [0, 0]
      t[0]++
      t[1] += r.bytes
      perTopic.set(r.topic, t)
    }
    for (const [topic, [n, bytes]] of perTopic) ctx.metrics.consumed(topic, n, bytes)
    sendText(ex.res, 200, format === 'binary' ? binaryRecordsJson(records) : recordsJson(records), formatType(format))
  },
  'POST offsets': async (ctx, ex, { consumer }) => {
    const body = await readJson(ctx, ex, {})
    if (!isJsonObject(body)) throw invalid('body must be an object')
    if (body.offsets === undefined) {
      await consumer.commit(null)
    } else {
      // Kafka REST commits the offset of the last record consumed: the group resumes after it.
      await consumer.commit(offsetList(body.offsets, 'offsets').map(o => ({ ...o, offset: o.offset + 1 })))
    }
    sendJson(ex.res, 200, undefined)
  },
  'GET offsets': async (ctx, ex, { consumer }) => {
    const body = await readJson(ctx, ex, {})
    const partitions = isJsonObject(body) && body.partitions !== undefined
      ? partitionList(body.partitions, 'partitions')
      : partitionsFromQuery(ex.url.searchParams)
    const offsets = await consumer.committed(partitions)
    sendJson(ex.res, 200, { offsets: offsets.map(o => ({ ...o, metadata: '' })) }, V2)
  },
  'POST positions': async (ctx, ex, { consumer }) => {
    const body = await readJson(ctx, ex)
    if (!isJsonObject(body)) throw invalid('body must be an object')
    if (body.offsets !== undefined) await consumer.seek(offsetList(body.offsets, 'offsets'))
    if (body.timestamps !== undefined) await consumer.seekToTimestamp(timestampList(body.timestamps))
    if (body.offsets === undefined && body.timestamps === undefined) throw invalid('give "offsets" (or "timestamps")')
    sendJson(ex.res, 204, undefined)
  },
  'POST positions/beginning': async (ctx, ex, { consumer }) => {
    await consumer.seekToBeginning(partitionsOf(await readJson(ctx, ex)))
    sendJson(ex.res, 204, undefined)
  },
  'POST positions/end': async (ctx, ex, { consumer }) => {
    await consumer.seekToEnd(partitionsOf(await readJson(ctx, ex)))
    sendJson(ex.res, 204, undefined)
  }
}

async function createInstance (ctx: RouteContext, ex: Exchange, group: string): Promise<void> {
  const body = await readJson(ctx, ex, {})
  if (!isJsonObject(body)) throw invalid('body must be an object')
  const name = body.name === undefined ? `rest-consumer-${randomUUID()}` : checkName(String(body.name), 'instance')
  const format = consumerFormat(body.format)
  const reset = String(body['auto.offset.reset'] ?? 'latest').toLowerCase()
  const resets: Record<string, 'earliest' | 'latest'> = { earliest: 'earliest', smallest: 'earliest', latest: 'latest', largest: 'latest' }
  const autoOffsetReset = ownValue(resets, reset)
  if (autoOffsetReset === undefined) throw configError(`auto.offset.reset must be earliest or latest (got ${JSON.stringify(reset)})`)
  const commit = String(body['auto.commit.enable'] ?? 'true').toLowerCase()
  if (commit !== 'true' && commit !== 'false') throw configError('auto.commit.enable must be "true" or "false"')
  const timeout = body['consumer.request.timeout.ms']
  const requestTimeoutMs = timeout === undefined ? undefined : clampInt(String(timeout), 0, 0, ctx.limits.maxPollTimeoutMs, 'consumer.request.timeout.ms', 42204)
  if (ctx.instances.has(group, name)) throw exists()
  const consumer = await ctx.receiver.createConsumer?.({ group, name, autoOffsetReset, autoCommit: commit === 'true', format })
  if (consumer === undefined) throw notFound()
  if (ctx.instances.has(group, name)) {
    await consumer.close()
    throw exists()
  }
  const instance = ctx.instances.add(group, name, consumer)
  instance.requestTimeoutMs = requestTimeoutMs
  instance.format = format
  sendJson(ex.res, 200, { instance_id: name, base_uri: `${ctx.baseUrl(ex.req)}/consumers/${group}/instances/${name}` }, V2)
}

/** The records answer, with values spliced in as JSON text (no parse and re-serialise of stored text). */
function recordsJson (records: ConsumedRecord[]): string {
  const parts = records.map(r =>
    `{"topic":${JSON.stringify(r.topic)},"key":${recordKeyJson(r)},"value":${recordJson(r)},"partition":${r.partition},"offset":${r.offset},"timestamp":${r.timestamp}}`)
  return `[${parts.join(',')}]`
}

/** Binary records answer (`entities/v2/BinaryConsumerRecord`): keys and values base64, null when absent. */
function binaryRecordsJson (records: ConsumedRecord[]): string {
  const parts = records.map(r => {
    const { key, value } = recordBinary(r)
    const k = key === null ? 'null' : `"${key.toString('base64')}"`
    const v = value === null ? 'null' : `"${value.toString('base64')}"`
    return `{"topic":${JSON.stringify(r.topic)},"key":${k},"value":${v},"partition":${r.partition},"offset":${r.offset},"timestamp":${r.timestamp}}`
  })
  return `[${parts.join(',')}]`
}

/** A consumer's `format`: json or binary; the schema-registry formats answer 422 / 42204 naming what is served. */
function consumerFormat (value: unknown): EmbeddedFormat {
  const format = String(value ?? 'binary').toLowerCase()
  if (format === 'json' || format === 'binary') return format
  const why = ['avro', 'protobuf', 'jsonschema'].includes(format) ? ' (it needs a schema registry, which this server does not have)' : ''
  throw configError(`format ${JSON.stringify(format)} is not supported${why}; use "binary" or "json"`)
}

function exists (): HttpProblem {
  return new HttpProblem(409, 40902, 'Consumer with specified consumer ID already exists in the specified consumer group.')
}

function configError (message: string): HttpProblem {
  return new HttpProblem(422, 42204, `Invalid consumer configuration: ${message}`)
}

function unsupported (ctx: RouteContext, what: string): HttpProblem {
  return new HttpProblem(501, 501, `The ${ctx.receiver.kind} receiver does not support ${what}.`)
}

/**
 * A Java regex as a RegExp matching whole topic names, as Kafka's consumer does (`Pattern.matcher(topic).matches()`).
 * Confluent lets an invalid pattern's PatternSyntaxException reach its catch-all mapper (500); ours is 422 (a bad entity).
 */
function topicPattern (value: unknown): RegExp {
  if (typeof value !== 'string') throw invalid('"topic_pattern" must be a string (a regular expression)')
  try {
    new RegExp(value) // alone first: "a)|(b" must not close the anchoring group
    return new RegExp(`^(?:${value})$`)
  } catch (err) {
    throw invalid(`"topic_pattern" is not a valid regular expression: ${(err as Error).message}`)
  }
}

function invalid (message: string): HttpProblem {
  return new HttpProblem(422, 422, message)
}

function clampInt (text: string | null, fallback: number, min: number, max: number, what: string, errorCode = 400): number {
  if (text === null || text === '') return fallback
  if (!/^\d{1,15}$/.test(text)) throw new HttpProblem(errorCode === 400 ? 400 : 422, errorCode, `${what} must be a non-negative integer`)
  return Math.min(max, Math.max(min, Number(text)))
}

function gone (ex: Exchange): AbortSignal {
  const controller = new AbortController()
  ex.res.once('close', () => controller.abort())
  return controller.signal
}

function partitionOf (value: unknown, where: string): TopicPartition {
  if (!isJsonObject(value) || typeof value.topic !== 'string' || !Number.isSafeInteger(value.partition) || (value.partition as number) < 0) {
    throw new HttpProblem(422, 422, `${where} must be { "topic": string, "partition": integer >= 0 }`)
  }
  return { topic: checkName(value.topic, 'topic'), partition: value.partition as number }
}

function partitionList (value: unknown, field: string): TopicPartition[] {
  if (!Array.isArray(value)) throw invalid(`"${field}" must be an array`)
  return value.map((v, i) => partitionOf(v, `${field}[${i}]`))
}

function partitionsOf (body: unknown): TopicPartition[] {
  if (!isJsonObject(body)) throw invalid('body must be an object with "partitions"')
  return partitionList(body.partitions, 'partitions')
}

function offsetList (value: unknown, field: string): TopicPartitionOffset[] {
  if (!Array.isArray(value)) throw invalid(`"${field}" must be an array`)
  return value.map((v, i) => {
    const p = partitionOf(v, `${field}[${i}]`)
    const offset = (v as Record<string, unknown>).offset
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new HttpProblem(422, 422, `${field}[${i}].offset must be an integer >= 0`)
    return { ...p, offset: offset as number }
  })
}

function timestampList (value: unknown): TopicPartitionTimestamp[] {
  if (!Array.isArray(value)) throw invalid('"timestamps" must be an array')
  return value.map((v, i) => {
    const p = partitionOf(v, `timestamps[${i}]`)
    const raw = (v as Record<string, unknown>).timestamp
    const timestamp = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : NaN
    if (!Number.isFinite(timestamp)) throw new HttpProblem(422, 422, `timestamps[${i}].timestamp must be epoch ms or an ISO-8601 date`)
    return { ...p, timestamp }
  })
}

/** `GET …/offsets?topic=t&partition=0` as an alternative to a GET body. */
function partitionsFromQuery (q: URLSearchParams): TopicPartition[] {
  const topic = q.get('topic')
  if (topic === null) throw invalid('give "partitions" in the body (or ?topic=&partition=)')
  return [partitionOf({ topic, partition: Number(q.get('partition') ?? '0') }, 'query')]
}
