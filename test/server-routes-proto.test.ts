/**
 * Names from the request never reach Object.prototype: every member name of Object.prototype, as a
 * path, a topic, a consumer group, an instance, an action, an InLong groupId/streamId and an option
 * value, gets a 404 (or its proper 4xx / 2xx as an ordinary name), never a 500 nor a prototype member.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, startServer, V2, V2_JSON, FORM, type Answer } from './helpers/server-fixture.js'

const NAMES = Object.getOwnPropertyNames(Object.prototype)
const AUTH = { authorization: 'Bearer s3cret' }
const METHODS = ['GET', 'POST', 'PUT', 'DELETE']

const send = async (url: string, method: string, path: string, body?: unknown, type?: string): Promise<Answer> =>
  await call(url, method, path, { body, type, headers: AUTH })

/** Every answer so far, so a test can say how many requests it made and that none was a 500. */
function tally (): { seen: (a: Answer, what: string) => Answer, count: () => number } {
  let n = 0
  return {
    seen: (a, what) => {
      n++
      assert.ok(a.status < 500, `${what}: ${a.status} ${a.text}`)
      return a
    },
    count: () => n
  }
}

describe('prototype member names in requests', () => {
  it('answers 404 for every Object.prototype member name as the first path segment, any method', async (t) => {
    const { url } = await startServer(t, { auth: { token: 's3cret' } })
    const { seen, count } = tally()
    for (const name of NAMES) {
      for (const method of METHODS) {
        for (const path of [`/${name}`, `/${name}/x`, `/${encodeURIComponent(name)}`]) {
          const a = seen(await send(url, method, path), `${method} ${path}`)
          assert.deepEqual([a.status, a.json?.error_code], [404, 404], `${method} ${path}: ${a.text}`)
        }
      }
    }
    t.diagnostic(`${NAMES.length} names, ${count()} requests: all 404`)
  })

  it('treats them as ordinary topic, group and instance names on the Kafka REST surface', async (t) => {
    const { url } = await startServer(t, { auth: { token: 's3cret' } })
    const { seen, count } = tally()
    for (const name of NAMES) {
      const missing = seen(await send(url, 'GET', `/topics/${name}`), `GET /topics/${name}`)
      assert.deepEqual([missing.status, missing.json.error_code], [404, 40401], `GET /topics/${name} before any produce`)
      const noInstance = seen(await send(url, 'GET', `/consumers/${name}/instances/${name}/subscription`), 'subscription')
      assert.deepEqual([noInstance.status, noInstance.json.error_code], [404, 40403], `${name}: no such instance yet`)
      const sub = seen(await send(url, 'GET', `/consumers/g/instances/i/${name}`), `instance route ${name}`)
      assert.equal(sub.status, 404, `GET …/instances/i/${name}`)
      const produced = seen(await send(url, 'POST', `/topics/${name}`, { records: [{ key: name, value: { name } }] }, V2_JSON), `produce ${name}`)
      assert.equal(produced.status, 200, `produce to ${name}: ${produced.text}`)
      assert.equal(seen(await send(url, 'GET', `/topics/${name}`), 'describe').json.name, name)
      const schema = seen(await send(url, 'GET', `/topics/${name}/schema`), 'schema')
      assert.deepEqual([schema.status, schema.json.error_code], [404, 40441], `${name} has no schema`)
      const created = seen(await send(url, 'POST', `/consumers/${name}`, { name, format: 'json', 'auto.offset.reset': 'earliest' }, V2), 'create')
      assert.equal(created.status, 200, `create ${name}/${name}: ${created.text}`)
      const base = `/consumers/${name}/instances/${name}`
      assert.equal(seen(await send(url, 'POST', `${base}/subscription`, { topics: [name] }, V2), 'subscribe').status, 204)
      const records = seen(await call(url, 'GET', `${base}/records?timeout=2000`, { headers: { ...AUTH, accept: V2_JSON } }), 'records')
      assert.deepEqual(records.json.map((r: any) => [r.topic, r.key, r.value]), [[name, name, { name }]], `${name} read back`)
      assert.equal(seen(await send(url, 'DELETE', base), 'delete').status, 204)
    }
    const topics = seen(await send(url, 'GET', '/topics'), 'list').json
    assert.deepEqual([...topics].sort(), [...NAMES].sort())
    t.diagnostic(`${NAMES.length} names as topic/group/instance, ${count()} requests, none 5xx`)
  })

  it('refuses them as consumer settings, actions and InLong routes', async (t) => {
    const { url } = await startServer(t, { auth: { token: 's3cret' }, inlong: { topics: { 'a.b': 'ab' } } })
    const { seen, count } = tally()
    for (const name of NAMES) {
      for (const setting of ['auto.offset.reset', 'format', 'auto.commit.enable']) {
        const a = seen(await send(url, 'POST', '/consumers/g', { [setting]: name }, V2), `${setting}=${name}`)
        assert.deepEqual([a.status, a.json.error_code], [422, 42204], `${setting}: ${JSON.stringify(name)} → ${a.text}`)
      }
      const action = seen(await send(url, 'POST', '/actions', { action: name }, 'application/json'), `action ${name}`)
      assert.deepEqual([action.status, action.json.error_code], [400, 40010], `action ${name}: ${action.text}`)
      const dataproxy = seen(await send(url, 'GET', `/dataproxy/${name}`), `dataproxy ${name}`)
      assert.equal(dataproxy.json.code, '35', `/dataproxy/${name}: ${dataproxy.text}`)
      const form = new URLSearchParams({ groupId: name, streamId: name, body: 'x' }).toString()
      const msg = seen(await send(url, 'POST', '/dataproxy/message', form, FORM), `inlong ${name}`)
      assert.equal(msg.json.code, '115', `groupId/streamId ${name} is not a configured topic: ${msg.text}`)
      const sub = seen(await send(url, 'POST', '/actions', { action: 'actionFetchStream', subscriberId: `${name}:${name}` }, 'application/json'), 'fetch')
      assert.deepEqual([sub.status, sub.json.error_code], [404, 40403], `subscriber ${name}:${name}`)
    }
    t.diagnostic(`${NAMES.length} names as settings/actions/InLong ids, ${count()} requests, none 5xx`)
  })
})
