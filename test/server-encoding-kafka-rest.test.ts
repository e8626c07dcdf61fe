/**
 * The writable's `kafka-rest` encoding against the stream server: batches as
 * `{"records":[{"value":…}]}` with the Kafka REST content type, within batch.maxBytes, every record
 * arriving once; a 200 whose offsets carry error codes is retried (50003) or failed over (others).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { createHttpWritable } from '../lib/sink/http-writable.js'
import { readFailoverDir } from './helpers/ledger.js'
import { startReceiver, type ReceivedRequest } from './helpers/receiver.js'
import { consumer, drain, startServer, V2_JSON } from './helpers/server-fixture.js'
import { feed } from './helpers/writable-harness.js'

async function failoverDir (t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-kafka-rest-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return join(root, 'failover')
}

const FAST = { backoff: { base: 5, max: 20 }, timeout: 2000 }

describe("encoding 'kafka-rest'", () => {
  it('delivers batches to POST /topics/{t}; every record arrives once, in order', async (t) => {
    const { url } = await startServer(t)
    const sink = createHttpWritable({ url: `${url}/topics/krest`, encoding: 'kafka-rest', batch: { maxRecords: 50, maxBytes: 2000 }, failover: false, ...FAST })
    const items = Array.from({ length: 300 }, (_, id) => ({ id, text: 'x'.repeat(id % 7) }))
    const fed = await feed(sink, items)
    assert.equal(fed.error, undefined)
    assert.deepEqual(sink.stats().delivered, 300)
    const path = await consumer(url, 'g', 'c', ['krest'])
    const got = await drain(url, path)
    assert.deepEqual(got.map(r => r.value.id).sort((a: number, b: number) => a - b), items.map(i => i.id))
    assert.equal(got.length, 300, 'no duplicates')
  })

  it('sends the Kafka REST body and content type, each request within batch.maxBytes', async (t) => {
    const receiver = await startReceiver({ format: 'none' })
    t.after(() => receiver.close())
    const sink = createHttpWritable({ url: `${receiver.url}/topics/t`, encoding: 'kafka-rest', batch: { maxRecords: 1000, maxBytes: 300 }, failover: false, ...FAST })
    await feed(sink, Array.from({ length: 40 }, (_, id) => ({ id })))
    assert.ok(receiver.requests.length > 1)
    let records = 0
    for (const r of receiver.requests) {
      assert.equal(r.headers['content-type'], V2_JSON)
      assert.ok(Buffer.byteLength(r.body) <= 300, `request of ${Buffer.byteLength(r.body)} bytes`)
      const body = JSON.parse(r.body) as { records: Array<{ value: { id: number } }> }
      assert.deepEqual(Object.keys(body), ['records'])
      records += body.records.length
    }
    assert.equal(records, 40)
  })

  it('retries a 200 whose offsets say 50003 and fails over one with another error_code', async (t) => {
    const answers = (code: number | null): string => JSON.stringify({ key_schema_id: null, value_schema_id: null, offsets: [{ partition: 0, offset: 0, error_code: code, error: code === null ? null : 'boom' }] })
    const receiver = await startReceiver({
      format: 'none',
      plan: (req: ReceivedRequest) => {
        const id = (JSON.parse(req.body) as { records: Array<{ value: { id: number } }> }).records[0]?.value.id
        const tries = receiver.requests.filter(r => r.body === req.body).length
        if (id === 1) return { status: 200, body: answers(tries === 1 ? 50003 : null) }
        if (id === 2) return { status: 200, body: answers(50002) }
        return { status: 200, body: answers(null) }
      }
    })
    t.after(() => receiver.close())
    const dir = await failoverDir(t)
    const sink = createHttpWritable({ url: `${receiver.url}/topics/t`, encoding: 'kafka-rest', batch: { maxRecords: 1 }, failover: `file:${dir}`, ...FAST })
    const fed = await feed(sink, [{ id: 0 }, { id: 1 }, { id: 2 }])
    assert.equal(fed.error, undefined)
    const stats = sink.stats()
    assert.deepEqual([stats.delivered, stats.retried, stats.failedOver], [2, 1, 1])
    assert.deepEqual(readFailoverDir(dir).map(e => e.record), [{ id: 2 }])
  })
})
