/**
 * The server's Idempotency-Key handling (`dedup`, the IETF httpapi draft): a key applied within the
 * window is not applied again and its first answer comes back; a key in progress is 409 / 40904; the
 * same key with another request 422 / 42207; a failed first attempt forgets its key; keys expire
 * after `windowMs`, the oldest go past `maxKeys`, and the table lives in the memory budget. On every
 * produce surface: Kafka REST v2 (topic, partition, NDJSON), /actions actionSendStream, InLong.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import { UsageError } from '../lib/cli/io.js'
import type { RouteContext } from '../lib/server/context.js'
import { withIdempotency } from '../lib/server/dedup.js'
import { DedupTable } from '../lib/server/dedup-table.js'
import { run as serve } from '../lib/cli/serve.js'
import type { MemoryReceiver } from '../lib/server/receivers/memory.js'
import type { ProducedOffset, ProduceRecord, Receiver, ReceiverOperation } from '../lib/server/receivers/receiver.js'
import { ReceiverFullError } from '../lib/server/receivers/receiver-errors.js'
import { createHttpStreamServer, type HttpStreamServer } from '../lib/server/server.js'
import { call, FORM, NDJSON, startServer, V2_JSON, type Answer } from './helpers/server-fixture.js'
import { startServerProcess } from './helpers/server-process.js'

const KEY = 'idempotency-key'
const body = (...values: unknown[]): { records: Array<{ value: unknown }> } => ({ records: values.map(value => ({ value })) })
const keyed = (key: string, extra: Record<string, string> = {}): Record<string, string> => ({ [KEY]: key, ...extra })

/** Records the memory receiver holds in `topic`. */
async function count (server: HttpStreamServer, topic: string): Promise<number> {
  const offsets = await (server.receiver as MemoryReceiver).partitionOffsets(topic, 0)
  return offsets === null ? 0 : offsets.end - offsets.beginning
}

/** A receiver whose produce can be held open (a request in progress) or made to fail once. */
class GatedReceiver implements Receiver {
  readonly kind = 'gated'
  readonly operations: ReadonlySet<ReceiverOperation> = new Set<ReceiverOperation>(['produce'])
  readonly stored: unknown[] = []
  calls = 0
  failNext: Error | undefined
  private gate: Promise<void> | undefined
  private open: (() => void) | undefined
  private arrived: Array<() => void> = []

  hold (): void {
    this.gate = new Promise(resolve => { this.open = resolve })
  }

  release (): void {
    this.open?.()
    this.gate = undefined
  }

  /** Resolves once `n` produce calls have arrived. */
  async calledTimes (n: number): Promise<void> {
    while (this.calls < n) await new Promise<void>(resolve => this.arrived.push(resolve))
  }

  async produce (_topic: string, records: ProduceRecord[]): Promise<ProducedOffset[]> {
    this.calls++
    for (const wake of this.arrived.splice(0)) wake()
    if (this.gate !== undefined) await this.gate
    const fail = this.failNext
    this.failNext = undefined
    if (fail !== undefined) throw fail
    const first = this.stored.length
    for (const r of records) this.stored.push(r.value)
    return records.map((_, i) => ({ partition: 0, offset: first + i }))
  }

  async close (): Promise<void> {}
}

function sameAnswer (a: Answer, b: Answer): void {
  assert.equal(b.status, a.status)
  assert.equal(b.text, a.text)
  assert.equal(b.headers['content-type'], a.headers['content-type'])
}

