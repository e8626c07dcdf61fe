/**
 * Fuzz: thousands of malformed requests (seeded, so a failure replays) at every surface, through a
 * real HTTP client and as raw bytes. No answer is a 5xx, every refusal is a JSON error, the server
 * stays up, and what it stored is exactly what it said it accepted (no partial writes).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, FORM, NDJSON, rawExchange, startServer, V2, V2_JSON } from './helpers/server-fixture.js'

const REQUESTS = 3000
const RAW = 400
const TOPICS = ['f0', 'f1', 'f2']
/** Names that index Object.prototype when a table inherits: `constructor`, `__proto__`, `toString`, … */
const PROTO = Object.getOwnPropertyNames(Object.prototype)

/** mulberry32: a small seeded PRNG. */
function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface Fuzzed { method: string, path: string, type?: string, body?: string, inlongLines?: number }

function generator (rand: () => number): () => Fuzzed {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const garbage = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rand() * 0x2fff))).join('')
  const mutate = (text: string): string => {
    const r = rand()
    if (r < 0.2) return text.slice(0, Math.floor(rand() * text.length))
    if (r < 0.4) { const i = Math.floor(rand() * text.length); return text.slice(0, i) + garbage(1 + Math.floor(rand() * 5)) + text.slice(i) }
    if (r < 0.5) return text.replace(/"value"/, '"__proto__"')
    if (r < 0.6) return '['.repeat(200 + Math.floor(rand() * 2000))
    if (r < 0.7) return `{"records":${pick(['null', '7', '"x"', '[null]', '[[]]', '[{"value":1,"partition":"0"}]', '[{"value":1,"partition":1e400}]'])}}`
    return text
  }
  const valid = (): string => JSON.stringify({ records: Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, i) => ({ value: { i, s: garbage(3) } })) })
  const topic = (): string => rand() < 0.7 ? pick(TOPICS) : rand() < 0.3 ? pick(PROTO) : pick(['..', '%2e', 'a%20b', 'x'.repeat(260), '%ZZ', encodeURIComponent(garbage(4)), ''])
  return () => {
    const kind = rand()
    if (kind < 0.05) return { method: pick(['GET', 'POST', 'DELETE']), path: `/${pick(PROTO)}${pick(['', '/x', `/${pick(PROTO)}`])}`, type: V2_JSON, body: valid() }
    if (kind < 0.35) {
      return { method: pick(['POST', 'POST', 'PUT', 'GET', 'PATCH']), path: `/topics/${topic()}`, type: pick([V2_JSON, V2_JSON, 'application/json', 'text/plain', 'application/vnd.kafka.binary.v2+json']), body: mutate(valid()) }
    }
    if (kind < 0.5) {
      const lines = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => rand() < 0.7 ? JSON.stringify({ n: rand() }) : mutate('{"a":[1,2,{"b":null}]}'))
      return { method: 'POST', path: `/topics/${topic()}`, type: NDJSON, body: lines.join(pick(['\n', '\r\n', '\n\n'])) }
    }
    if (kind < 0.65) {
      const action = pick(['actionSendStream', 'actionFetchSchema', 'actionSubscribe', 'actionFetchStream', 'actionUnsubscribe', 'nope', '', pick(PROTO)])
      const body = JSON.stringify({ action, topic: topic(), rows: rand() < 0.7 ? [1, 'two', { three: 3 }] : 'rows', subscriberId: pick(['a:b', 'x', ':', 'g:subscriber-1', `${pick(PROTO)}:${pick(PROTO)}`]), ack: pick([0, -1, 'x', { f0: 'z' }]) })
      return { method: pick(['POST', 'POST', 'GET']), path: '/actions', type: 'application/json', body: mutate(body) }
    }
    if (kind < 0.8) {
      const lines = 1 + Math.floor(rand() * 3)
      const fields: Record<string, string> = { groupId: pick(['g', '', ' ', 'g/../x', garbage(3), pick(PROTO)]), streamId: pick(['s', '', garbage(2)]), body: Array.from({ length: lines }, () => garbage(4)).join('\n'), cnt: String(lines) }
      if (rand() < 0.2) delete fields.body
      const encoded = new URLSearchParams(fields).toString()
      return { method: pick(['POST', 'GET', 'DELETE']), path: `/dataproxy/${pick(['message', 'message', 'heartbeat', 'other'])}${rand() < 0.3 ? `?${encoded}` : ''}`, type: pick([FORM, FORM, 'application/json']), body: rand() < 0.2 ? mutate(encoded) : encoded, inlongLines: lines }
    }
    const instance = `/consumers/${pick(['g', '..', garbage(3), pick(PROTO)])}/instances/${pick(['c', 'zz', pick(PROTO)])}`
    return { method: pick(['GET', 'POST', 'DELETE']), path: `${instance}${pick(['', '/records', '/offsets', '/positions', '/positions/end', '/subscription', '/nope'])}?timeout=${pick(['0', '-1', 'x', '99999999999999999999'])}`, type: V2, body: mutate('{"offsets":[{"topic":"f0","partition":0,"offset":0}],"partitions":[{"topic":"f1","partition":0}],"topics":["f2"]}') }
  }
}

