/**
 * createHttpWritable with each network store as `failover`, the endpoint always failing:
 * every record written ends up in the store and 'finish' fires; and when the store goes down
 * mid-run, the stream errors with ERR_FAILOVER_STORE carrying the records it could not store,
 * so written ⊆ delivered ∪ stored ∪ err.records. Kafka and MariaDB are real servers; WebHDFS and
 * HBase REST are protocol servers.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import { createHttpWritable } from '../lib/index.js'
import { openStore } from '../lib/stores/open-store.js'
import { assertNothingLost } from './helpers/ledger.js'
import { startReceiver, type Receiver } from './helpers/receiver.js'
import { pass } from './helpers/store-contract.js'
import { startHBaseRest } from './helpers/hbase-rest-server.js'
import { startWebHdfs } from './helpers/webhdfs-server.js'
import { FAST, feed, records } from './helpers/writable-harness.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { startMariaDb, type MariaDb } from './services/mariadb.js'
import { isMissing, requireService, type Missing } from './services/require-service.js'

/** A store backend for one test: its URI, and switches to take it down and bring it back. */
interface Backend { uri: string, stop: () => Promise<void>, start: () => Promise<void> }

let kafka: KafkaMock | Missing | undefined
let db: MariaDb | Missing | undefined
let receiver: Receiver
let serial = 0

before(async () => {
  receiver = await startReceiver({ plan: () => ({ status: 503, body: 'down for maintenance' }) })
  ;[kafka, db] = await Promise.all([startKafkaMock([], 1), startMariaDb()])
})
after(async () => {
  await receiver.close()
  if (kafka !== undefined && !isMissing(kafka)) await kafka.stop()
  if (db !== undefined && !isMissing(db)) await db.destroy()
})

const backends: Record<string, (t: TestContext) => Promise<Backend | undefined>> = {
  async kafka (t) {
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
    const mock = kafka
    const topic = `e2e-${serial++}`
    await mock.createTopic(topic, 2)
    t.after(() => mock.up())
    return { uri: `kafka://${mock.brokers.join(',')}/${topic}?sessionTimeout=4000&timeout=2000&retries=1`, stop: () => mock.down(), start: () => mock.up() }
  },
  async mysql (t) {
    if (!requireService(t, db, 'MariaDB')) return undefined
    const server = db
    t.after(() => server.start())
    return { uri: `${server.uri}?table=e2e_${serial++}&retries=1`, stop: () => server.stop('SIGKILL'), start: () => server.start() }
  },
  async webhdfs (t) {
    const hdfs = await startWebHdfs()
    t.after(() => hdfs.close())
    return { uri: `webhdfs://${hdfs.address}/failover?user=etl&retries=1&timeout=2000`, stop: () => hdfs.down(), start: () => hdfs.up() }
  },
  async hbase (t) {
    const hbase = await startHBaseRest()
    t.after(() => hbase.close())
    return { uri: `hbase://${hbase.address}/failover?retries=1&timeout=2000`, stop: () => hbase.down(), start: () => hbase.up() }
  }
}

/** Every record the store holds (read without acking, through a store of its own). */
async function storedRecords (uri: string): Promise<unknown[]> {
  const reader = openStore(uri)
  try {
    return (await pass(reader, undefined, 1000)).map((r) => r.envelope.record)
  } finally {
    await reader.close()
  }
}

/** A writable to the failing endpoint with `uri` as failover, and whether it fired 'finish'. */
function openSink (uri: string): { sink: ReturnType<typeof createHttpWritable>, finished: () => boolean } {
  const sink = createHttpWritable({ url: `${receiver.url}/ingest`, failover: uri, retries: 1, numWriters: 8, queueCapacity: 200, ...FAST })
  let finished = false
  sink.on('finish', () => { finished = true })
  return { sink, finished: () => finished }
}

for (const [kind, backend] of Object.entries(backends)) {
  describe(`failover: '${kind}://…'`, () => {
    it('endpoint down: every record written is in the store, and \'finish\' fires', { timeout: 60_000 }, async (t) => {
      const b = await backend(t)
      if (b === undefined) return
      const { sink, finished } = openSink(b.uri)
      const fed = await feed(sink, records(300, kind))
      assert.equal(fed.error, undefined, `stream error: ${String(fed.error)}`)
      assert.ok(finished(), "'finish' fired")
      const stored = await storedRecords(b.uri)
      const report = assertNothingLost({ written: fed.written, delivered: receiver.delivered, stored, rejected: fed.rejected })
      assert.equal(report.delivered, 0)
      t.diagnostic(`ledger ${JSON.stringify(report)}`)
    })

    it('store down mid-run: ERR_FAILOVER_STORE with err.records; written ⊆ stored ∪ err.records', { timeout: 60_000 }, async (t) => {
      const b = await backend(t)
      if (b === undefined) return
      const { sink, finished } = openSink(b.uri)
      const first = await feed(sink, records(200, `${kind}-before`), { end: false })
      await sink.flush() // everything so far is durably in the store
      await b.stop()
      const second = await feed(sink, records(300, `${kind}-after`))
      await b.start()
      const error = second.error ?? first.error
      assert.equal(error?.code, 'ERR_FAILOVER_STORE', `got ${String(error)}`)
      assert.ok(Array.isArray(error.records) && error.records.length > 0, 'the error carries the records not stored')
      assert.equal(finished(), false, "no 'finish' when records were not stored")
      const stored = await storedRecords(b.uri)
      const report = assertNothingLost({
        written: [...first.written, ...second.written],
        delivered: receiver.delivered,
        stored,
        errored: error.records,
        rejected: [...first.rejected, ...second.rejected]
      })
      assert.ok(report.stored >= 200, 'what flush() reported durable is in the store')
      t.diagnostic(`ledger ${JSON.stringify(report)}`)
    })
  })
}