describe('server dedup: Idempotency-Key', () => {
  it('applies a key once and sends its first answer back (topic, partition, NDJSON)', async (t) => {
    const server = await startServer(t)
    const first = await call(server.url, 'POST', '/topics/d', { body: body(1, 2), headers: keyed('k-1') })
    assert.equal(first.status, 200, first.text)
    assert.equal(first.headers['idempotent-replayed'], undefined)
    const again = await call(server.url, 'POST', '/topics/d', { body: body(1, 2), headers: keyed('k-1') })
    sameAnswer(first, again)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal(await count(server, 'd'), 2, 'the retry was not applied')

    const p = await call(server.url, 'POST', '/topics/d/partitions/0', { body: body(3), headers: keyed('k-2') })
    sameAnswer(p, await call(server.url, 'POST', '/topics/d/partitions/0', { body: body(3), headers: keyed('k-2') }))
    const lines = '{"n":4}\n{"n":5}\n'
    const bulk = await call(server.url, 'POST', '/topics/d', { body: lines, type: NDJSON, headers: keyed('k-3') })
    assert.deepEqual([bulk.status, bulk.json.count], [200, 2])
    sameAnswer(bulk, await call(server.url, 'POST', '/topics/d', { body: lines, type: NDJSON, headers: keyed('k-3') }))
    assert.equal(await count(server, 'd'), 5)
    // The draft's form (a Structured Field String) and the bare value are the same key.
    sameAnswer(bulk, await call(server.url, 'POST', '/topics/d', { body: lines, type: NDJSON, headers: keyed('"k-3"') }))
    assert.equal(await count(server, 'd'), 5)
    t.diagnostic(`5 records in 3 keyed requests sent 7 times: topic holds ${await count(server, 'd')}, table ${server.dedup?.size} keys / ${server.dedup?.bytes} bytes`)
  })

  it('leaves requests without the header alone, and applies every copy with dedup: false', async (t) => {
    const on = await startServer(t)
    for (let i = 0; i < 2; i++) assert.equal((await call(on.url, 'POST', '/topics/n', { body: body('x') })).status, 200)
    assert.equal(await count(on, 'n'), 2)
    assert.equal(on.dedup?.size, 0)
    const off = await startServer(t, { dedup: false })
    assert.equal(off.dedup, undefined)
    for (let i = 0; i < 2; i++) {
      const a = await call(off.url, 'POST', '/topics/n', { body: body('x'), headers: keyed('same') })
      assert.equal(a.headers['idempotent-replayed'], undefined)
    }
    assert.equal(await count(off, 'n'), 2)
  })

  it('answers 409 / 40904 while the first request is still being applied, remembers it once answered', async (t) => {
    const receiver = new GatedReceiver()
    const server = await startServer(t, { receiver })
    receiver.hold()
    const first = call(server.url, 'POST', '/topics/g', { body: body('a'), headers: keyed('slow') })
    await receiver.calledTimes(1)
    const busy = await call(server.url, 'POST', '/topics/g', { body: body('a'), headers: keyed('slow') })
    assert.deepEqual([busy.status, busy.json.error_code], [409, 40904], busy.text)
    assert.equal(busy.headers['retry-after'], '1')
    assert.match(busy.json.message, /still being processed/)
    receiver.release()
    const done = await first
    assert.equal(done.status, 200, done.text)
    sameAnswer(done, await call(server.url, 'POST', '/topics/g', { body: body('a'), headers: keyed('slow') }))
    assert.deepEqual([receiver.calls, receiver.stored], [1, ['a']])
  })

  it('remembers a key whose client left before the answer: its retry is not applied again', async (t) => {
    const receiver = new GatedReceiver()
    const server = await startServer(t, { receiver })
    receiver.hold()
    const gone = new AbortController()
    const first = request(`${server.url}/topics/g`, { method: 'POST', headers: keyed('left', { 'content-type': V2_JSON }), body: JSON.stringify(body('once')), signal: gone.signal })
    await receiver.calledTimes(1)
    gone.abort()
    await assert.rejects(first)
    receiver.release()
    let retry: Answer
    do retry = await call(server.url, 'POST', '/topics/g', { body: body('once'), headers: keyed('left') })
    while (retry.status === 409)
    assert.equal(retry.status, 200, retry.text)
    assert.equal(retry.headers['idempotent-replayed'], 'true')
    assert.deepEqual(receiver.stored, ['once'])
  })

  it('answers 422 / 42207 for the same key with another body, target or content type', async (t) => {
    const server = await startServer(t)
    assert.equal((await call(server.url, 'POST', '/topics/a', { body: body(1), headers: keyed('reused') })).status, 200)
    const other = [
      await call(server.url, 'POST', '/topics/a', { body: body(2), headers: keyed('reused') }),
      await call(server.url, 'POST', '/topics/b', { body: body(1), headers: keyed('reused') }),
      await call(server.url, 'POST', '/topics/a/partitions/0', { body: body(1), headers: keyed('reused') }),
      await call(server.url, 'POST', '/topics/a', { body: JSON.stringify(body(1)), type: 'application/json', headers: keyed('reused') })
    ]
    for (const a of other) {
      assert.deepEqual([a.status, a.json.error_code], [422, 42207], a.text)
      assert.match(a.json.message, /already used with a different request/)
    }
    assert.deepEqual([await count(server, 'a'), await count(server, 'b')], [1, 0])
  })

  it('forgets the key of a failed first attempt (429, bad body, receiver error), so the retry is applied', async (t) => {
    const receiver = new GatedReceiver()
    const server = await startServer(t, { receiver })
    receiver.failNext = new ReceiverFullError('f', 1)
    const full = await call(server.url, 'POST', '/topics/f', { body: body('r'), headers: keyed('k429') })
    assert.deepEqual([full.status, full.json.error_code], [429, 42901])
    const retried = await call(server.url, 'POST', '/topics/f', { body: body('r'), headers: keyed('k429') })
    assert.equal(retried.status, 200, retried.text)
    assert.equal(retried.headers['idempotent-replayed'], undefined)
    receiver.failNext = new Error('disk on fire')
    assert.equal((await call(server.url, 'POST', '/topics/f', { body: body('s'), headers: keyed('k500') })).status, 500)
    assert.equal((await call(server.url, 'POST', '/topics/f', { body: body('s'), headers: keyed('k500') })).status, 200)
    const bad = await call(server.url, 'POST', '/topics/f', { body: { records: [] }, headers: keyed('k422') })
    assert.equal(bad.status, 422)
    assert.equal((await call(server.url, 'POST', '/topics/f', { body: body('t'), headers: keyed('k422') })).status, 200)
    assert.deepEqual(receiver.stored, ['r', 's', 't'])
    assert.equal(server.dedup?.size, 3)
  })

  it('refuses a malformed key with 400 / 40011', async (t) => {
    const server = await startServer(t)
    const bad = ['', '"open', '"a"b', '"tab\there"', 'x'.repeat(257)]
    for (const key of bad) {
      const a = await call(server.url, 'POST', '/topics/m', { body: body(1), headers: keyed(key) })
      assert.deepEqual([a.status, a.json?.error_code], [400, 40011], `${JSON.stringify(key)}: ${a.text}`)
    }
    const twice = await request(`${server.url}/topics/m`, { method: 'POST', headers: [KEY, 'a', KEY, 'b', 'content-type', 'application/json'], body: JSON.stringify(body(1)) })
    const text = await twice.body.text()
    assert.deepEqual([twice.statusCode, JSON.parse(text).error_code], [400, 40011], text)
    assert.match(text, /sent once/)
    assert.equal(await count(server, 'm'), 0)
    assert.equal((await call(server.url, 'POST', '/topics/m', { body: body(1), headers: keyed('x'.repeat(256)) })).status, 200)
  })

  it('expires a key after windowMs: the same key is then applied again', async (t) => {
    const server = await startServer(t, { dedup: { windowMs: 50 } })
    assert.equal((await call(server.url, 'POST', '/topics/e', { body: body(1), headers: keyed('old') })).status, 200)
    assert.equal((await call(server.url, 'POST', '/topics/e', { body: body(1), headers: keyed('old') })).headers['idempotent-replayed'], 'true')
    await sleep(200)
    const late = await call(server.url, 'POST', '/topics/e', { body: body(1), headers: keyed('old') })
    assert.equal(late.headers['idempotent-replayed'], undefined)
    assert.equal(await count(server, 'e'), 2)
  })

  it('holds at most maxKeys keys, dropping the oldest first', async (t) => {
    const server = await startServer(t, { dedup: { maxKeys: 3 } })
    for (let i = 1; i <= 4; i++) assert.equal((await call(server.url, 'POST', '/topics/x', { body: body(i), headers: keyed(`k${i}`) })).status, 200)
    assert.deepEqual([server.dedup?.size, server.dedup?.evicted], [3, 1])
    assert.equal((await call(server.url, 'POST', '/topics/x', { body: body(4), headers: keyed('k4') })).headers['idempotent-replayed'], 'true')
    assert.equal((await call(server.url, 'POST', '/topics/x', { body: body(1), headers: keyed('k1') })).headers['idempotent-replayed'], undefined)
    assert.equal(await count(server, 'x'), 5, 'k1 was dropped, so it was applied again')
  })

  it('keeps the key table inside the memory budget: records and keys together stay within maxBytes', async (t) => {
    const budget = 256 * 1024
    const server = await startServer(t, { maxBytes: budget })
    const receiver = server.receiver as MemoryReceiver
    const table = server.dedup
    assert.ok(table !== undefined)
    let most = 0
    let refused = 0
    // Each request stores 50 records of ~100 bytes and is answered with 50 offsets (~3 KiB kept per key).
    for (let i = 0; i < 120; i++) {
      const values = Array.from({ length: 50 }, (_, j) => ({ i, j, pad: 'p'.repeat(60) }))
      const a = await call(server.url, 'POST', '/topics/budget', { body: body(...values), headers: keyed(`b${i}`) })
      if (a.status === 429) refused++
      else assert.equal(a.status, 200, a.text)
      most = Math.max(most, receiver.heldBytes + table.bytes)
      assert.ok(receiver.heldBytes + table.bytes <= budget, `request ${i}: records ${receiver.heldBytes} + keys ${table.bytes} <= ${budget}`)
    }
    t.diagnostic(`budget ${budget}: at most ${most} bytes held (records ${receiver.heldBytes}, keys ${table.bytes} in ${table.size} keys); ${table.evicted} keys gave way to records; ${refused} requests refused 429`)
    assert.ok(table.evicted > 0, 'keys gave way to records')
    assert.ok(refused > 0, 'the budget filled up')
  })

  it('requests without keys cannot push records and keys together past maxBytes: the keys give way first', async (t) => {
    const budget = 256 * 1024
    const server = await startServer(t, { maxBytes: budget })
    const receiver = server.receiver as MemoryReceiver
    const table = server.dedup!
    const values = (i: number): unknown[] => Array.from({ length: 50 }, (_, j) => ({ i, j, pad: 'p'.repeat(60) }))
    // Keys first, then only unkeyed requests: before the receiver counted the table, these went over.
    for (let i = 0; i < 10; i++) assert.equal((await call(server.url, 'POST', '/topics/shared', { body: body(...values(i)), headers: keyed(`s${i}`) })).status, 200)
    const keysBefore = table.size
    let most = 0
    let refused = 0
    for (let i = 10; i < 120; i++) {
      const a = await call(server.url, 'POST', '/topics/shared', { body: body(...values(i)) })
      if (a.status === 429) refused++
      else assert.equal(a.status, 200, a.text)
      most = Math.max(most, receiver.heldBytes + table.bytes)
      assert.ok(receiver.heldBytes + table.bytes <= budget, `request ${i}: records ${receiver.heldBytes} + keys ${table.bytes} <= ${budget}`)
    }
    t.diagnostic(`budget ${budget}: ${keysBefore} keys before, ${table.size} after; at most ${most} bytes held; ${refused} unkeyed requests refused 429`)
    assert.ok(table.size < keysBefore, 'keys gave way to records')
  })

  it('dedups /actions actionSendStream and InLong reports; an InLong failure code forgets the key', async (t) => {
    const server = await startServer(t, { inlong: { topics: { 'g.s': 'inl' } } })
    const send = { action: 'actionSendStream', topic: 'act', rows: ['r1', 'r2'], batchId: 7 }
    const a = await call(server.url, 'POST', '/actions', { body: send, type: 'application/json', headers: keyed('act-1') })
    assert.equal(a.status, 200, a.text)
    sameAnswer(a, await call(server.url, 'POST', '/actions', { body: send, type: 'application/json', headers: keyed('act-1') }))
    assert.equal(await count(server, 'act'), 2)
    const form = 'groupId=g&streamId=s&dt=1700000000000&body=l1%0Al2&cnt=2'
    const r = await call(server.url, 'POST', '/dataproxy/message', { body: form, type: FORM, headers: keyed('inl-1') })
    assert.equal(r.json.code, '0', r.text)
    const again = await call(server.url, 'POST', '/dataproxy/message', { body: form, type: FORM, headers: keyed('inl-1') })
    sameAnswer(r, again)
    assert.equal(again.headers['x-inlong-code'], '0')
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal(await count(server, 'inl'), 1)
    const unknown = 'groupId=g&streamId=other&body=x'
    assert.equal((await call(server.url, 'POST', '/dataproxy/message', { body: unknown, type: FORM, headers: keyed('inl-2') })).json.code, '115')
    assert.equal(server.dedup?.size, 2, 'the failed report left no key behind')
  })

  it('forgets every key when the server restarts (the window is in memory): the retry is applied again', async (t) => {
    const server = await startServerProcess(t)
    const send = async (): Promise<Answer> => await call(server.url, 'POST', '/topics/r', { body: body('before'), headers: keyed('restart') })
    assert.equal((await send()).status, 200)
    assert.equal((await send()).headers['idempotent-replayed'], 'true')
    await server.kill()
    await server.start()
    const after = await send()
    assert.equal(after.status, 200)
    assert.equal(after.headers['idempotent-replayed'], undefined, 'a restarted server does not know the key')
  })

  it('http-stream serve --dedup-max-keys / --dedup-window-ms / --no-dedup', async (t) => {
    const started = async (args: string[]): Promise<string> => {
      const stop = new AbortController()
      let out = ''
      const stdout = new PassThrough()
      stdout.on('data', (d: Buffer) => { out += d.toString() })
      const stderr = new PassThrough()
      stderr.resume()
      const serving = serve(['--port', '0', ...args], { stdin: Readable.from([]), stdout, stderr, signal: stop.signal })
      t.after(async () => { stop.abort(); await serving.catch(() => {}) })
      while (!out.includes('listening on')) await Promise.race([sleep(10), serving])
      return /listening on (\S+)/.exec(out)?.[1] as string
    }
    const replayed = async (url: string, key: string): Promise<string | string[] | undefined> =>
      (await call(url, 'POST', '/topics/c', { body: body(key), headers: keyed(key) })).headers['idempotent-replayed']
    const small = await started(['--dedup-max-keys', '1', '--dedup-window-ms', '60000'])
    await replayed(small, 'a')
    assert.equal(await replayed(small, 'a'), 'true')
    await replayed(small, 'b')
    assert.equal(await replayed(small, 'a'), undefined, 'one key at most: a was dropped for b')
    const off = await started(['--no-dedup'])
    await replayed(off, 'a')
    assert.equal(await replayed(off, 'a'), undefined)
    await assert.rejects(serve(['--no-dedup', '--dedup-max-keys', '5'], { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough() }), UsageError)
    await assert.rejects(serve(['--dedup-window-ms', 'soon'], { stdin: Readable.from([]), stdout: new PassThrough(), stderr: new PassThrough() }), /--dedup-window-ms takes a whole number/)
  })

  it('records a streamed answer (writeHead, write…, end) whole and replays it: the contract of withIdempotency', async (t) => {
    const table = new DedupTable({ windowMs: 60_000, maxKeys: 10, room: () => 1 << 20 })
    let applied = 0
    const http = createServer((req, res) => {
      void (async () => {
        const chunks: Buffer[] = []
        for await (const c of req) chunks.push(c as Buffer)
        const ex = { req, res, url: new URL(req.url ?? '/', 'http://x'), segments: [] }
        await withIdempotency({ dedup: table } as unknown as RouteContext, ex, Buffer.concat(chunks), async (ex) => {
          applied++
          ex.res.writeHead(200, { 'content-type': 'application/json' })
          for (let i = 0; i < 3; i++) ex.res.write(`{"n":${i}}\r\n`)
          ex.res.end()
        })
      })().catch((err: Error) => { res.statusCode = 500; res.end(err.message) })
    })
    await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise<void>(resolve => http.close(() => resolve())))
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
    const first = await call(url, 'POST', '/v3/records', { body: '{"value":1}', type: 'application/json', headers: keyed('s-1') })
    const again = await call(url, 'POST', '/v3/records', { body: '{"value":1}', type: 'application/json', headers: keyed('s-1') })
    assert.equal(first.text, '{"n":0}\r\n{"n":1}\r\n{"n":2}\r\n')
    sameAnswer(first, again)
    assert.equal(again.headers['idempotent-replayed'], 'true')
    assert.equal(applied, 1)
  })

  it('refuses a bad dedup option, naming the field', () => {
    for (const dedup of [{ windowMs: 0 }, { maxKeys: 1.5 }, { window: 5 }, true]) {
      assert.throws(() => createHttpStreamServer({ dedup } as never), (err: any) => err.code === 'ERR_INVALID_OPTION' && /dedup/.test(err.message), JSON.stringify(dedup))
    }
  })
})
