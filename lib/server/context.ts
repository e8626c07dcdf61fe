import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConsumerInstances } from './consumer-instances.js'
import type { DedupTable } from './dedup-table.js'
import { readBody } from './http-io.js'
import { parseGuardedJson, type JsonLimits } from './json-guard.js'
import type { ServerMetrics } from './metrics.js'
import type { Receiver, ReceiverOperation } from './receivers/receiver.js'
import { UnsupportedOperationError } from './receivers/receiver-errors.js'

export interface ServerLimits extends JsonLimits {
  maxBodyBytes: number
  /** Longest long-poll a fetch may ask for (ms). */
  maxPollTimeoutMs: number
  /** Poll wait when the request names none (ms). */
  defaultPollTimeoutMs: number
  /** Bytes per fetch answer at most. */
  maxFetchBytes: number
}

/** Maps `groupId`/`streamId` to a topic; undefined answers InLong code 115. */
export type InlongTopicMapper = (groupId: string, streamId: string) => string | undefined

export interface RouteContext {
  receiver: Receiver
  limits: ServerLimits
  metrics: ServerMetrics
  instances: ConsumerInstances
  inlongTopic: InlongTopicMapper
  /** InLong's maxMsgLength: longer bodies answer code 104. */
  inlongMaxMsgLength: number
  /** Fires when the server closes (ends long polls). */
  closing: AbortSignal
  /** `http://host:port` of this server as the client reached it (for base_uri). */
  baseUrl: (req: IncomingMessage) => string
  /** The Idempotency-Key table of produce routes (see dedup.ts); undefined with `dedup: false`. */
  dedup?: DedupTable
}

export interface Exchange {
  req: IncomingMessage
  res: ServerResponse
  url: URL
  /** Decoded path segments, e.g. ['topics', 'orders']. */
  segments: string[]
}

export type Route = (ctx: RouteContext, ex: Exchange) => Promise<void>

/** Throws 501 naming the operation when the receiver does not support it. */
export function requireOperation (receiver: Receiver, operation: ReceiverOperation): void {
  if (!receiver.operations.has(operation)) throw new UnsupportedOperationError(receiver.kind, operation)
}

/** Reads the body as guarded JSON (depth, key and string limits, no prototype keys); an empty body gives `empty`. */
export async function readJson (ctx: RouteContext, ex: Exchange, empty?: unknown): Promise<unknown> {
  const body = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
  if (body.length === 0 && empty !== undefined) return empty
  return parseGuardedJson(body.toString('utf8'), ctx.limits)
}
