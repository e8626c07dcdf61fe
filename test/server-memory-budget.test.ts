/**
 * The memory receiver's server-wide limits: a memory budget over all topics (`maxBytes`: 429 / 42902
 * with Retry-After past it, nothing acknowledged lost), a topic count limit (`maxTopics`: 422 / 42220, ours: Confluent's 42206 is "payload error"),
 * records charged what they hold (their JSON text + a fixed overhead), and the JSON key and string
 * limits that stop one request from costing far more memory than its size (400 / 40005, 40006).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createHttpStreamServer } from '../lib/server/server.js'
import { RECORD_OVERHEAD, type MemoryReceiver } from '../lib/server/receivers/memory.js'
import { call, consumer, drain, FORM, NDJSON, produce, startServer, V2 } from './helpers/server-fixture.js'

const MiB = 1024 * 1024
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
/** RSS and live heap (+ buffers) after a full collection: what the process really keeps. */
const memory = (): { rss: number, live: number } => {
  gc()
  const m = process.memoryUsage()
  return { rss: m.rss, live: m.heapUsed + m.arrayBuffers }
}
const delta = (a: { rss: number, live: number }, b: { rss: number, live: number }): string =>
  `RSS ${mib(a.rss)} → ${mib(b.rss)} (+${mib(b.rss - a.rss)}), live heap +${mib(b.live - a.live)}`
const held = (server: { receiver: unknown }): number => (server.receiver as MemoryReceiver).heldBytes

