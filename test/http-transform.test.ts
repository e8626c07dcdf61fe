/**
 * createHttpTransform (Flink async I/O): ordered and unordered results, at most `capacity`
 * requests in flight, retries of 5xx / timeouts with a final ERR_DELIVERY_FAILED, response shapes,
 * custom requests, and option validation. Against a real loopback server that holds answers on demand.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { createHttpTransform } from '../lib/sink/http-transform.js'

interface Lookup {
  url: string
  /** Requests by record id, in arrival order. */
  seen: number[]
  active: number
  maxActive: number
  /** Answers a held request (all held ones when id is undefined). */
  release: (id?: number) => void
  held: () => number
}

/**
 * A lookup service: POST {id} → {id, double}. `plan(id, attempt)` may return 'hold' (answer when
 * released), 'hang' (never), a status, or undefined (200).
 */
async function lookup (t: TestContext, plan: (id: number, attempt: number) => 'hold' | 'hang' | number | undefined = () => undefined): Promise<Lookup> {
  const attempts = new Map<number, number>()
  const holding = new Map<number, () => void>()
  const state = { seen: [] as number[], active: 0, maxActive: 0 }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (d: Buffer) => { body += d.toString() })
    req.on('end', () => {
      const id = (JSON.parse(body || '{"id":-1}') as { id: number }).id
      const attempt = (attempts.get(id) ?? 0) + 1
      attempts.set(id, attempt)
      state.seen.push(id)
      state.active++
      state.maxActive = Math.max(state.maxActive, state.active)
      const answer = (status = 200): void => {
        state.active--
        res.statusCode = status
        res.setHeader('content-type', 'application/json')
        res.end(status === 200 ? JSON.stringify({ id, double: id * 2 }) : '{"error":"no"}')
      }
      const p = plan(id, attempt)
      if (p === 'hang') return
      if (p === 'hold') holding.set(id, () => answer())
      else answer(p)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  t.after(() => { server.closeAllConnections(); server.close() })
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/lookup`,
    get seen () { return state.seen },
    get active () { return state.active },
    get maxActive () { return state.maxActive },
    release: (id) => {
      for (const [k, go] of [...holding]) {
        if (id === undefined || k === id) {
          holding.delete(k)
          go()
        }
      }
    },
    held: () => holding.size
  }
}

const ids = (n: number): Array<{ id: number }> => Array.from({ length: n }, (_, id) => ({ id }))

async function until (cond: () => boolean): Promise<void> {
  while (!cond()) await delay(5)
}

describe('createHttpTransform', () => {
  it('emits results in input order when ordered, whatever order they complete in', async (t) => {
    const svc = await lookup(t, () => 'hold')
    const tx = createHttpTransform({ url: svc.url, capacity: 10 })
    const out: unknown[] = []
    tx.on('data', (d) => out.push(d))
    for (const r of ids(5)) tx.write(r)
    await until(() => svc.held() === 5)
    for (const id of [4, 2, 3, 1]) svc.release(id)
    await delay(50)
    assert.deepEqual(out, [], 'nothing before the first record is answered')
    svc.release(0)
    tx.end()
    await once(tx, 'end')
    assert.deepEqual(out, [0, 1, 2, 3, 4].map(id => ({ id, double: id * 2 })))
  })

  it('emits results as they complete when unordered', async (t) => {
    const svc = await lookup(t, () => 'hold')
    const tx = createHttpTransform({ url: svc.url, ordered: false })
    const out: number[] = []
    tx.on('data', (d: { id: number }) => out.push(d.id))
    for (const r of ids(4)) tx.write(r)
    await until(() => svc.held() === 4)
    for (const id of [2, 0, 3, 1]) {
      svc.release(id)
      await until(() => out.length > 0 && out[out.length - 1] === id)
    }
    tx.end()
    await once(tx, 'end')
    assert.deepEqual(out, [2, 0, 3, 1])
  })

  it('keeps at most `capacity` requests in flight and backpressures the writer', async (t) => {
    const svc = await lookup(t, () => 'hold')
    const tx = createHttpTransform({ url: svc.url, capacity: 3 })
    const results: unknown[] = []
    const done = pipeline(Readable.from(ids(20)), tx, async function * (source) { for await (const r of source) results.push(r) })
    await until(() => svc.held() === 3)
    await delay(50)
    assert.equal(svc.seen.length, 3, 'the fourth record waits for a free slot')
    while (results.length < 20) {
      svc.release()
      await delay(2)
    }
    await done
    assert.equal(svc.maxActive, 3)
    assert.deepEqual(results.map(r => (r as { id: number }).id), ids(20).map(r => r.id))
  })

  it('in ordered mode counts results waiting behind a slow one against capacity', async (t) => {
    const svc = await lookup(t, (id) => id === 0 ? 'hold' : undefined)
    const tx = createHttpTransform({ url: svc.url, capacity: 3 })
    const results: unknown[] = []
    const done = pipeline(Readable.from(ids(10)), tx, async function * (source) { for await (const r of source) results.push(r) })
    await until(() => svc.seen.length === 3)
    await delay(50)
    assert.equal(svc.seen.length, 3, 'records 1 and 2 are answered but wait for 0: no fourth request')
    svc.release(0)
    await done
    assert.equal(results.length, 10)
  })

  it('retries 503 and timeouts, then succeeds', async (t) => {
    const svc = await lookup(t, (id, attempt) => attempt === 1 ? (id % 2 === 0 ? 503 : 'hang') : undefined)
    const tx = createHttpTransform({ url: svc.url, timeout: 200, retries: 2, backoff: { base: 1, max: 5 } })
    const results: unknown[] = []
    await pipeline(Readable.from(ids(6)), tx, async function * (source) { for await (const r of source) results.push(r) })
    assert.deepEqual(results, ids(6).map(({ id }) => ({ id, double: id * 2 })))
    assert.equal(svc.seen.length, 12, 'two attempts per record')
  })

  it('errors the stream with ERR_DELIVERY_FAILED (and the record) when a record cannot succeed', async (t) => {
    const svc = await lookup(t, (id) => id === 3 ? 400 : undefined)
    const tx = createHttpTransform({ url: svc.url, retries: 5, backoff: { base: 1, max: 5 } })
    await assert.rejects(pipeline(Readable.from(ids(6)), tx, async function * (source) { for await (const r of source) void r }), (err: unknown) => {
      const e = err as { code: string, records: unknown[], message: string }
      assert.equal(e.code, 'ERR_DELIVERY_FAILED')
      assert.deepEqual(e.records, [{ id: 3 }])
      assert.match(e.message, /status 400/)
      return true
    })
    assert.equal(svc.seen.filter(id => id === 3).length, 1, '400 is not retried')
    const slow = await lookup(t, () => 'hang')
    const tx2 = createHttpTransform({ url: slow.url, timeout: 50, retries: 1, backoff: { base: 1, max: 2 } })
    await assert.rejects(pipeline(Readable.from(ids(1)), tx2, async function * (source) { for await (const r of source) void r }), /ERR_REQUEST_TIMEOUT/)
  })

  it("shapes responses: 'text', 'response', and custom requests", async (t) => {
    const svc = await lookup(t)
    const text = createHttpTransform({ url: svc.url, response: 'text' })
    text.end({ id: 1 })
    assert.deepEqual(await text.toArray(), ['{"id":1,"double":2}'])
    const full = createHttpTransform({ url: svc.url, response: 'response' })
    full.end({ id: 2 })
    const [r] = await full.toArray() as Array<{ status: number, body: unknown, headers: Record<string, string> }>
    assert.equal(r?.status, 200)
    assert.deepEqual(r?.body, { id: 2, double: 4 })
    assert.equal(r?.headers['content-type'], 'application/json')
    const custom = createHttpTransform({ request: (n) => ({ url: svc.url, body: JSON.stringify({ id: (n as number) * 10 }) }) })
    custom.end(7)
    assert.deepEqual(await custom.toArray(), [{ id: 70, double: 140 }])
  })

  it('validates its options, naming the field', () => {
    assert.throws(() => createHttpTransform({}), { code: 'ERR_INVALID_OPTION', field: 'url' })
    assert.throws(() => createHttpTransform({ url: 'x' }), { field: 'url' })
    assert.throws(() => createHttpTransform({ url: 'http://x', capacity: 0 }), { field: 'capacity' })
    assert.throws(() => createHttpTransform({ url: 'http://x', retries: -1 }), { field: 'retries' })
    assert.throws(() => createHttpTransform({ url: 'http://x', response: 'xml' as never }), { field: 'response' })
    assert.throws(() => createHttpTransform({ url: 'http://x', backoff: { base: 10, max: 1 } }), { field: 'backoff' })
  })
})

describe('createHttpTransform on real endpoints', () => {
  it('takes the writable\'s endpoint options: mTLS to an HTTPS server with our CA, refused without it', async (t) => {
    const { makeTestCerts } = await import('./helpers/tls-certs.js')
    const { startTlsServer } = await import('./helpers/tls-server.js')
    const certs = makeTestCerts()
    t.after(() => certs.remove())
    const s = await startTlsServer({ key: certs.server.key, cert: certs.server.cert, ca: certs.ca, requestCert: true })
    t.after(() => s.close())
    const tls = { ca: certs.ca, cert: certs.client.cert, key: certs.client.key }
    const out: unknown[] = []
    await pipeline(Readable.from([{ id: 1 }, { id: 2 }, { id: 3 }]), createHttpTransform({ url: `${s.url}/enrich`, tls, capacity: 2 }), async function * (source) {
      for await (const v of source) out.push(v)
    })
    assert.deepEqual(out, [{ ok: true }, { ok: true }, { ok: true }])
    assert.deepEqual(s.arrivals.map((a) => a.clientCN), ['sink-client', 'sink-client', 'sink-client'])
    await assert.rejects(pipeline(Readable.from([{ id: 1 }]), createHttpTransform({ url: `${s.url}/enrich`, retries: 0 }), async function * (source) { for await (const _ of source) yield _ }), { code: 'ERR_DELIVERY_FAILED' })
    assert.throws(() => createHttpTransform({ url: `${s.url}/enrich`, tls: { ca: 42 as never } }), { code: 'ERR_INVALID_OPTION', field: 'tls.ca' })
  })
})
