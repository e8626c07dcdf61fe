/**
 * Stream-server fixtures: a server on 127.0.0.1:0 closed when the test ends, a JSON request helper
 * that returns status, headers and the parsed body, and a raw-socket sender for malformed HTTP.
 */
import { connect } from 'node:net'
import type { TestContext } from 'node:test'
import { request } from 'undici'
import { createHttpStreamServer, type HttpStreamServer, type HttpStreamServerOptions } from '../../lib/server/server.js'

export const V2 = 'application/vnd.kafka.v2+json'
export const V2_JSON = 'application/vnd.kafka.json.v2+json'
export const NDJSON = 'application/x-ndjson'
export const FORM = 'application/x-www-form-urlencoded'

export async function startServer (t: TestContext, options: HttpStreamServerOptions = {}): Promise<HttpStreamServer> {
  const server = createHttpStreamServer(options)
  await server.listen()
  t.after(() => server.close())
  return server
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  /** The parsed JSON body, undefined when empty or not JSON. */
  json: any
}

export interface CallOptions {
  body?: unknown
  /** Content-Type; default V2_JSON for objects, none without a body. */
  type?: string
  headers?: Record<string, string>
}

/** One HTTP request; `body` objects are sent as JSON, strings and Buffers as they are. */
export async function call (base: string, method: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers }
  let body: string | Buffer | undefined
  if (o.body !== undefined) {
    body = typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body)
    headers['content-type'] ??= o.type ?? V2_JSON
  }
  const res = await request(base + path, { method: method as 'GET', headers, body })
  const text = await res.body.text()
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {}
  return { status: res.statusCode, headers: res.headers, text, json }
}

/** Creates a consumer instance subscribed to `topics`; returns its path prefix. */
export async function consumer (base: string, group: string, name: string, topics: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const created = await call(base, 'POST', `/consumers/${group}`, { body: { name, format: 'json', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false', ...extra }, type: V2 })
  if (created.status !== 200) throw new Error(`create consumer: ${created.status} ${created.text}`)
  const path = `/consumers/${group}/instances/${name}`
  const sub = await call(base, 'POST', `${path}/subscription`, { body: { topics }, type: V2 })
  if (sub.status !== 204) throw new Error(`subscribe: ${sub.status} ${sub.text}`)
  return path
}

/** Fetches records until `n` have come (or a fetch returns none). */
export async function drain (base: string, path: string, n = Infinity): Promise<any[]> {
  const out: any[] = []
  while (out.length < n) {
    const got = await call(base, 'GET', `${path}/records?timeout=200`, { headers: { accept: V2_JSON } })
    if (got.status !== 200) throw new Error(`records: ${got.status} ${got.text}`)
    if (got.json.length === 0) break
    out.push(...got.json)
  }
  return out
}

export async function produce (base: string, topic: string, values: unknown[]): Promise<Answer> {
  return await call(base, 'POST', `/topics/${topic}`, { body: { records: values.map(value => ({ value })) } })
}

/**
 * Writes raw bytes on a new connection and collects what comes back until the server closes it
 * (or `waitMs` passes, then the socket is destroyed). For malformed HTTP the fetch clients refuse to send.
 */
export function rawExchange (url: string, data: string | Buffer, waitMs = 2000): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    let got = ''
    const timer = setTimeout(() => socket.destroy(), waitMs)
    socket.on('data', (d) => { got += d.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(got) })
    socket.write(data)
  })
}

/** The status code of the first raw HTTP answer, or 0 when none came. */
export function rawStatus (answer: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(answer)
  return m === null ? 0 : Number(m[1])
}
