import type { Route } from '../context.js'
import { methodNotAllowed } from '../http-problem.js'
import { sendJson, sendText } from '../http-io.js'

/** `GET /healthz`: 200 while serving, 503 once closing. Never needs credentials. */
export const healthRoute: Route = async (ctx, ex) => {
  if (ex.req.method !== 'GET' && ex.req.method !== 'HEAD') throw methodNotAllowed(['GET', 'HEAD'])
  const closing = ctx.closing.aborted
  sendJson(ex.res, closing ? 503 : 200, { status: closing ? 'closing' : 'ok', receiver: ctx.receiver.kind, consumers: ctx.instances.size })
}

/** `GET /metrics`: Prometheus text exposition (records and bytes in/out, 429s, drops, lag per group). */
export const metricsRoute: Route = async (ctx, ex) => {
  if (ex.req.method !== 'GET') throw methodNotAllowed(['GET'])
  sendText(ex.res, 200, await ctx.metrics.render(ctx.receiver), 'text/plain; version=0.0.4; charset=utf-8')
}
