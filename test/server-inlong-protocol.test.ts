/**
 * /dataproxy/message as Apache InLong's DataProxy and SDK speak it. Requests and answers are taken from
 * apache/inlong:
 * - inlong-dataproxy/dataproxy-source/.../source/httpMsg/HttpMessageHandler.java: the method is checked
 *   before the path; a POST body is parsed only when Content-Type is not blank, and must then equal
 *   (trimmed, ignoring case) application/x-www-form-urlencoded, else code 36; processMessage packs the
 *   whole `body` into one InLongMsg (one event, one MQ message) with cnt = NumberUtils.toInt(cnt, 1);
 *   body.length() > maxMsgLength is code 104.
 * - .../source/ServerMessageFactory.java: HttpObjectAggregator(maxMsgLength) — a larger request is HTTP 413;
 *   .../consts/SourceConstants.java: VAL_DEF_MAX_MSG_LENGTH = 1024 * 64.
 * - inlong-sdk/dataproxy-sdk/.../network/http/HttpClientMgr.java (buildFormUrlPost): groupId, streamId,
 *   dt, body (bodies joined by the separator), cnt, and rcdDlmtr when the separator is not "\n";
 *   HttpMsgSenderConfig.setHttpEventsSeparator: a single character.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { request } from 'undici'
import { createHttpWritable } from '../lib/sink/http-writable.js'
import { call, consumer, drain, FORM, startServer, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'
import { feed } from './helpers/writable-harness.js'

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()
const post = async (url: string, fields: Record<string, string>, type = FORM): Promise<{ status: number, json: any }> =>
  await call(url, 'POST', '/dataproxy/message', { body: form(fields), type })

async function reports (url: string, topic: string): Promise<any[]> {
  const path = await consumer(url, 'audit', `c${Math.random().toString(36).slice(2)}`, [topic])
  return await drain(url, path)
}

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

describe('InLong DataProxy message model', { timeout: 120_000 }, () => {
  it('memory: one report is one record { cnt, lines } with its lines in order', async (t) => {
    const { url } = await startServer(t)
    // HttpClientMgr.buildFormUrlPost: body = StringUtils.join(bodyList, "\n"), cnt = msgCnt.
    assert.equal((await post(url, { groupId: 'app', streamId: 'm', dt: '1700000000000', body: 'first\nsecond\nthird', cnt: '3' })).json.code, '0')
    assert.equal((await post(url, { groupId: 'app', streamId: 'm', body: 'alone' })).json.code, '0')
    const got = await reports(url, 'app.m')
    assert.deepEqual(got.map(r => r.value), [{ cnt: 3, lines: ['first', 'second', 'third'] }, { cnt: 1, lines: ['alone'] }])
  })

  it('kafka: one report is one Kafka message on one partition, lines in order', async (t) => {
    const kafka = await startKafkaMock(['app.k:3'])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
    t.after(() => kafka.stop())
    const sent = Array.from({ length: 12 }, (_, r) => Array.from({ length: 5 }, (_, i) => `r${r}-l${i}`))
    for (const lines of sent) {
      const a = await post(url, { groupId: 'app', streamId: 'k', body: lines.join('\n'), cnt: String(lines.length) })
      assert.equal(a.json.code, '0', JSON.stringify(a.json))
    }
    const path = await consumer(url, 'audit', 'c', ['app.k'])
    const got: any[] = []
    for (let i = 0; i < 60 && got.length < sent.length; i++) {
      const r = await call(url, 'GET', `${path}/records?timeout=500`, { headers: { accept: V2_JSON } })
      assert.equal(r.status, 200, JSON.stringify(r.json))
      got.push(...r.json)
    }
    const partitions = new Set(got.map(r => r.partition))
    t.diagnostic(`kafka: ${sent.length} reports → ${got.length} messages over partitions ${[...partitions].sort().join(',')}`)
    assert.equal(got.length, sent.length, 'one message per report')
    const byFirst = new Map(got.map(r => [r.value.lines[0], r.value]))
    for (const lines of sent) assert.deepEqual(byFirst.get(lines[0]), { cnt: 5, lines }, 'a report stays whole and in order')
  })

  it("honours rcdDlmtr; a trailing LF or CRLF makes no empty record and \\r is not kept", async (t) => {
    const { url } = await startServer(t)
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ body: 'a|b|c', rcdDlmtr: '|', cnt: '3' }, ['a', 'b', 'c']],
      [{ body: 'x\r\ny\r\n', cnt: '2' }, ['x', 'y']],
      [{ body: 'p\nq\n', cnt: '2' }, ['p', 'q']],
      [{ body: 'one|two\n', rcdDlmtr: '|', cnt: '2' }, ['one', 'two']]
    ]
    for (const [fields] of cases) assert.equal((await post(url, { groupId: 'd', streamId: 'l', ...fields })).json.code, '0')
    assert.deepEqual((await reports(url, 'd.l')).map(r => r.value.lines), cases.map(c => c[1]))
    // HttpMsgSenderConfig.setHttpEventsSeparator: "eventSeparator must be a single character".
    const bad = await post(url, { groupId: 'd', streamId: 'l', body: 'a||b', rcdDlmtr: '||' })
    assert.equal(bad.json.code, '112')
  })

  it('Content-Type as HttpMessageHandler: exact form type (any case), parameters are code 36, none leaves the body unread', async (t) => {
    const { url } = await startServer(t)
    const fields = { groupId: 'ct', streamId: 's', body: 'v' }
    assert.equal((await post(url, fields, 'APPLICATION/X-WWW-FORM-URLENCODED')).json.code, '0')
    assert.equal((await post(url, fields, ' application/x-www-form-urlencoded ')).json.code, '0', 'trimmed')
    const withCharset = await post(url, fields, 'application/x-www-form-urlencoded; charset=UTF-8')
    assert.deepEqual([withCharset.status, withCharset.json.code], [200, '36'])
    assert.equal((await post(url, fields, 'text/plain')).json.code, '36')
    // No Content-Type: the content is not decoded, so groupId (only in the body) is missing.
    const bare = await request(`${url}/dataproxy/message`, { method: 'POST', body: form(fields) })
    assert.equal((await bare.body.json() as { code: string }).code, '100')
    // The method is checked before the path.
    assert.equal((await call(url, 'PUT', '/dataproxy/other')).json.code, '32')
  })

  it("limits a request to InLong's default 64 KiB (HTTP 413 beyond)", async (t) => {
    const { url } = await startServer(t)
    const prefix = 'groupId=big&streamId=s&body='
    const fits = prefix + 'z'.repeat(65536 - prefix.length)
    const a = await call(url, 'POST', '/dataproxy/message', { body: fits, type: FORM })
    assert.deepEqual([a.status, a.json.code], [200, '0'], 'exactly 65536 bytes is accepted')
    const over = await call(url, 'POST', '/dataproxy/message', { body: fits + 'z', type: FORM })
    assert.equal(over.status, 413)
  })

  it("the writable's inlong encoding keeps every request within 64 KiB, whatever batch.maxBytes", async (t) => {
    const { url } = await startServer(t)
    const items = Array.from({ length: 3000 }, (_, i) => `record ${i} ${'payload-'.repeat(12)}`)
    // batch.maxBytes defaults to 1 MiB: without the cap these batches would be refused with 413.
    const sink = createHttpWritable({ url: `${url}/dataproxy/message`, encoding: 'inlong', inlong: { groupId: 'w', streamId: 's' }, batch: { maxRecords: 100_000, maxBytes: 4 * 1024 * 1024, lingerMs: 50 }, failover: false, backoff: { base: 5, max: 20 }, timeout: 5000 })
    assert.equal((await feed(sink, items)).error, undefined)
    const got = await reports(url, 'w.s')
    const lines = got.flatMap(r => r.value.lines)
    t.diagnostic(`${items.length} records in ${got.length} reports; delivered ${sink.stats().delivered}, failed over ${sink.stats().failedOver}`)
    assert.deepEqual(lines, items)
    assert.ok(got.length >= 5, 'split into requests of at most 64 KiB')
    assert.ok(got.every(r => r.value.cnt === r.value.lines.length), 'cnt counts the lines of its report')
    assert.throws(() => createHttpWritable({ url: 'http://x/', encoding: 'inlong', inlong: { groupId: 'g', streamId: 's', maxMsgLength: 0 }, failover: false }), { field: 'inlong.maxMsgLength' })
  })
})
