/**
 * Every HTTP method reaches the server as itself, and StreamPark URL records (no `url` option:
 * each record is a URL whose query becomes a JSON body) arrive as the original sent them.
 * HEAD cannot carry a body: a record's body is dropped (json) or its query stays in the URL (url).
 * Runs against both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deliver, FAST, feed, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'HEAD'] as const

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable methods (${transport})`, () => {
    for (const method of METHODS.filter((m) => m !== 'HEAD')) {
      it(`${method}: the server sees ${method} with the record as the JSON body`, LIMIT, async (t) => {
        const r = await rig(t)
        const { report } = await deliver(t, r, { url: `${r.receiver.url}/m?x=1`, method, transport, numWriters: 2, ...FAST }, records(3))
        assert.deepEqual(r.receiver.requests.map((q) => `${q.method} ${q.path}?${q.query}`), Array(3).fill(`${method} /m?x=1`))
        assert.equal(r.receiver.requests[0]?.headers['content-type'], 'application/json')
        assert.equal(report.delivered, 3)
      })
    }

    it('HEAD: the server sees HEAD with no body (a HEAD request cannot carry the record)', LIMIT, async (t) => {
      const r = await rig(t)
      const sink = r.sink({ url: `${r.receiver.url}/m?x=1`, method: 'HEAD', transport, numWriters: 2, ...FAST })
      const fed = await feed(sink, records(3))
      assert.equal(fed.error, undefined)
      assert.deepEqual(r.receiver.requests.map((q) => `${q.method} ${q.path}?${q.query} ${JSON.stringify(q.body)}`), Array(3).fill('HEAD /m?x=1 ""'))
      assert.equal(sink.stats().delivered, 3)
    })
  })

  describe(`createHttpWritable StreamPark URL records (${transport})`, () => {
    it('POSTs each URL record to its path with its query as a JSON body', LIMIT, async (t) => {
      const r = await rig(t, { format: 'url' })
      const urls = [0, 1, 2].map((i) => `${r.receiver.url}/p?userId=${i}&siteId=2`)
      const { report } = await deliver(t, r, { url: undefined, transport, numWriters: 2, ...FAST }, [...urls, `${r.receiver.url}/q?tag=a&tag=b`])
      const first = r.receiver.requests.find((q) => q.body.includes('"userId":"0"'))
      assert.deepEqual(first && { method: first.method, path: first.path, query: first.query, body: JSON.parse(first.body) as unknown },
        { method: 'POST', path: '/p', query: '', body: { userId: '0', siteId: '2' } })
      const repeated = r.receiver.requests.find((q) => q.path === '/q')
      assert.deepEqual(JSON.parse(repeated?.body ?? 'null'), { tag: ['a', 'b'] })
      assert.equal(report.delivered, 4)
    })

    for (const method of METHODS.filter((m) => m !== 'POST')) {
      it(`${method}: URL records arrive${method === 'HEAD' ? ' with the query kept in the URL' : ' with the query as a JSON body'}`, LIMIT, async (t) => {
        const r = await rig(t, { format: 'url' })
        const { report } = await deliver(t, r, { url: undefined, method, transport, numWriters: 2, ...FAST }, [0, 1].map((i) => `${r.receiver.url}/p?userId=${i}&siteId=2`))
        assert.deepEqual(r.receiver.requests.map((q) => q.method), [method, method])
        if (method !== 'HEAD') assert.deepEqual(r.receiver.requests.map((q) => q.query), ['', ''], 'the query travelled in the body')
        assert.equal(report.delivered, 2)
      })
    }

    it('fails over a record that is not a URL, with an error naming it', LIMIT, async (t) => {
      const r = await rig(t, { format: 'url' })
      const { report } = await deliver(t, r, { url: undefined, transport, ...FAST }, ['not a url', `${r.receiver.url}/p?userId=9`])
      const envelopes = r.envelopes()
      assert.deepEqual(envelopes.map((e) => e.record), ['not a url'])
      assert.match(envelopes[0]?.error ?? '', /URL/)
      assert.equal(report.delivered, 1)
    })
  })
}
