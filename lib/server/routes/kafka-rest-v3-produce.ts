import type { ServerResponse } from 'node:http'
import { requireOperation, type Exchange, type RouteContext } from '../context.js'
import { IDEMPOTENCY_KEY_HEADER, withIdempotency } from '../dedup.js'
import { HttpProblem } from '../http-problem.js'
import { readBody } from '../http-io.js'
import { parseGuardedJson } from '../json-guard.js'
import type { ProducedOffset, ProduceRecord } from '../receivers/receiver.js'
import { ReceiverError } from '../receivers/receiver-errors.js'
import { checkV3Accept, checkV3ContentType } from './kafka-rest-media.js'
import { produceEach } from './kafka-rest-produce.js'
import { v3Record, type V3Record, type V3Refusal } from './kafka-rest-v3-records.js'
import { ConcatenatedJson } from './kafka-rest-v3-stream.js'

/** Confluent's ChunkedOutputFactory: each answer is followed by CRLF. */
const SEPARATOR = '\r\n'

type Slot = V3Record | V3Refusal

/**
 * `POST /v3/clusters/{cluster_id}/topics/{topic}/records`, as Confluent's `resources/v3/ProduceAction`
 * and `response/StreamingResponse` answer it: the body is one or more concatenated JSON produce
 * requests; the answer is HTTP 200 with one JSON delivery report per record, in order, each with its
 * own `error_code` (200 stored; 400 a bad record; 40402, 42206, 50002, 50003 …), each followed by
 * CRLF. Records are produced as their bytes arrive (full duplex: a client may keep the request open
 * and read reports as it writes), the records of one chunk in one receiver call. A body that is not
 * JSON ends the stream with a 400 report, as Jackson's parser stops Confluent's. Whole-request
 * refusals (415, 406, 404 cluster, an empty body 422 / 42206) come before the first report.
 */
export async function produceV3 (ctx: RouteContext, ex: Exchange, clusterId: string, topic: string): Promise<void> {
  requireOperation(ctx.receiver, 'produce')
  checkV3ContentType(ex.req.headers['content-type'])
  checkV3Accept(ex.req.headers.accept)
  if (ex.req.headers['content-encoding'] === undefined && ex.req.headers[IDEMPOTENCY_KEY_HEADER] === undefined) {
    return await answerStream(ctx, ex, clusterId, topic, async (handle) => await eachChunk(ex, handle))
  }
  // A compressed body, or one with an Idempotency-Key (applied at most once: dedup.ts), is read
  // whole (capped by maxBodyBytes), then answered as one chunk.
  const body = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
  await withIdempotency(ctx, ex, body, async (keyed) => await answerStream(ctx, keyed, clusterId, topic, async (handle) => { await handle(body) }))
}

/** Reads the records from `source` (which hands chunks to its handle until it says stop) and answers each. */
async function answerStream (ctx: RouteContext, ex: Exchange, clusterId: string, topic: string, source: (handle: (chunk: Buffer) => Promise<boolean>) => Promise<void>): Promise<void> {
  const reports = new Reports(ex.res, clusterId, topic)
  const texts = new ConcatenatedJson(ctx.limits.maxBodyBytes)
  let stopped = false
  const answer = async (found: string[], last: boolean): Promise<void> => {
    const slots: Slot[] = []
    for (const text of found) {
      const slot = parse(ctx, text)
      if (slot === 'stop') {
        stopped = true
        break
      }
      slots.push(slot)
    }
    await produceSlots(ctx, topic, slots, reports)
    if (stopped) reports.refusal({ error_code: 400, message: 'Bad Request: Error processing JSON: the body is not concatenated JSON texts' })
    if (last || stopped) reports.end()
  }
  try {
    await source(async (chunk) => {
      await answer(texts.push(chunk), false)
      return !stopped
    })
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err
    if (!reports.started) {
      ex.res.setHeader('connection', 'close')
      throw err
    }
    // Past the first report a refusal (413 for one record, an aborted body) is the stream's last report.
    reports.refusal({ error_code: err.errorCode, message: err.message })
    stopped = true
  }
  if (stopped) {
    reports.end()
    ex.req.resume()
    return
  }
  const tail = texts.end()
  if (!reports.started && tail === undefined) throw new HttpProblem(422, 42206, 'Payload error. Request body is empty. Data is required.')
  await answer(tail === undefined ? [] : [tail], true)
}

