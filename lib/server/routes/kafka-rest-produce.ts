import { requireOperation, type Exchange, type RouteContext } from '../context.js'
import { withIdempotency } from '../dedup.js'
import { readBody, sendJson } from '../http-io.js'
import { parseGuardedJson } from '../json-guard.js'
import type { ProducedOffset, ProduceRecord } from '../receivers/receiver.js'
import { BackendError } from '../receivers/receiver-errors.js'
import { checkAccept, produceFormat, V2, type ProduceBodyFormat } from './kafka-rest-media.js'
import { kafkaRestRecords, ndjsonRecords } from './produce-body.js'

/**
 * Kafka REST v2 produce (`POST /topics/{t}` and `POST /topics/{t}/partitions/{p}`), as Confluent's
 * `AbstractProduceAction` answers it: 200 with one `offsets` entry per record; a record the backend
 * could not store carries its `error_code` (50003 retriable Kafka error, 50002 other Kafka error) and
 * `error` instead of a partition and offset. Refusals of the request as a whole (bad body, unknown
 * partition, a full topic: 429) stay whole-request answers, as Confluent's validation and
 * serialisation errors are. NDJSON bulk bodies (our extension) answer in runs and fail as a whole.
 * A request with an `Idempotency-Key` is applied at most once within the dedup window (`dedup.ts`).
 */
export async function produce (ctx: RouteContext, ex: Exchange, topic: string, partition?: number): Promise<void> {
  requireOperation(ctx.receiver, 'produce')
  const format = produceFormat(ex.req.headers['content-type'])
  checkAccept(ex.req.headers.accept)
  const body = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
  await withIdempotency(ctx, ex, body, async (ex) => await applyProduce(ctx, ex, topic, partition, format, body))
}

async function applyProduce (ctx: RouteContext, ex: Exchange, topic: string, partition: number | undefined, format: ProduceBodyFormat, body: Buffer): Promise<void> {
  const records = format === 'ndjson'
    ? ndjsonRecords(body, ctx.limits)
    : kafkaRestRecords(parseGuardedJson(body.toString('utf8'), ctx.limits), body.length, format)
  // A record's own partition wins over the path's (Confluent: record.getPartition().orElse(partition)).
  if (partition !== undefined) for (const r of records) r.partition ??= partition
  if (format === 'ndjson') {
    const offsets = await ctx.receiver.produce(topic, records)
    countProduced(ctx, topic, records, offsets)
    const first = offsets[0]
    const last = offsets[offsets.length - 1]
    sendJson(ex.res, 200, { count: offsets.length, first_offset: first?.offset ?? null, last_offset: last?.offset ?? null, offsets: compact(offsets) }, V2)
    return
  }
  const offsets = await produceEach(ctx, topic, records)
  countProduced(ctx, topic, records, offsets)
  sendJson(ex.res, 200, {
    key_schema_id: null,
    value_schema_id: null,
    offsets: offsets.map(o => o.error === undefined
      ? { partition: o.partition, offset: o.offset, error_code: null, error: null }
      : { partition: null, offset: null, error_code: o.error.errorCode, error: o.error.message })
  }, V2)
}

/** Produces record by record: a backend failure becomes every unstored record's error (Confluent fails each record's future). */
export async function produceEach (ctx: RouteContext, topic: string, records: ProduceRecord[]): Promise<ProducedOffset[]> {
  try {
    return await ctx.receiver.produce(topic, records, { partial: true })
  } catch (err) {
    if (!(err instanceof BackendError)) throw err
    return records.map(() => ({ partition: -1, offset: -1, error: err }))
  }
}

function countProduced (ctx: RouteContext, topic: string, records: ProduceRecord[], offsets: ProducedOffset[]): void {
  let n = 0
  let bytes = 0
  for (let i = 0; i < records.length; i++) {
    if (offsets[i]?.error !== undefined) continue
    n++
    bytes += (records[i] as ProduceRecord).bytes
  }
  if (n > 0) ctx.metrics.produced(topic, n, bytes)
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
