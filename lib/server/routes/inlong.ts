import type { Exchange, Route, RouteContext } from '../context.js'
import { withIdempotency } from '../dedup.js'
import { readBody, sendText } from '../http-io.js'
import { isValidTopicName } from '../names.js'
import { reportCount, reportLines, reportRecord } from './inlong-report.js'
import { ReceiverClosedError, ReceiverError, ReceiverFullError, SchemaMismatchError, TopicLimitError, TopicNotFoundError } from '../receivers/receiver-errors.js'

/**
 * InLong DataProxy's HTTP report: `GET|POST /dataproxy/message` (form or query fields groupId,
 * streamId, dt, body, cnt) and `/dataproxy/heartbeat`. Always HTTP 200 with `{"code":"0","msg":"Ok"}`
 * or InLong's code, checked in the DataProxy's order: 100 groupId, 101 streamId, 115 topic,
 * 103/111 body missing/blank, 104 body too long; 1, 2 and 114 for server-side trouble.
 * As HttpMessageHandler (inlong-dataproxy/dataproxy-source): the method is checked before the path;
 * a POST body is read only with a Content-Type, which must be exactly
 * application/x-www-form-urlencoded (else 36); a request body over `inlong.maxMsgLength` is HTTP 413
 * (ServerMessageFactory's HttpObjectAggregator). One report is one record of topic
 * `groupId.streamId` (mappable) holding its lines in order (see inlong-report).
 */
export const INLONG_CODES = {
  OK: [0, 'Ok'],
  SINK_SERVICE_UNREADY: [1, 'Service sink not ready'],
  SERVICE_CLOSED: [2, 'Service closed'],
  HTTP_UNSUPPORTED_METHOD: [32, 'Un-supported method'],
  HTTP_UNSUPPORTED_SERVICE_URI: [35, 'Un-supported service uri'],
  HTTP_UNSUPPORTED_CONTENT_TYPE: [36, 'Un-supported content type'],
  MISS_REQUIRED_GROUPID_ARGUMENT: [100, 'Parameter groupId is required'],
  MISS_REQUIRED_STREAMID_ARGUMENT: [101, 'Parameter streamId is required'],
  MISS_REQUIRED_BODY_ARGUMENT: [103, 'Parameter body is required'],
  BODY_EXCEED_MAX_LEN: [104, 'Body length exceed the maximum length'],
  EMPTY_MSG: [111, 'Empty message'],
  UNSUPPORTED_EXTEND_FIELD_VALUE: [112, 'Unsupported extend field value'],
  PUT_EVENT_TO_CHANNEL_FAILURE: [114, 'Put event to Channels failure'],
  TOPIC_IS_BLANK: [115, 'Topic is null']
} as const satisfies Record<string, readonly [number, string]>

type Code = keyof typeof INLONG_CODES

const FORM = 'application/x-www-form-urlencoded'
const NO_BODY = Buffer.alloc(0)
const CALLBACK = /^[A-Za-z_$][\w$.]{0,63}$/

/** Default topic: `groupId.streamId` when that is a valid topic name. */
export function defaultInlongTopic (groupId: string, streamId: string): string | undefined {
  const topic = `${groupId}.${streamId}`
  return isValidTopicName(topic) ? topic : undefined
}

export const inlongRoutes: Route = async (ctx, ex) => {
  const method = ex.req.method ?? 'GET'
  if (method !== 'GET' && method !== 'POST') {
    return answer(ex, undefined, 'HTTP_UNSUPPORTED_METHOD', 'Only support [GET, POST] methods')
  }
  const path = ex.segments.slice(1).join('/')
  if (path !== 'message' && path !== 'heartbeat') {
    return answer(ex, undefined, 'HTTP_UNSUPPORTED_SERVICE_URI', 'Only support [/dataproxy/heartbeat, /dataproxy/message] paths!')
  }
  const attrs = new Map<string, string>()
  for (const [k, v] of ex.url.searchParams) if (!attrs.has(k)) attrs.set(k, v)
  const callback = ex.url.searchParams.get('callback') ?? undefined
  if (path === 'heartbeat') return answer(ex, callback, 'OK')
  let body: Buffer = NO_BODY
  if (method === 'POST') {
    // Over the limit: HttpProblem(413), as Netty's HttpObjectAggregator(maxMsgLength) answers.
    body = await readBody(ex.req, ex.res, Math.min(ctx.limits.maxBodyBytes, ctx.inlongMaxMsgLength))
    const type = (ex.req.headers['content-type'] ?? '').trim()
    if (body.length > 0 && type !== '') {
      if (type.toLowerCase() !== FORM) return answer(ex, callback, 'HTTP_UNSUPPORTED_CONTENT_TYPE', `Only support [${FORM}] content type!`)
      const form = new URLSearchParams(body.toString('utf8'))
      const seen = new Set<string>()
      for (const [k, v] of form) {
        if (seen.has(k)) continue
        seen.add(k)
        attrs.set(k, v)
      }
    }
  }
  // A report with an Idempotency-Key is applied at most once (dedup.ts); an answer other than code 0 forgets the key.
  await withIdempotency(ctx, ex, body, async (ex) => await message(ctx, ex, attrs, attrs.get('callback') ?? callback))
}

