import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Exchange, RouteContext } from './context.js'
import { AnswerRecorder, sendRecorded, type RecordedAnswer } from './dedup-answer.js'
import { mediaType } from './http-io.js'
import { HttpProblem } from './http-problem.js'

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'

/** Characters a key may have at most. */
export const MAX_KEY_LENGTH = 256

/**
 * Applies a produce request at most once per `Idempotency-Key` (the IETF httpapi draft
 * "The Idempotency-Key HTTP Header Field"). Call it once the body is read, with the route's work as
 * `handle`, which must answer through the Exchange it is given (not the outer one):
 *
 *   const body = await readBody(ex.req, ex.res, ctx.limits.maxBodyBytes)
 *   await withIdempotency(ctx, ex, body, async (ex) => { …produce…; sendJson(ex.res, 200, answer, V2) })
 *
 * Without the header, or with `dedup: false`, `handle` runs as it is. With it: a key applied within
 * the window (same method, path and query, Content-Type and body) is not applied again and its first
 * answer is sent back (status, headers, body, plus `Idempotent-Replayed: true`); a key whose request
 * is still being applied answers 409 / 40904 (Retry-After 1); the same key with another request
 * 422 / 42207; a malformed key 400 / 40011. The key is remembered only when the answer is made and
 * says applied (2xx, and InLong code 0): with the Kafka receiver that is after the broker acked. A
 * request that fails (an error, a non-2xx answer, 429) forgets its key, so its retry is applied.
 */
export async function withIdempotency (ctx: RouteContext, ex: Exchange, body: Buffer, handle: (ex: Exchange) => Promise<void>): Promise<void> {
  const table = ctx.dedup
  if (table === undefined || ex.req.headers[IDEMPOTENCY_KEY_HEADER] === undefined) return await handle(ex)
  const key = idempotencyKeyOf(ex.req)
  const sighting = table.begin(key, fingerprintOf(ex, body))
  if (sighting.kind === 'replay') return sendRecorded(ex.res, sighting.answer, true)
  if (sighting.kind === 'in-progress') {
    throw new HttpProblem(409, 40904, `A request with this Idempotency-Key (${show(key)}) is still being processed; retry once it is answered.`, { 'retry-after': '1' })
  }
  if (sighting.kind === 'mismatch') {
    throw new HttpProblem(422, 42207, `Idempotency-Key ${show(key)} was already used with a different request (method, path, Content-Type or body); a key must not be reused across requests.`)
  }
  const recorder = new AnswerRecorder(ex.res)
  try {
    await handle({ ...ex, res: recorder.response })
  } catch (err) {
    table.forget(key)
    throw err
  }
  const answer = recorder.answer
  if (answer !== undefined && applied(answer)) table.remember(key, answer)
  else table.forget(key)
  if (answer !== undefined) sendRecorded(ex.res, answer, false)
}

/**
 * The key: a Structured Field String (`"…"`, RFC 8941, as the draft defines the field) or, as many
 * clients send it (Stripe's, this package's sink), the bare value. One field only; 1–256 characters.
 */
export function idempotencyKeyOf (req: IncomingMessage): string {
  const fields = req.headersDistinct[IDEMPOTENCY_KEY_HEADER] ?? []
  if (fields.length !== 1) throw badKey('must be sent once')
  const raw = (fields[0] as string).trim()
  const key = raw.startsWith('"') ? sfString(raw) : raw
  if (key === undefined) throw badKey('is not a valid Structured Field String')
  if (key === '') throw badKey('is empty')
  if (key.length > MAX_KEY_LENGTH) throw badKey(`is longer than ${MAX_KEY_LENGTH} characters`)
  return key
}

/** The request a key stands for: method, path with query, media type and (decoded) body, hashed. */
export function fingerprintOf (ex: Exchange, body: Buffer): string {
  return createHash('sha256')
    .update(`${ex.req.method ?? 'GET'} ${ex.url.pathname}${ex.url.search}\n${mediaType(ex.req.headers['content-type'])}\n`)
    .update(body)
    .digest('base64url')
}

/** Did this answer apply the request? 2xx, and for InLong (always HTTP 200) its code 0. */
function applied (answer: RecordedAnswer): boolean {
  if (answer.status < 200 || answer.status > 299) return false
  for (const [name, value] of answer.headers) if (name === 'x-inlong-code') return value === '0'
  return true
}

/** RFC 8941 §4.2.5: `"` chars (printable ASCII, `\"` and `\\` escapes) `"`; undefined when malformed. */
function sfString (raw: string): string | undefined {
  let out = ''
  for (let i = 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c === 0x5c) {
      const next = raw[++i]
      if (next !== '"' && next !== '\\') return undefined
      out += next
    } else if (c === 0x22) {
      return i === raw.length - 1 ? out : undefined
    } else if (c < 0x20 || c > 0x7e) {
      return undefined
    } else {
      out += raw[i]
    }
  }
  return undefined
}

function badKey (why: string): HttpProblem {
  return new HttpProblem(400, 40011, `Idempotency-Key ${why}.`)
}

function show (key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)
}