function rawGenerator (rand: () => number): () => string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T
  const bytes = (n: number): string => Array.from({ length: n }, () => String.fromCharCode(Math.floor(rand() * 256))).join('')
  return () => pick([
    () => bytes(1 + Math.floor(rand() * 200)),
    () => `POST /topics/f0 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    () => `POST /topics/f0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: ${NDJSON}\r\n\r\n${pick(['zz', '-1', 'fffffffffffffffff'])}\r\n{"a":1}\r\n0\r\n\r\n`,
    () => `GET /${bytes(10)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: ${bytes(5)}\r\n\r\n`,
    () => `${pick(['GET', 'POST', 'BREW'])} ${pick(['/topics', '*', 'http://evil/topics', '/topics/f0?' + bytes(20)])} HTTP/${pick(['1.1', '1.0', '9.9'])}\r\nHost: x\r\nContent-Length: ${pick(['-1', 'abc', '3'])}\r\n\r\nabc`
  ])()
}

describe('fuzz', () => {
  it(`survives ${REQUESTS} malformed requests and ${RAW} raw byte streams; stores exactly what it accepted`, async (t) => {
    const { url } = await startServer(t, { maxBodyBytes: 64 * 1024, headersTimeout: 1000, requestTimeout: 2000 })
    const next = generator(prng(20240601))
    const accepted = new Map<string, number>(TOPICS.map(tp => [tp, 0]))
    const statuses = new Map<number, number>()
    let index = 0
    const worker = async (): Promise<void> => {
      while (index < REQUESTS) {
        index++
        const f = next()
        const a = await call(url, f.method, f.path, f.body === undefined ? {} : { body: f.body, type: f.type })
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1)
        assert.ok(a.status < 500 || a.status === 501, `${f.method} ${f.path} → ${a.status} ${a.text.slice(0, 200)}`)
        if (a.status >= 400) {
          assert.ok(typeof a.json?.error_code === 'number' && typeof a.json?.message === 'string', `JSON error body for ${f.method} ${f.path}: ${a.text.slice(0, 100)}`)
          continue
        }
        const topic = /^\/topics\/([A-Za-z0-9_]+)$/.exec(f.path)?.[1]
        if (topic !== undefined && f.method === 'POST') accepted.set(topic, (accepted.get(topic) ?? 0) + (a.json.count ?? a.json.offsets.length))
        if (f.path === '/actions' && typeof a.json?.count === 'number') accepted.set(a.json.topic, (accepted.get(a.json.topic) ?? 0) + a.json.count)
        if (f.path.startsWith('/dataproxy/message') && a.json?.code === '0') {
          const fields = new URLSearchParams(f.method === 'POST' && f.type === FORM ? f.body : f.path.split('?')[1])
          const target = `${fields.get('groupId') ?? ''}.${fields.get('streamId') ?? ''}`
          // One InLong report is one record (HttpMessageHandler forwards the whole body as one message).
          accepted.set(target, (accepted.get(target) ?? 0) + 1)
        }
      }
    }
    await Promise.all(Array.from({ length: 16 }, worker))
    const rawNext = rawGenerator(prng(7))
    for (let i = 0; i < RAW; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => rawExchange(url, rawNext(), 3000)))
      for (const answer of answers) {
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0)
        assert.ok(status < 500 || status === 501, `raw answer ${answer.slice(0, 120)}`)
      }
    }
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
    assert.equal((await call(url, 'GET', '/healthz')).status, 200, 'still serving')
    for (const [topic, n] of accepted) {
      if (!/^[a-zA-Z0-9._-]+$/.test(topic)) continue
      const path = await consumer(url, 'audit', `c-${topic}`, [topic])
      assert.equal((await drain(url, path)).length, n, `topic ${topic}: stored = accepted`)
    }
    assert.ok([...statuses.keys()].some(s => s >= 400), 'the fuzz reached refusals')
    assert.ok((statuses.get(200) ?? 0) > 0, 'and acceptances')
  })
})
