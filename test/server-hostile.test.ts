/**
 * Hostile input: body limits while streaming (413, by Content-Length or chunked), slowloris headers
 * and slow bodies (408), oversized headers (431), Kafka topic-name rules, JSON depth, prototype keys,
 * bearer/basic auth; every refusal is a 4xx JSON answer, nothing is half-written, the server lives on.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, NDJSON, produce, rawExchange, rawStatus, startServer } from './helpers/server-fixture.js'

const json = (answer: string): any => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))

describe('hostile input', () => {
  it('refuses a body over maxBodyBytes with 413, by Content-Length or while streaming chunks', async (t) => {
    const { url } = await startServer(t, { maxBodyBytes: 1000 })
    const declared = await call(url, 'POST', '/topics/t', { body: `${'1\n'.repeat(600)}`, type: NDJSON })
    assert.deepEqual([declared.status, declared.json.error_code], [413, 41300])
    const chunk = `${'2\n'.repeat(200)}`
    const chunks = Array.from({ length: 4 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')
    const answer = await rawExchange(url, `POST /topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: ${NDJSON}\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`)
    assert.equal(rawStatus(answer), 413)
    assert.match(answer, /connection: close/i)
    assert.equal(json(answer).error_code, 41300)
    const path = await consumer(url, 'g', 'c', ['t'])
    assert.deepEqual(await drain(url, path), [], 'no part of an oversized body was stored')
  })

  it('closes slowloris connections (headers never finished) with 408', async (t) => {
    const { url } = await startServer(t, { headersTimeout: 300, requestTimeout: 600 })
    const answer = await rawExchange(url, 'POST /topics/t HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', 10_000)
    assert.equal(rawStatus(answer), 408, `got ${JSON.stringify(answer.slice(0, 80))}`)
    assert.equal((await call(url, 'GET', '/healthz')).status, 200)
  })

  it('closes connections whose body never completes with 408', async (t) => {
    const { url } = await startServer(t, { headersTimeout: 300, requestTimeout: 600 })
    const answer = await rawExchange(url, `POST /topics/t HTTP/1.1\r\nHost: x\r\nContent-Type: ${NDJSON}\r\nContent-Length: 100\r\n\r\n1\n2\n`, 10_000)
    assert.ok([408, 400].includes(rawStatus(answer)), `got ${JSON.stringify(answer.slice(0, 80))}`)
    const path = await consumer(url, 'g', 'c', ['t'])
    assert.deepEqual(await drain(url, path), [], 'the half-sent records were not stored')
  })

  it('answers 431 for oversized headers and 400 for malformed HTTP', async (t) => {
    const { url } = await startServer(t, { maxHeaderBytes: 2048 })
    const big = await rawExchange(url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`)
    assert.equal(rawStatus(big), 431)
    const garbage = await rawExchange(url, 'THIS IS NOT HTTP\r\n\r\n')
    assert.equal(rawStatus(garbage), 400)
    assert.equal(json(garbage).error_code, 400)
  })

  it('applies Kafka topic-name rules to paths and bodies', async (t) => {
    const { url } = await startServer(t)
    for (const name of ['a', 'A-b_c.9', 'x'.repeat(249)]) assert.equal((await produce(url, name, [1])).status, 200, name)
    for (const name of ['x'.repeat(250), 'a%20b', 'caf%C3%A9', 'a%2Fb', 'a%00', '.hidden%3F']) {
      const a = await produce(url, name, [1])
      assert.deepEqual([a.status, a.json.error_code], [400, 40001], name)
    }
    assert.equal((await call(url, 'GET', '/topics/%E0%A4%A')).status, 400, 'malformed percent-escape')
    const path = await consumer(url, 'g', 'c', ['a'])
    // '.' and '..' in a path are dot segments (URL rules): they never reach a route; in bodies they are refused.
    for (const bad of ['not ok', '.', '..']) {
      const badSub = await call(url, 'POST', `${path}/subscription`, { body: { topics: ['ok', bad] } })
      assert.deepEqual([badSub.status, badSub.json.error_code], [400, 40001], bad)
    }
    const dots = await call(url, 'POST', '/actions', { body: { action: 'actionSendStream', topic: '..', rows: [1] } })
    assert.deepEqual([dots.status, dots.json.error_code], [400, 40001])
  })

  it('refuses JSON nested deeper than maxJsonDepth and keys that reach prototypes', async (t) => {
    const { url } = await startServer(t, { maxJsonDepth: 8 })
    const nest = (n: number): string => '['.repeat(n) + ']'.repeat(n)
    assert.equal((await call(url, 'POST', '/topics/d', { body: `${nest(8)}\n`, type: NDJSON })).status, 200)
    const deep = await call(url, 'POST', '/topics/d', { body: `1\n${nest(9)}\n`, type: NDJSON })
    assert.deepEqual([deep.status, deep.json.error_code], [400, 40003])
    assert.match(deep.json.message, /^line 2/)
    const veryDeep = await call(url, 'POST', '/topics/d', { body: `{"records":[{"value":${nest(100_000)}}]}` })
    assert.equal(veryDeep.status, 400)
    for (const key of ['__proto__', 'constructor', 'prototype', '__proto\\u005f_']) {
      const a = await call(url, 'POST', '/topics/d', { body: `{"ok":1}\n{"a":{"${key}":{"polluted":true}}}\n`, type: NDJSON })
      assert.deepEqual([a.status, a.json.error_code], [400, 40004], key)
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    const bad = await call(url, 'POST', '/topics/d', { body: '{"records": [', type: 'application/vnd.kafka.json.v2+json' })
    assert.deepEqual([bad.status, bad.json.error_code], [400, 40002])
    const path = await consumer(url, 'g', 'c', ['d'])
    assert.equal((await drain(url, path)).length, 1, 'only the accepted request was stored')
  })

  it('requires a bearer token everywhere but /healthz, compared in constant time', async (t) => {
    const { url } = await startServer(t, { auth: { token: 's3cret' } })
    const none = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }] } })
    assert.deepEqual([none.status, none.json.error_code], [401, 40101])
    assert.match(String(none.headers['www-authenticate']), /^Bearer/)
    for (const value of ['Bearer s3cre', 'Bearer s3cret2', 'Basic czNjcmV0', 's3cret']) {
      assert.equal((await call(url, 'GET', '/topics', { headers: { authorization: value } })).status, 401, value)
    }
    assert.equal((await call(url, 'GET', '/dataproxy/heartbeat')).status, 401)
    assert.equal((await call(url, 'GET', '/metrics')).status, 401)
    assert.equal((await call(url, 'GET', '/healthz')).status, 200)
    const ok = await call(url, 'POST', '/topics/t', { body: { records: [{ value: 1 }] }, headers: { authorization: 'Bearer s3cret' } })
    assert.equal(ok.status, 200)
  })

  it('takes Basic credentials', async (t) => {
    const { url } = await startServer(t, { auth: { username: 'ann', password: 'pw:x' } })
    const basic = (u: string, p: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` })
    assert.equal((await call(url, 'GET', '/topics', { headers: basic('ann', 'pw:x') })).status, 200)
    const wrong = await call(url, 'GET', '/topics', { headers: basic('ann', 'pw') })
    assert.equal(wrong.status, 401)
    assert.match(String(wrong.headers['www-authenticate']), /^Basic/)
  })

  it('rejects bad server options at construction, naming the field', async () => {
    const { createHttpStreamServer } = await import('../lib/server/server.js')
    const cases: Array<[object, string]> = [
      [{ maxBodyBytes: 0 }, 'maxBodyBytes'], [{ receiver: 'redis://x' }, 'receiver'], [{ receiver: 'kafka://' }, 'receiver'],
      [{ auth: { token: '' } }, 'auth.token'], [{ auth: { username: 'a:b', password: '' } }, 'auth.username'],
      [{ receiver: 'null', retention: { records: 1 } }, 'retention'], [{ onFull: 'explode' }, 'onFull'], [{ bogus: 1 }, 'bogus']
    ]
    for (const [options, field] of cases) {
      assert.throws(() => createHttpStreamServer(options as never), { code: 'ERR_INVALID_OPTION', field }, JSON.stringify(options))
    }
  })
})