describe('memory receiver: server-wide budget', () => {
  it('300 topics × 1 MiB against a 32 MiB budget: the rest answer 429 + Retry-After, nothing acknowledged is lost', async (t) => {
    const budget = 32 * MiB
    const server = await startServer(t, { maxBytes: budget })
    const { url } = server
    const line = (topic: number, i: number): string => JSON.stringify({ topic, i, pad: 'x'.repeat(64 * 1024 - 40) })
    const body = (topic: number): string => Array.from({ length: 16 }, (_, i) => line(topic, i)).join('\n') + '\n'
    const before = memory()
    const accepted: number[] = []
    const refused: number[] = []
    for (let topic = 0; topic < 300; topic++) {
      const a = await call(url, 'POST', `/topics/t${topic}`, { body: body(topic), type: NDJSON })
      if (a.status === 200) {
        accepted.push(topic)
        continue
      }
      assert.deepEqual([a.status, a.json.error_code], [429, 42902], `topic ${topic}: ${a.text}`)
      assert.match(String(a.headers['retry-after']), /^([1-9]|[12]\d|30)$/)
      assert.match(a.json.message, /maxBytes/)
      refused.push(topic)
    }
    const heldBytes = held(server)
    const after = memory()
    let fetched = 0
    let lost = 0
    let duplicated = 0
    for (const topic of accepted) {
      const got = await drain(url, await consumer(url, `g${topic}`, 'c', [`t${topic}`]))
      const seen = new Set(got.map(r => r.value.i))
      fetched += got.length
      duplicated += got.length - seen.size
      for (let i = 0; i < 16; i++) if (!seen.has(i) || got.find(r => r.value.i === i).value.pad.length !== 64 * 1024 - 40) lost++
    }
    t.diagnostic(`written ${300 * 16} records in 300 requests of 1 MiB; accepted ${accepted.length} requests (${accepted.length * 16} records), refused ${refused.length} with 429; fetched ${fetched}, lost ${lost}, duplicated ${duplicated}`)
    t.diagnostic(`budget ${mib(budget)}; receiver holds ${heldBytes} bytes (${mib(heldBytes)}); ${delta(before, after)}`)
    assert.equal(lost, 0)
    assert.equal(duplicated, 0)
    assert.ok(heldBytes <= budget, `held ${heldBytes} <= ${budget}`)
    assert.ok(after.live - before.live < 2 * budget, `the process keeps about the budget (live heap +${mib(after.live - before.live)})`)
    assert.ok(accepted.length >= 30 && accepted.length < 32, `about budget / 1 MiB requests fit (${accepted.length})`)
    assert.ok(refused.length >= 268)
    assert.deepEqual(accepted, Array.from({ length: accepted.length }, (_, i) => i), 'the first ones fit, every later one is refused')
  })

  it('charges each record its JSON text plus a fixed overhead, and frees it when evicted', async (t) => {
    const server = await startServer(t, { retention: { records: 3 } })
    const { url } = server
    const lines = ['{"a":1}', '"héllo"', '[1,2,3]']
    const path = await consumer(url, 'g', 'c', ['m'])
    assert.equal((await call(url, 'POST', '/topics/m', { body: lines.join('\n'), type: NDJSON })).status, 200)
    const lineCost = lines.reduce((n, l) => n + Buffer.byteLength(l) + RECORD_OVERHEAD, 0)
    assert.equal(held(server), lineCost)
    const rest = await call(url, 'POST', '/topics/k', { body: { records: [{ key: '123', value: { b: 'x' } }] } })
    assert.equal(rest.status, 200)
    const restCost = Buffer.byteLength('{"b":"x"}') + Buffer.byteLength('"123"') + RECORD_OVERHEAD
    assert.equal(held(server), lineCost + restCost)
    const got = await drain(url, await consumer(url, 'g', 'k', ['k']))
    assert.deepEqual(got.map(r => [r.key, r.value]), [['123', { b: 'x' }]], 'key and value come back as they went in')
    assert.deepEqual((await drain(url, path)).map(r => r.value), [{ a: 1 }, 'héllo', [1, 2, 3]])
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'm', partition: 0, offset: 1 }] }, type: V2 })
    assert.equal((await call(url, 'POST', '/topics/m', { body: '7\n8\n', type: NDJSON })).status, 200, 'two committed records made room')
    assert.equal(held(server), Buffer.byteLength(lines[2] as string) + 2 * (1 + RECORD_OVERHEAD) + RECORD_OVERHEAD + restCost)
  })

  it('makes room from records every group committed, in any topic; answers 429 on every surface otherwise', async (t) => {
    const budget = 64 * 1024
    const server = await startServer(t, { maxBytes: budget })
    const { url } = server
    const big = (n: number): string[] => Array.from({ length: n }, () => 'y'.repeat(1000))
    const path = await consumer(url, 'g', 'c', ['a'])
    let sent = 0
    while ((await produce(url, 'a', big(1))).status === 200) sent++
    assert.ok(sent >= 40 && sent < 64, `about 64 KiB of 1 KiB records fit (${sent})`)
    const full = await produce(url, 'b', big(1))
    assert.deepEqual([full.status, full.json.error_code], [429, 42902], 'another topic is refused too: the budget is server-wide')
    const action = await call(url, 'POST', '/actions', { body: { action: 'actionSendStream', topic: 'b', rows: big(1) }, type: 'application/json' })
    assert.deepEqual([action.status, action.json.error_code], [429, 42902])
    assert.ok(Number(action.headers['retry-after']) >= 1)
    const form = new URLSearchParams({ groupId: 'b', streamId: 's', body: 'y'.repeat(1000) }).toString()
    const inlong = await call(url, 'POST', '/dataproxy/message', { body: form, type: FORM })
    assert.equal(inlong.json.code, '114', `InLong answers a full budget as a full topic: ${inlong.text}`)
    const huge = await produce(url, 'b', ['z'.repeat(budget)])
    assert.deepEqual([huge.status, huge.json.error_code], [413, 41301], 'larger than the whole budget: never fits')
    const got = await drain(url, path)
    assert.equal(got.length, sent)
    await call(url, 'POST', `${path}/offsets`, { body: { offsets: [{ topic: 'a', partition: 0, offset: 9 }] }, type: V2 })
    assert.equal((await produce(url, 'b', big(10))).status, 200, 'ten records of topic a committed: room for ten in topic b')
    assert.equal((await produce(url, 'b', big(1))).status, 429)
    assert.ok(held(server) <= budget)
    const metrics = (await call(url, 'GET', '/metrics')).text
    assert.match(metrics, /^http_stream_throttled_total\{topic="b"\} 3$/m)
    assert.match(metrics, /^http_stream_throttled_total\{topic="b\.s"\} 1$/m, 'the InLong refusal counts as throttled too')
    t.diagnostic(`budget ${budget}: ${sent} records of 1 KiB accepted, held ${held(server)} bytes`)
  })

  it("with onFull 'drop-oldest' evicts the oldest records to stay in the budget, counting them dropped", async (t) => {
    const budget = 32 * 1024
    const server = await startServer(t, { maxBytes: budget, onFull: 'drop-oldest' })
    const { url } = server
    await consumer(url, 'g', 'c', ['d'])
    for (let i = 0; i < 100; i++) assert.equal((await produce(url, i % 2 === 0 ? 'd' : 'e', ['w'.repeat(1000)])).status, 200)
    assert.ok(held(server) <= budget)
    const dropped = [...(await call(url, 'GET', '/metrics')).text.matchAll(/^http_stream_records_dropped_total\{topic="(\w)"\} (\d+)$/gm)]
    const total = dropped.reduce((n, m) => n + Number(m[2]), 0)
    const kept = (server.receiver as MemoryReceiver).topics.get('d')!.count + (server.receiver as MemoryReceiver).topics.get('e')!.count
    t.diagnostic(`100 records of 1 KiB into a ${budget}-byte budget: kept ${kept}, dropped ${total}, held ${held(server)}`)
    assert.equal(kept + total, 100, 'every record is kept or counted dropped')
  })
})

