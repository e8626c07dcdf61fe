/**
 * The writable's `inlong` encoding against the stream server's /dataproxy: form batches (bodies
 * joined by `\n`, `cnt`), success only on code "0", codes 1/2/114 retried on another node (the
 * failing node skipped), 100–115 failed over, and nodes from a manager's getIpList answer.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { judgeInlong } from '../lib/encoders/inlong.js'
import { createHttpWritable } from '../lib/sink/http-writable.js'
import { readFailoverDir } from './helpers/ledger.js'
import { call, consumer, drain, produce, startServer } from './helpers/server-fixture.js'
import { feed } from './helpers/writable-harness.js'

const FAST = { backoff: { base: 5, max: 20 }, timeout: 2000 }
const INLONG = { groupId: 'app', streamId: 'clicks' }

async function failoverDir (t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-inlong-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return join(root, 'failover')
}

/** The lines of every report of `topic`, in order (the server keeps one report as one `{ cnt, lines }` record). */
async function lines (url: string, topic: string): Promise<unknown[]> {
  const path = await consumer(url, 'audit', `c${Math.random().toString(36).slice(2)}`, [topic])
  return (await drain(url, path)).flatMap(r => r.value.lines)
}

const metric = async (url: string, name: string): Promise<number> =>
  Number(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec((await call(url, 'GET', '/metrics')).text)?.[1] ?? 0)

describe("encoding 'inlong'", () => {
  it('delivers form batches; each record is one line of topic groupId.streamId', async (t) => {
    const { url } = await startServer(t)
    const sink = createHttpWritable({ url: `${url}/dataproxy/message`, encoding: 'inlong', inlong: INLONG, batch: { maxRecords: 40, maxBytes: 4000 }, failover: false, ...FAST })
    const items: unknown[] = Array.from({ length: 200 }, (_, i) => i % 2 === 0 ? `line ${i} & more=%` : { i, text: 'é' })
    assert.equal((await feed(sink, items)).error, undefined)
    const got = await lines(url, 'app.clicks')
    assert.deepEqual(got, items.map(i => typeof i === 'string' ? i : JSON.stringify(i)))
  })

  it('fails over what the DataProxy refuses with codes 100–115 (here 115, topic not configured)', async (t) => {
    const { url } = await startServer(t, { inlong: { topics: {} } })
    const dir = await failoverDir(t)
    const sink = createHttpWritable({ url: `${url}/dataproxy/message`, encoding: 'inlong', inlong: INLONG, batch: { maxRecords: 10 }, failover: `file:${dir}`, ...FAST })
    assert.equal((await feed(sink, ['a', 'b', 'c'])).error, undefined)
    assert.deepEqual([sink.stats().delivered, sink.stats().failedOver, sink.stats().retried], [0, 3, 0])
    const stored = readFailoverDir(dir)
    assert.deepEqual(stored.map(e => e.record).sort(), ['a', 'b', 'c'])
    assert.match(stored[0]?.error ?? '', /115/)
  })

  it('retries code 114 on another node and skips the failing node afterwards', async (t) => {
    const full = await startServer(t, { retention: { records: 10 } })
    await consumer(full.url, 'holder', 'c', ['app.clicks'])
    await produce(full.url, 'app.clicks', Array.from({ length: 10 }, () => 'occupied'))
    const good = await startServer(t)
    const nodes = [full.url, good.url].map(u => new URL(u).host)
    const sink = createHttpWritable({ url: `${full.url}/dataproxy/message`, encoding: 'inlong', inlong: { ...INLONG, nodes }, batch: { maxRecords: 5 }, numWriters: 1, failover: false, ...FAST })
    const items = Array.from({ length: 50 }, (_, i) => `r${i}`)
    assert.equal((await feed(sink, items)).error, undefined)
    assert.deepEqual((await lines(good.url, 'app.clicks')).sort(), [...items].sort(), 'all arrived, once (a retried batch comes later)')
    const refusals = await metric(full.url, 'http_stream_throttled_total')
    assert.ok(refusals <= 1, `the full node was tried ${refusals} time(s), then skipped`)
    assert.equal(sink.stats().retried, refusals * 5)
  })

  it("takes its nodes from the manager's getIpList answer", async (t) => {
    const node = await startServer(t)
    const asked: Array<{ method: string, url: string }> = []
    const manager = createServer((req: IncomingMessage, res) => {
      asked.push({ method: req.method ?? '', url: req.url ?? '' })
      const { hostname, port } = new URL(node.url)
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ success: true, errMsg: null, data: { clusterId: 1, isIntranet: 1, isSwitch: 0, load: 20, nodeList: [{ id: 1, ip: hostname, port: Number(port), protocolType: 'HTTP', nodeLoad: 0 }] } }))
    })
    await new Promise<void>(resolve => manager.listen(0, '127.0.0.1', () => resolve()))
    t.after(() => new Promise<void>(resolve => manager.close(() => resolve())))
    const managerUrl = `http://127.0.0.1:${(manager.address() as { port: number }).port}`
    // The url option points nowhere: records reach the node only through the manager's list.
    const sink = createHttpWritable({ url: 'http://127.0.0.1:1/dataproxy/message', encoding: 'inlong', inlong: { ...INLONG, managerUrl }, batch: { maxRecords: 10 }, retries: 50, failover: false, ...FAST })
    const items = Array.from({ length: 30 }, (_, i) => `m${i}`)
    assert.equal((await feed(sink, items)).error, undefined)
    assert.deepEqual((await lines(node.url, 'app.clicks')).sort(), [...items].sort())
    assert.deepEqual(asked[0], { method: 'POST', url: '/inlong/manager/openapi/dataproxy/getIpList/app?protocolType=HTTP' })
  })

  it('judges answers by their code; refuses records with a newline and bad options', () => {
    const r = (body: string, status = 200): ReturnType<typeof judgeInlong> => judgeInlong({ status, headers: {}, body })
    assert.equal(r('{"code":"0","msg":"Ok"}'), 'success')
    for (const code of ['1', '2', '114']) assert.equal(r(`{"code":"${code}","msg":"x"}`), 'retry', code)
    for (const code of ['100', '101', '103', '104', '111', '115', '36']) assert.equal(r(`{"code":"${code}","msg":"x"}`), 'fail', code)
    assert.equal(r('not json'), 'retry')
    assert.equal(r('', 503), undefined, 'non-200 answers are left to the status policy')
    assert.throws(() => createHttpWritable({ url: 'http://x/', encoding: 'inlong', inlong: { streamId: 's' } as never, failover: false }), { code: 'ERR_INVALID_OPTION', field: 'inlong.groupId' })
    assert.throws(() => createHttpWritable({ url: 'http://x/', encoding: 'inlong', inlong: { ...INLONG, nodes: ['nope'] }, failover: false }), { field: 'inlong.nodes' })
  })

  it('sends a record with a newline to failover as invalid', async (t) => {
    const { url } = await startServer(t)
    const dir = await failoverDir(t)
    const sink = createHttpWritable({ url: `${url}/dataproxy/message`, encoding: 'inlong', inlong: INLONG, batch: { maxRecords: 10 }, failover: `file:${dir}`, ...FAST })
    assert.equal((await feed(sink, ['ok', 'two\nlines'])).error, undefined)
    assert.deepEqual(readFailoverDir(dir).map(e => e.record), ['two\nlines'])
    assert.deepEqual(await lines(url, 'app.clicks'), ['ok'])
  })
})
