/**
 * spark-http-stream's five actions on POST /actions: send rows (RowEx metadata, topic offsets unique
 * across packets), fetch schema, subscribe, acknowledged (at-least-once) fetch, unsubscribe; unknown
 * actions and receivers without the operation.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { call, consumer, drain, startServer } from './helpers/server-fixture.js'

const act = async (url: string, body: Record<string, unknown>): Promise<{ status: number, json: any }> =>
  await call(url, 'POST', '/actions', { body, type: 'application/json' })

describe('/actions', () => {
  it('sends packets whose rows get offsets unique across packets, with batchId and offsetInBatch', async (t) => {
    const { url } = await startServer(t)
    const sub = await act(url, { action: 'actionSubscribe', topic: 'rows', from: 'earliest' })
    assert.equal(sub.status, 200)
    const id = sub.json.subscriberId
    const a = await act(url, { action: 'actionSendStream', topic: 'rows', batchId: 1, rows: [['hello1', 1], ['hello2', 2]] })
    // rowsCount is the key spark-http-stream's client reads; batchId comes back as the number it was sent as.
    assert.deepEqual(a.json, { rowsCount: 2, topic: 'rows', count: 2, batchId: 1, firstOffset: 0, lastOffset: 1 })
    const b = await act(url, { action: 'actionSendStream', topic: 'rows', batchId: 1, rows: [['again', 3]] })
    assert.equal(b.json.firstOffset, 2, 'a resent batch id still gets new offsets')
    const fetched = await act(url, { action: 'actionFetchStream', subscriberId: id })
    const rows = fetched.json.rows
    assert.deepEqual(rows.map((r: any) => [r.offset, r.batchId, r.offsetInBatch, r.row]), [
      [0, 1, 0, ['hello1', 1]], [1, 1, 1, ['hello2', 2]], [2, 1, 0, ['again', 3]]
    ])
    assert.ok(rows.every((r: any) => typeof r.timestamp === 'number' && r.topic === 'rows'))
  })

  it('with "delivery": "at-least-once", fetch is acknowledged, not destructive: rows come back until acked', async (t) => {
    const { url } = await startServer(t)
    const id = (await act(url, { action: 'actionSubscribe', topic: 'ack', from: 'earliest', delivery: 'at-least-once' })).json.subscriberId
    await act(url, { action: 'actionSendStream', topic: 'ack', rows: [10, 11, 12] })
    const first = await act(url, { action: 'actionFetchStream', subscriberId: id })
    const again = await act(url, { action: 'actionFetchStream', subscriberId: id })
    assert.deepEqual(again.json.rows.map((r: any) => r.row), first.json.rows.map((r: any) => r.row))
    assert.deepEqual(first.json.rows.map((r: any) => r.row), [10, 11, 12])
    const acked = await act(url, { action: 'actionFetchStream', subscriberId: id, ack: 1 })
    assert.deepEqual(acked.json.rows.map((r: any) => r.row), [12])
    await act(url, { action: 'actionSendStream', topic: 'ack', rows: [13] })
    const more = await act(url, { action: 'actionFetchStream', subscriberId: id, ack: { ack: 2 } })
    assert.deepEqual(more.json.rows.map((r: any) => r.row), [13])
  })

  it('a subscriber in a group resumes after the last ack; by default it sees only rows sent after subscribing', async (t) => {
    const { url } = await startServer(t)
    await act(url, { action: 'actionSendStream', topic: 'late', rows: ['before'] })
    const latest = (await act(url, { action: 'actionSubscribe', topic: 'late' })).json.subscriberId
    await act(url, { action: 'actionSendStream', topic: 'late', rows: ['after1', 'after2'] })
    const got = await act(url, { action: 'actionFetchStream', subscriberId: latest })
    assert.deepEqual(got.json.rows.map((r: any) => r.row), ['after1', 'after2'])
    const grouped = (await act(url, { action: 'actionSubscribe', topic: 'late', groupId: 'team', from: 'earliest', delivery: 'at-least-once' })).json.subscriberId
    await act(url, { action: 'actionFetchStream', subscriberId: grouped, ack: 1 })
    const bye = await act(url, { action: 'actionUnsubscribe', subscriberId: grouped })
    assert.deepEqual(bye.json, { subscriberId: grouped, unsubscribed: true })
    const gone = await act(url, { action: 'actionFetchStream', subscriberId: grouped })
    assert.deepEqual([gone.status, gone.json.error_code], [404, 40403])
    const back = (await act(url, { action: 'actionSubscribe', topic: 'late', groupId: 'team', from: 'earliest', delivery: 'at-least-once' })).json.subscriberId
    const resumed = await act(url, { action: 'actionFetchStream', subscriberId: back })
    assert.deepEqual(resumed.json.rows.map((r: any) => r.row), ['after2'])
  })

  it('a subscriber without a group stops holding records back once it unsubscribes', async (t) => {
    const { url } = await startServer(t, { retention: { records: 3 } })
    const team = await consumer(url, 'team', 'c', ['pin'])
    const id = (await act(url, { action: 'actionSubscribe', topic: 'pin' })).json.subscriberId
    await act(url, { action: 'actionSendStream', topic: 'pin', rows: [1, 2, 3] })
    await drain(url, team)
    await call(url, 'POST', `${team}/offsets`)
    assert.equal((await act(url, { action: 'actionSendStream', topic: 'pin', rows: [4] })).status, 429, 'the subscriber has not acked')
    await act(url, { action: 'actionUnsubscribe', subscriberId: id })
    assert.equal((await act(url, { action: 'actionSendStream', topic: 'pin', rows: [4] })).status, 200, 'only the team group counts now')
  })

  it('fetches the schema of a topic', async (t) => {
    const schema = { type: 'array' }
    const { url } = await startServer(t, { schemas: { typed: schema } })
    assert.deepEqual((await act(url, { action: 'actionFetchSchema', topic: 'typed' })).json, { topic: 'typed', schema })
    assert.deepEqual((await act(url, { action: 'actionFetchSchema', topic: 'untyped' })).json, { topic: 'untyped', schema: null })
    const refused = await act(url, { action: 'actionSendStream', topic: 'typed', rows: [[1], 'not an array'] })
    assert.deepEqual([refused.status, refused.json.error_code], [422, 42203])
  })

  it('answers 400 for unknown actions, 422 for malformed ones, 405 for GET', async (t) => {
    const { url } = await startServer(t)
    const unknown = await act(url, { action: 'actionDropTables' })
    assert.deepEqual([unknown.status, unknown.json.error_code], [400, 40010])
    assert.match(unknown.json.message, /actionSendStream/)
    assert.equal((await act(url, { nothing: true })).status, 422)
    assert.equal((await act(url, { action: 'actionSendStream', topic: 'x', rows: 'no' })).status, 422)
    assert.equal((await act(url, { action: 'actionSendStream', topic: '../etc', rows: [] })).json.error_code, 40001)
    assert.equal((await act(url, { action: 'actionFetchStream', subscriberId: 'no-colon' })).status, 422)
    assert.equal((await call(url, 'GET', '/actions')).status, 405)
  })

  it('a receiver without an operation answers 501 naming it (null receiver: produce only)', async (t) => {
    const { url } = await startServer(t, { receiver: 'null' })
    assert.equal((await act(url, { action: 'actionSendStream', topic: 'x', rows: [1, 2] })).json.count, 2)
    for (const [action, op] of [['actionSubscribe', 'consume'], ['actionFetchSchema', 'schema']]) {
      const a = await act(url, { action, topic: 'x' })
      assert.equal(a.status, 501)
      assert.match(a.json.message, new RegExp(`null receiver does not support the '${op}' operation`))
    }
    assert.equal((await call(url, 'GET', '/topics')).status, 501)
    assert.equal((await call(url, 'POST', '/consumers/g', { body: {} })).status, 501)
  })
})