describe('memory receiver: topic count limit', () => {
  it('answers 422 / 42220 for a topic past maxTopics on every surface; existing topics go on', async (t) => {
    const { url } = await startServer(t, { maxTopics: 3 })
    for (const name of ['a', 'b', 'c']) assert.equal((await produce(url, name, [1])).status, 200)
    const past = await produce(url, 'd', [1])
    assert.deepEqual([past.status, past.json.error_code], [422, 42220], past.text)
    assert.match(past.json.message, /maxTopics \(3\)/)
    assert.equal((await produce(url, 'a', [2])).status, 200)
    const created = await call(url, 'POST', '/consumers/g', { body: { name: 'c', format: 'json' }, type: V2 })
    assert.equal(created.status, 200)
    const sub = await call(url, 'POST', '/consumers/g/instances/c/subscription', { body: { topics: ['e'] }, type: V2 })
    assert.deepEqual([sub.status, sub.json.error_code], [422, 42220])
    const action = await call(url, 'POST', '/actions', { body: { action: 'actionSendStream', topic: 'f', rows: [1] }, type: 'application/json' })
    assert.deepEqual([action.status, action.json.error_code], [422, 42220])
    const form = new URLSearchParams({ groupId: 'g', streamId: 's', body: 'x' }).toString()
    assert.equal((await call(url, 'POST', '/dataproxy/message', { body: form, type: FORM })).json.code, '115')
    assert.deepEqual(((await call(url, 'GET', '/topics')).json as string[]).sort(), ['a', 'b', 'c'])
  })

  it('checks maxBytes, maxTopics, maxJsonKeys and maxJsonStringLength at construction, naming the field', () => {
    const cases: Array<[object, string]> = [
      [{ maxBytes: 0 }, 'maxBytes'], [{ maxTopics: 1.5 }, 'maxTopics'], [{ maxJsonKeys: 0 }, 'maxJsonKeys'],
      [{ maxJsonStringLength: '1' }, 'maxJsonStringLength'], [{ receiver: 'null', maxBytes: 1024 }, 'maxBytes'],
      [{ receiver: 'null', maxTopics: 5 }, 'maxTopics'], [{ maxTopics: 2, topics: ['a', 'b', 'c'] }, 'topics']
    ]
    for (const [options, field] of cases) {
      assert.throws(() => createHttpStreamServer(options as never), { code: 'ERR_INVALID_OPTION', field }, JSON.stringify(options))
    }
  })
})

