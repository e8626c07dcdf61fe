/**
 * InLong DataProxy's HTTP report: the codes table (always HTTP 200, string codes, the DataProxy's
 * check order), form and query input, JSONP, one record per report (`{ cnt, lines }`, as
 * HttpMessageHandler forwards one message per request) into topic `groupId.streamId` (or a mapped
 * one), heartbeat, and server-side trouble as 114.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, FORM, startServer } from './helpers/server-fixture.js'

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString()
const post = async (url: string, fields: Record<string, string>, path = '/dataproxy/message'): Promise<{ status: number, json: any, text: string, headers: any }> =>
  await call(url, 'POST', path, { body: form(fields), type: FORM })

describe('InLong /dataproxy', () => {
  it('answers every case with HTTP 200 and the InLong code, checked in the DataProxy order', async (t) => {
    const { url } = await startServer(t, { inlong: { maxMsgLength: 80, topics: { 'g.s': 'mapped', 'g.blank': '' } } })
    const table: Array<[Record<string, string>, string, string]> = [
      [{ groupId: 'g', streamId: 's', body: 'ok', dt: '1700000000000', cnt: '1' }, '0', 'everything present'],
      [{ streamId: 's', body: 'x' }, '100', 'groupId missing'],
      [{ groupId: '  ', streamId: 's', body: 'x' }, '100', 'groupId blank'],
      [{ groupId: 'g', body: 'x' }, '101', 'streamId missing (checked before body)'],
      [{ groupId: 'g', streamId: ' ' }, '101', 'streamId blank, body missing too'],
      [{ groupId: 'g', streamId: 'unmapped' }, '115', 'topic not configured (checked before body)'],
      [{ groupId: 'g', streamId: 'blank', body: 'x' }, '115', 'mapped to an empty topic'],
      [{ groupId: 'g', streamId: 's' }, '103', 'body missing'],
      [{ groupId: 'g', streamId: 's', body: ' \n ' }, '111', 'body blank'],
      [{ groupId: 'g', streamId: 's', body: 'x', dt: 'not-a-number' }, '0', 'a bad dt falls back to the receive time']
    ]
    for (const [fields, code, why] of table) {
      const a = await post(url, fields)
      assert.equal(a.status, 200, why)
      assert.equal(a.json.code, code, why)
      assert.equal(typeof a.json.msg, 'string')
      assert.match(String(a.headers['content-type']), /^application\/json/)
    }
  })

  it('turns each report into one record of topic groupId.streamId, with query or form input', async (t) => {
    const { url } = await startServer(t)
    assert.deepEqual((await post(url, { groupId: 'app', streamId: 'clicks', body: 'a\nb\nc', cnt: '3', dt: '1700000000000' })).json, { code: '0', msg: 'Ok' })
    const q = await call(url, 'GET', `/dataproxy/message?${form({ groupId: 'app', streamId: 'clicks', body: 'd' })}`)
    assert.equal(q.json.code, '0')
    const path = await consumer(url, 'g', 'c', ['app.clicks'])
    // HttpMessageHandler: cnt is NumberUtils.toInt(cnt, 1), so the query report without cnt counts 1.
    assert.deepEqual((await drain(url, path)).map(r => r.value), [{ cnt: 3, lines: ['a', 'b', 'c'] }, { cnt: 1, lines: ['d'] }])
  })

  it('form fields override query fields; the first of repeated fields wins', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'POST', '/dataproxy/message?groupId=q&streamId=s&body=fromquery', { body: 'body=fromform&body=second', type: FORM })
    assert.equal(a.json.code, '0')
    const path = await consumer(url, 'g', 'c', ['q.s'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), [{ cnt: 1, lines: ['fromform'] }])
  })

  it('wraps the answer in a JSONP callback, ignoring callbacks that are not plain names', async (t) => {
    const { url } = await startServer(t)
    const a = await call(url, 'GET', '/dataproxy/message?groupId=g&callback=cb.done')
    assert.equal(a.text, 'cb.done({"code":"101","msg":"Field streamId must exist and not blank!"})')
    assert.match(String(a.headers['content-type']), /^application\/javascript/)
    const evil = await call(url, 'GET', `/dataproxy/heartbeat?callback=${encodeURIComponent('alert(1)//')}`)
    assert.deepEqual(evil.json, { code: '0', msg: 'Ok' })
  })

  it('answers heartbeats, and InLong codes for unknown paths, methods and content types', async (t) => {
    const { url } = await startServer(t)
    assert.deepEqual((await call(url, 'GET', '/dataproxy/heartbeat')).json, { code: '0', msg: 'Ok' })
    assert.deepEqual((await post(url, {}, '/dataproxy/heartbeat')).json, { code: '0', msg: 'Ok' })
    assert.equal((await call(url, 'GET', '/dataproxy/other')).json.code, '35')
    assert.equal((await call(url, 'PUT', '/dataproxy/message')).json.code, '32')
    const json = await call(url, 'POST', '/dataproxy/message', { body: { groupId: 'g' }, type: 'application/json' })
    assert.deepEqual([json.status, json.json.code], [200, '36'])
  })

  it('answers HTTP 413 for a request body over maxMsgLength, 104 for a longer body field, and 114 when the topic is full', async (t) => {
    const { url } = await startServer(t, { inlong: { maxMsgLength: 100 }, retention: { records: 2 } })
    // ServerMessageFactory: HttpObjectAggregator(maxMsgLength) refuses the request itself with 413.
    const huge = await post(url, { groupId: 'g', streamId: 's', body: 'z'.repeat(200) })
    assert.equal(huge.status, 413)
    // HttpMessageHandler.processMessage: body.length() > maxMsgLength is code 104 (reachable through the query).
    const long = await call(url, 'GET', `/dataproxy/message?groupId=g&streamId=s&body=${'y'.repeat(101)}`)
    assert.deepEqual([long.status, long.json.code], [200, '104'])
    await consumer(url, 'readers', 'c', ['g.s'])
    assert.equal((await post(url, { groupId: 'g', streamId: 's', body: '1\n2' })).json.code, '0')
    assert.equal((await post(url, { groupId: 'g', streamId: 's', body: '2' })).json.code, '0', 'a report is one record')
    const full = await post(url, { groupId: 'g', streamId: 's', body: '3' })
    assert.deepEqual([full.status, full.json.code], [200, '114'])
  })

  it('a topic mapper function decides the topic; undefined is code 115', async (t) => {
    const { url } = await startServer(t, { inlong: { topics: (g, s) => g === 'ok' ? `in-${s}` : undefined } })
    assert.equal((await post(url, { groupId: 'ok', streamId: 'x', body: 'v' })).json.code, '0')
    assert.equal((await post(url, { groupId: 'no', streamId: 'x', body: 'v' })).json.code, '115')
    const path = await consumer(url, 'g', 'c', ['in-x'])
    assert.deepEqual((await drain(url, path)).map(r => r.value), [{ cnt: 1, lines: ['v'] }])
  })
})
