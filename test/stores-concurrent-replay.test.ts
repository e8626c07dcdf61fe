/**
 * Two replays of the same store started at once, as two real processes, for each network store:
 * every stored record is delivered exactly once in total, or the second replay is refused with
 * ERR_STORE_LOCKED (exit 2) and the first delivers everything. MySQL against MariaDB, Kafka
 * against the librdkafka mock cluster, WebHDFS and HBase REST against the protocol fakes running in
 * this process (both replayers talk to the same one).
 */
import { after, before, test } from 'node:test'
import { openStore } from '../lib/stores/open-store.js'
import { envelopes } from './helpers/store-contract.js'
import { replayTwiceAtOnce } from './helpers/concurrent-replay-run.js'
import { startHBaseRest } from './helpers/hbase-rest-server.js'
import { startWebHdfs } from './helpers/webhdfs-server.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { startMariaDb, type MariaDb } from './services/mariadb.js'
import { requireService, type Missing } from './services/require-service.js'

const STORED = 600
let db: MariaDb | Missing | undefined
let kafka: KafkaMock | Missing | undefined

before(async () => { [db, kafka] = await Promise.all([startMariaDb(), startKafkaMock(['concurrent:3'], 1)]) })
after(async () => {
  if (db !== undefined && !('missing' in db)) await db.destroy()
  if (kafka !== undefined && !('missing' in kafka)) await kafka.stop()
})

async function fill (uri: string, tag: string): Promise<ReturnType<typeof envelopes>> {
  const store = openStore(uri)
  const stored = envelopes(STORED, tag)
  try {
    for (let i = 0; i < stored.length; i += 100) await store.put(stored.slice(i, i + 100))
  } finally {
    await store.close()
  }
  return stored
}

test('concurrent replay: mysql, two replayers take disjoint rows (each row delivered once)', async (t) => {
  if (!requireService(t, db, 'MariaDB (apt-get install mariadb-server)')) return
  const uri = `${db.uri}?table=concurrent`
  await replayTwiceAtOnce(t, uri, await fill(uri, 'mysql'))
})

test('concurrent replay: kafka, the consumer group and the replay claim keep each message to one replayer', async (t) => {
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster: needs cc, pkg-config and librdkafka-dev)')) return
  const uri = `kafka://${kafka.brokers.join(',')}/concurrent?sessionTimeout=4000&timeout=5000`
  await replayTwiceAtOnce(t, uri, await fill(uri, 'kafka'))
})

test('concurrent replay: webhdfs, the lock file on HDFS lets one replay run', async (t) => {
  const hdfs = await startWebHdfs()
  t.after(() => hdfs.close())
  const uri = `webhdfs://${hdfs.address}/failover/concurrent?user=hsc`
  await replayTwiceAtOnce(t, uri, await fill(uri, 'webhdfs'))
})

test('concurrent replay: hbase, the check-and-put lock row lets one replay run', async (t) => {
  const hbase = await startHBaseRest()
  t.after(() => hbase.close())
  const uri = `hbase://${hbase.address}/concurrent`
  await replayTwiceAtOnce(t, uri, await fill(uri, 'hbase'))
})