describe('JSON key and string limits', () => {
  it('refuses an object of 10⁶ keys before parsing it (400 / 40005 naming maxJsonKeys); the server stays small and serves on', async (t) => {
    const server = await startServer(t)
    const { url } = server
    const keys = Array.from({ length: 1_000_000 }, (_, i) => `"k${i}":0`).join(',')
    const rest = `{"records":[{"value":{${keys}}}]}`
    const before = memory()
    const health = call(url, 'GET', '/healthz')
    const started = process.hrtime.bigint()
    const a = await call(url, 'POST', '/topics/wide', { body: rest })
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    const after = memory()
    assert.deepEqual([a.status, a.json.error_code], [400, 40005], a.text.slice(0, 200))
    assert.match(a.json.message, /more than 10000 keys \(maxJsonKeys\)/)
    assert.equal((await health).status, 200)
    const line = await call(url, 'POST', '/topics/wide', { body: `1\n{${keys}}\n`, type: NDJSON })
    assert.deepEqual([line.status, line.json.error_code], [400, 40005])
    assert.match(line.json.message, /^line 2/)
    assert.equal(held(server), 0, 'nothing of either request was stored')
    t.diagnostic(`request of ${mib(Buffer.byteLength(rest))} with 10^6 keys refused in ${ms.toFixed(0)} ms; ${delta(before, after)}`)
  })

  it('counts keys per object, not per body, and ignores colons inside strings', async (t) => {
    const { url } = await startServer(t, { maxJsonKeys: 3 })
    const obj = (n: number, from = 0): string => `{${Array.from({ length: n }, (_, i) => `"k${from + i}":1`).join(',')}}`
    assert.equal((await call(url, 'POST', '/topics/k', { body: `${obj(3)}\n`, type: NDJSON })).status, 200)
    const four = await call(url, 'POST', '/topics/k', { body: `${obj(4)}\n`, type: NDJSON })
    assert.deepEqual([four.status, four.json.error_code], [400, 40005])
    assert.equal((await call(url, 'POST', '/topics/k', { body: `[${obj(3)},${obj(3)},{"a":${obj(3)}}]\n`, type: NDJSON })).status, 200)
    assert.equal((await call(url, 'POST', '/topics/k', { body: '{"a":"x:y:z:w:v","b":"\\":\\":"}\n', type: NDJSON })).status, 200)
    const records = await call(url, 'POST', '/topics/k', { body: { records: [{ value: 1 }, { value: 2 }, { value: 3 }, { value: 4 }] } })
    assert.equal(records.status, 200, 'records of one request are separate objects')
    const actions = await call(url, 'POST', '/actions', { body: { action: 'actionSendStream', topic: 'k', rows: [1], x: 1 }, type: 'application/json' })
    assert.deepEqual([actions.status, actions.json.error_code], [400, 40005], 'every JSON surface is guarded')
  })

  it('refuses a string longer than maxJsonStringLength (400 / 40006), escapes and keys included', async (t) => {
    const server = await startServer(t)
    const { url } = server
    const limit = 1024 * 1024
    assert.equal((await produce(url, 's', ['a'.repeat(limit)])).status, 200, 'exactly the limit')
    const long = await produce(url, 's', ['a'.repeat(limit + 1)])
    assert.deepEqual([long.status, long.json.error_code], [400, 40006], long.text.slice(0, 200))
    assert.match(long.json.message, /longer than 1048576 characters \(maxJsonStringLength\)/)
    const small = await startServer(t, { maxJsonStringLength: 100 })
    const cases = [`"${'\\"'.repeat(51)}"`, `{"${'k'.repeat(101)}":1}`, `["${'\\\\'.repeat(40)}${'b'.repeat(30)}"]`]
    for (const text of cases) {
      const a = await call(small.url, 'POST', '/topics/s', { body: `${text}\n`, type: NDJSON })
      assert.deepEqual([a.status, a.json?.error_code], [400, 40006], text.slice(0, 40))
    }
    const many = `[${Array.from({ length: 50 }, () => `"${'c'.repeat(99)}"`).join(',')},"\\\\"]`
    assert.equal((await call(small.url, 'POST', '/topics/s', { body: `${many}\n`, type: NDJSON })).status, 200, 'many strings under the limit')
    const path = await consumer(url, 'g', 'c', ['s'])
    const got = await drain(url, path)
    assert.deepEqual(got.map(r => r.value.length), [limit])
  })
})