async function message (ctx: RouteContext, ex: Exchange, attrs: Map<string, string>, callback: string | undefined): Promise<void> {
  if (ctx.closing.aborted) return answer(ex, callback, 'SERVICE_CLOSED')
  const groupId = attrs.get('groupId') ?? ''
  if (groupId.trim() === '') return answer(ex, callback, 'MISS_REQUIRED_GROUPID_ARGUMENT', 'Field groupId must exist and not blank!')
  const streamId = attrs.get('streamId') ?? ''
  if (streamId.trim() === '') return answer(ex, callback, 'MISS_REQUIRED_STREAMID_ARGUMENT', 'Field streamId must exist and not blank!')
  const topic = ctx.inlongTopic(groupId, streamId)
  if (topic === undefined || !isValidTopicName(topic)) {
    return answer(ex, callback, 'TOPIC_IS_BLANK', `Topic not configured for groupId(${groupId}),streamId(${streamId})`)
  }
  const body = attrs.get('body')
  if (body === undefined) return answer(ex, callback, 'MISS_REQUIRED_BODY_ARGUMENT', 'Field body is not exist!')
  if (body.trim() === '') return answer(ex, callback, 'EMPTY_MSG', 'Field body is Blank!')
  if (body.length > ctx.inlongMaxMsgLength) {
    return answer(ex, callback, 'BODY_EXCEED_MAX_LEN', `Error msg, the body length(${body.length}) is bigger than allowed length(${ctx.inlongMaxMsgLength})`)
  }
  const dtText = attrs.get('dt') ?? ''
  const dt = /^\d{1,16}$/.test(dtText) ? dtText : String(Date.now())
  const delimiter = attrs.get('rcdDlmtr') ?? '\n'
  if ([...delimiter].length !== 1) {
    return answer(ex, callback, 'UNSUPPORTED_EXTEND_FIELD_VALUE', 'Field rcdDlmtr must be a single character!')
  }
  const lines = reportLines(body, delimiter)
  if (lines.length === 0) return answer(ex, callback, 'EMPTY_MSG', 'Field body is Blank!')
  const record = reportRecord({ groupId, streamId, dt, cnt: reportCount(attrs.get('cnt')), lines })
  try {
    await ctx.receiver.produce(topic, [record])
  } catch (err) {
    return answer(ex, callback, ...produceFailure(err, ctx))
  }
  ctx.metrics.produced(topic, 1, record.bytes)
  answer(ex, callback, 'OK')
}

function produceFailure (err: unknown, ctx: RouteContext): [Code, string] {
  const why = err instanceof Error ? err.message : String(err)
  if (err instanceof ReceiverFullError) {
    ctx.metrics.throttle(err.topic)
    return ['PUT_EVENT_TO_CHANNEL_FAILURE', why]
  }
  if (err instanceof ReceiverClosedError) return ['SERVICE_CLOSED', why]
  if (err instanceof TopicNotFoundError || err instanceof TopicLimitError) return ['TOPIC_IS_BLANK', why]
  if (err instanceof SchemaMismatchError) return ['UNSUPPORTED_EXTEND_FIELD_VALUE', why]
  if (err instanceof ReceiverError && err.status === 413) return ['BODY_EXCEED_MAX_LEN', why]
  return ['PUT_EVENT_TO_CHANNEL_FAILURE', `Put event to channel failure: ${why}`]
}

/** InLong's answer: HTTP 200, `{"code":"<n>","msg":"…"}`, wrapped as JSONP when `callback` is a plain name. */
function answer (ex: Exchange, callback: string | undefined, code: Code, msg?: string): void {
  const [n, text] = INLONG_CODES[code]
  const json = JSON.stringify({ code: String(n), msg: msg ?? text })
  ex.res.setHeader('x-inlong-code', String(n))
  if (callback !== undefined && CALLBACK.test(callback)) {
    sendText(ex.res, 200, `${callback}(${json})`, 'application/javascript; charset=UTF-8')
  } else {
    sendText(ex.res, 200, json, 'application/json; charset=UTF-8')
  }
}