/**
 * Hands the body to `handle` chunk by chunk, pulling the next one only once `handle` is done (so a
 * slow receiver holds the client back); `handle` resolving false stops reading, without destroying
 * the request (its answer is still being written; the rest of the body is drained unread).
 */
async function eachChunk (ex: Exchange, handle: (chunk: Buffer) => Promise<boolean>): Promise<void> {
  for await (const chunk of ex.req.iterator({ destroyOnReturn: false })) {
    if (!await handle(chunk as Buffer)) return
  }
}

/** A record's text → its record or refusal; 'stop' when the text is not JSON (the stream ends there). */
function parse (ctx: RouteContext, text: string): Slot | 'stop' {
  let body: unknown
  try {
    body = parseGuardedJson(text, ctx.limits, 'produce record')
  } catch (err) {
    if (!(err instanceof HttpProblem)) throw err
    if (err.errorCode === 40002) return 'stop'
    return { error_code: err.errorCode, message: err.message }
  }
  return v3Record(body)
}

/** Produces the records among `slots` in one receiver call and writes every slot's report, in order. */
async function produceSlots (ctx: RouteContext, topic: string, slots: Slot[], reports: Reports): Promise<void> {
  const records: ProduceRecord[] = []
  for (const s of slots) if ('record' in s) records.push(s.record)
  const offsets = records.length === 0 ? [] : await produceOrFind(ctx, topic, records)
  const timestamp = new Date().toISOString()
  let n = 0
  let bytes = 0
  let i = 0
  for (const s of slots) {
    if (!('record' in s)) {
      reports.refusal(s)
      continue
    }
    const o = offsets[i++] as ProducedOffset
    if (o.error !== undefined) {
      reports.refusal({ error_code: o.error.errorCode, message: o.error.message })
      continue
    }
    n++
    bytes += s.record.bytes
    reports.stored(s, o, timestamp)
  }
  if (n > 0) ctx.metrics.produced(topic, n, bytes)
}

/**
 * One receiver call for the records; when a receiver refuses the call as a whole for one record (the
 * memory receiver stores all or none: a bad partition, a schema mismatch, a full topic), each record
 * is produced alone so that only the refused ones carry the error. Backend (Kafka) errors already
 * come per record (`produceEach`).
 */
async function produceOrFind (ctx: RouteContext, topic: string, records: ProduceRecord[]): Promise<ProducedOffset[]> {
  try {
    return await produceEach(ctx, topic, records)
  } catch (err) {
    if (!(err instanceof ReceiverError)) throw err
    if (records.length === 1) return [{ partition: -1, offset: -1, error: err }]
    const out: ProducedOffset[] = []
    for (const r of records) out.push(...await produceOrFind(ctx, topic, [r]))
    return out
  }
}

/** Writes the delivery reports: the 200 head at the first one, then one JSON text + CRLF each. */
class Reports {
  started = false
  private readonly res: ServerResponse
  private readonly clusterId: string
  private readonly topic: string

  constructor (res: ServerResponse, clusterId: string, topic: string) {
    this.res = res
    this.clusterId = clusterId
    this.topic = topic
  }

  stored (s: V3Record, o: ProducedOffset, timestamp: string): void {
    const report: Record<string, unknown> = {
      error_code: 200,
      cluster_id: this.clusterId,
      topic_name: this.topic,
      partition_id: o.partition,
      offset: o.offset,
      timestamp
    }
    if (s.key !== undefined) report.key = s.key
    if (s.value !== undefined) report.value = s.value
    this.write(report)
  }

  refusal (r: V3Refusal): void {
    this.write({ error_code: r.error_code, message: r.message })
  }

  end (): void {
    if (!this.started) this.start()
    if (!this.res.writableEnded) this.res.end()
  }

  private write (report: object): void {
    if (!this.started) this.start()
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(JSON.stringify(report) + SEPARATOR)
  }

  private start (): void {
    this.started = true
    if (this.res.headersSent) return
    this.res.writeHead(200, { 'content-type': 'application/json' })
  }
}
