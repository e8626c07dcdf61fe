/**
 * HttpStreamClient on its own: typed results for produce / fetchSchema / subscribe / fetch / commit /
 * unsubscribe (and seeks, committed offsets, topics), coded errors for refusals, unreachable servers
 * and timeouts, and credentials.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { describe, it } from 'node:test'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { StreamServerError } from '../lib/source/stream-server-error.js'
import { startServer } from './helpers/server-fixture.js'

function client (t: { after: (fn: () => Promise<void>) => void }, url: string, options = {}): HttpStreamClient {
  const c = new HttpStreamClient(url, options)
  t.after(() => c.close())
  return c
}

describe('HttpStreamClient', () => {
  it('produces, subscribes, fetches, commits and resumes', async (t) => {
    const { url } = await startServer(t)
    const c = client(t, url)
    assert.deepEqual(await c.produce('t', [{ a: 1 }, { a: 2 }, { a: 3 }]), { offsets: [0, 1, 2].map(offset => ({ partition: 0, offset })) })
    assert.deepEqual((await c.produceRecords('t', [{ key: 'k', value: 'v', partition: 0 }])).offsets, [{ partition: 0, offset: 3 }])
    const sub = await c.subscribe('t', { groupId: 'g', instanceId: 'one' })
    assert.deepEqual(sub, { groupId: 'g', instanceId: 'one', baseUri: `${url}/consumers/g/instances/one`, topics: ['t'] })
    const got = await c.fetch<{ a: number }>(sub, { timeout: 100 })
    assert.deepEqual(got.map(r => [r.offset, r.key, r.value]), [[0, null, { a: 1 }], [1, null, { a: 2 }], [2, null, { a: 3 }], [3, 'k', 'v']])
    assert.equal(typeof got[0]?.timestamp, 'number')
    await c.commit(sub, [{ topic: 't', partition: 0, offset: 1 }])
    assert.deepEqual(await c.committed(sub, [{ topic: 't', partition: 0 }]), [{ topic: 't', partition: 0, offset: 2 }])
    await c.unsubscribe(sub)
    const again = await c.subscribe(['t'], { groupId: 'g' })
    assert.deepEqual((await c.fetch(again, { timeout: 100 })).map(r => r.offset), [2, 3])
    await c.commit(again)
    assert.deepEqual(await c.committed(again, [{ topic: 't', partition: 0 }]), [{ topic: 't', partition: 0, offset: 4 }])
  })

  it('seeks by offset, to the beginning, to the end and by timestamp', async (t) => {
    const { url } = await startServer(t)
    const c = client(t, url)
    await c.produce('s', [0, 1, 2])
    const sub = await c.subscribe('s', { groupId: 'g', from: 'latest' })
    const p = [{ topic: 's', partition: 0 }]
    assert.deepEqual(await c.fetch(sub, { timeout: 0 }), [], "'latest' skips what was there")
    await c.seek(sub, [{ topic: 's', partition: 0, offset: 1 }])
    assert.deepEqual((await c.fetch(sub, { timeout: 0 })).map(r => r.value), [1, 2])
    await c.seekToBeginning(sub, p)
    assert.deepEqual((await c.fetch(sub, { timeout: 0 })).map(r => r.value), [0, 1, 2])
    await c.seekToTimestamp(sub, p, Date.now() + 60_000)
    assert.deepEqual(await c.fetch(sub, { timeout: 0 }), [])
    await c.seekToBeginning(sub, p)
    await c.seekToEnd(sub, p)
    assert.deepEqual(await c.fetch(sub, { timeout: 0 }), [])
  })

  it('reads and sets schemas and topics; missing ones are null', async (t) => {
    const { url } = await startServer(t)
    const c = client(t, url)
    assert.equal(await c.fetchSchema('nothing'), null)
    await c.setSchema('typed', { type: 'string' })
    assert.deepEqual(await c.fetchSchema('typed'), { type: 'string' })
    assert.deepEqual(await c.topics(), ['typed'])
    assert.equal((await c.topic('typed'))?.partitions.length, 1)
    assert.equal(await c.topic('nothing'), null)
  })

  it('throws StreamServerError with status and Kafka REST error_code', async (t) => {
    const { url } = await startServer(t, { schemas: { typed: { type: 'string' } } })
    const c = client(t, url)
    await assert.rejects(c.produce('typed', [1]), (err: unknown) => {
      assert.ok(err instanceof StreamServerError)
      assert.deepEqual([err.code, err.status, err.errorCode], ['ERR_STREAM_SERVER', 422, 42203])
      return true
    })
    const ghost = { groupId: 'g', instanceId: 'ghost', baseUri: `${url}/consumers/g/instances/ghost`, topics: ['x'] }
    await assert.rejects(c.fetch(ghost), { code: 'ERR_STREAM_SERVER', status: 404, errorCode: 40403 })
    await assert.rejects(c.subscribe('bad name', { groupId: 'g' }), { status: 400, errorCode: 40001 })
  })

  it('reports an unreachable server (status null) and a silent one (ERR_REQUEST_TIMEOUT)', async (t) => {
    const silent = createServer(() => {})
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', () => resolve()))
    t.after(() => { silent.closeAllConnections(); silent.close() })
    const down = client(t, 'http://127.0.0.1:1')
    await assert.rejects(down.topics(), (err: unknown) => err instanceof StreamServerError && err.status === null && err.errorCode === null)
    const address = silent.address() as { port: number }
    const slow = client(t, `http://127.0.0.1:${address.port}`, { timeout: 200 })
    await assert.rejects(slow.topics(), { code: 'ERR_REQUEST_TIMEOUT' })
  })

  it('sends credentials; validates its options', async (t) => {
    const { url } = await startServer(t, { auth: { token: 'tok' } })
    await assert.rejects(client(t, url).topics(), { status: 401, errorCode: 40101 })
    assert.deepEqual(await client(t, url, { auth: { token: 'tok' } }).topics(), [])
    assert.throws(() => new HttpStreamClient('not a url'), { code: 'ERR_INVALID_OPTION', field: 'url' })
    assert.throws(() => new HttpStreamClient('ftp://x'), { code: 'ERR_INVALID_OPTION', field: 'url' })
    assert.throws(() => new HttpStreamClient(url, { timeout: 0 }), { code: 'ERR_INVALID_OPTION', field: 'timeout' })
  })
})
