/**
 * replay() from each network store: only what the endpoint accepted is removed, what failed again
 * stays with attempts updated, and replaying again never re-sends an accepted record.
 * Kafka and MariaDB are real servers; WebHDFS and HBase REST are protocol servers.
 */
import assert from 'node:assert/strict'
import { after, before, test, type TestContext } from 'node:test'
import { replay } from '../lib/sink/replay.js'
import { openStore } from '../lib/stores/open-store.js'
import { envelopes, pass } from './helpers/store-contract.js'
import { firstRecord, startReceiver } from './helpers/receiver.js'
import { startHBaseRest } from './helpers/hbase-rest-server.js'
import { startWebHdfs } from './helpers/webhdfs-server.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { startMariaDb, type MariaDb } from './services/mariadb.js'
import { isMissing, requireService, type Missing } from './services/require-service.js'

let kafka: KafkaMock | Missing | undefined
let db: MariaDb | Missing | undefined

before(async () => { [kafka, db] = await Promise.all([startKafkaMock(['replay:2'], 1), startMariaDb()]) })
after(async () => {
  if (kafka !== undefined && !isMissing(kafka)) await kafka.stop()
  if (db !== undefined && !isMissing(db)) await db.destroy()
})

const uris: Record<string, (t: TestContext) => Promise<string | undefined>> = {
  kafka: async (t) => requireService(t, kafka, 'Kafka (librdkafka mock cluster)') ? `kafka://${kafka.brokers.join(',')}/replay?sessionTimeout=4000` : undefined,
  mysql: async (t) => requireService(t, db, 'MariaDB') ? `${db.uri}?table=replay` : undefined,
  async webhdfs (t) {
    const hdfs = await startWebHdfs()
    t.after(() => hdfs.close())
    return `webhdfs://${hdfs.address}/replay?user=etl`
  },
  async hbase (t) {
    const hbase = await startHBaseRest()
    t.after(() => hbase.close())
    return `hbase://${hbase.address}/replay`
  }
}

for (const [kind, open] of Object.entries(uris)) {
  test(`replay from ${kind}: acks the accepted, keeps the refused with attempts updated, never re-sends`, { timeout: 90_000 }, async (t) => {
    const uri = await open(t)
    if (uri === undefined) return
    const store = openStore(uri)
    await store.put(envelopes(40, kind))
    await store.close()

    let refuse = true
    const receiver = await startReceiver({ plan: (req) => refuse && (firstRecord(req)?.i as number) % 4 === 0 ? { status: 400, body: 'no' } : undefined })
    t.after(() => receiver.close())
    const options = { url: `${receiver.url}/in`, batchSize: 16, retries: 0, backoff: { base: 1, max: 5 } }

    const first = await replay(uri, options)
    assert.deepEqual([first.read, first.delivered, first.failedAgain], [40, 30, 10])
    const second = await replay(uri, options)
    assert.deepEqual([second.read, second.delivered, second.failedAgain], [10, 0, 10], 'only the refused ones are read again')

    const check = openStore(uri)
    const kept = await pass(check)
    await check.close()
    assert.deepEqual(kept.map((r) => (r.envelope.record as { i: number }).i).sort((a, b) => a - b), [0, 4, 8, 12, 16, 20, 24, 28, 32, 36])
    for (const r of kept) {
      assert.equal(r.envelope.attempts, 6, 'stored attempts (4) plus one per replay')
      assert.equal(r.envelope.status, 400)
    }

    refuse = false
    const third = await replay(uri, options)
    assert.deepEqual([third.read, third.delivered, third.failedAgain], [10, 10, 0])
    const fourth = await replay(uri, options)
    assert.deepEqual([fourth.read, fourth.delivered], [0, 0])
    assert.equal(receiver.deliveredCount, 40, 'each record accepted exactly once over four replays')
    for (const count of receiver.delivered.values()) assert.equal(count, 1)
  })
}
