/**
 * Failover store scenarios, for each store (file, Kafka, MySQL, WebHDFS, HBase):
 *  1. `store.put` in batches of 1000 envelopes (Kafka and MySQL: vs the bare client doing the same);
 *  2. a writable whose endpoint is down (connection refused, no retries, NDJSON batches of 500):
 *     records/s into the store;
 *  3. `replay` of what (2) stored into the bench receiver (NDJSON batches of 500).
 * Kafka is librdkafka's mock cluster and MySQL a private MariaDB (both real wire protocols, same
 * machine); WebHDFS and HBase are the in-process protocol servers from test/helpers. A store whose
 * service is missing gives rows saying so.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Kafka, logLevel } from 'kafkajs'
import { createPool } from 'mysql2/promise'
import { createHttpWritable } from '../lib/index.js'
import { replay } from '../lib/sink/replay.js'
import { openStore } from '../lib/stores/open-store.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { startHBaseRest } from '../test/helpers/hbase-rest-server.js'
import { startWebHdfs } from '../test/helpers/webhdfs-server.js'
import { startKafkaMock } from '../test/services/kafka-mock.js'
import { freePort } from '../test/services/free-port.js'
import { startMariaDb } from '../test/services/mariadb.js'
import { isMissing } from '../test/services/require-service.js'
import { progress } from './lib/log.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import { makeRecord, recordSource } from './lib/records.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { recordsPerSecond, verdict } from './lib/stats.js'

const PUT_BATCH = 1000
const UNIT = 'records/s'
const FILE_TARGET = 200_000
/** The mock keeps about 5 MB per partition (older messages go, like retention): enough partitions for N. */
const PARTITIONS = 12

/** One store under test: a fresh URI per scenario, a bare-client baseline, and its cleanup. */
interface Backend {
  name: string
  /** A new, empty location (topic, table, directory) each call. */
  uri: () => Promise<string>
  baseline?: { name: string, put: (envelopes: FailoverEnvelope[][]) => Promise<void> }
  note?: string
  close: () => Promise<void>
}

const envelopeOf = (i: number): FailoverEnvelope =>
  ({ record: makeRecord(i), url: 'http://127.0.0.1:9/ingest', method: 'POST', attempts: 4, status: 503, error: 'unexpected status 503', failedAt: Date.now() })

function batches (n: number): FailoverEnvelope[][] {
  const out: FailoverEnvelope[][] = []
  for (let i = 0; i < n; i += PUT_BATCH) out.push(Array.from({ length: Math.min(PUT_BATCH, n - i) }, (_, k) => envelopeOf(i + k)))
  return out
}

async function fileBackend (): Promise<Backend> {
  const root = await mkdtemp(join(tmpdir(), 'bench-stores-'))
  let n = 0
  return { name: 'file', uri: async () => `file:${join(root, String(n++))}`, close: () => rm(root, { recursive: true, force: true }) }
}

async function kafkaBackend (): Promise<Backend | string> {
  const mock = await startKafkaMock([], 1)
  if (isMissing(mock)) return mock.missing
  const client = new Kafka({ brokers: mock.brokers, logLevel: logLevel.NOTHING })
  const producer = client.producer()
  await producer.connect()
  let n = 0
  const topic = async (): Promise<string> => {
    const name = `bench-${n++}`
    await mock.createTopic(name, PARTITIONS)
    return name
  }
  return {
    name: 'kafka',
    note: `librdkafka mock cluster, 1 broker, ${PARTITIONS} partitions`,
    uri: async () => `kafka://${mock.brokers.join(',')}/${await topic()}?sessionTimeout=4000`,
    baseline: {
      name: 'kafkajs send, acks -1',
      put: async (all) => {
        const name = await topic()
        for (const batch of all) await producer.send({ topic: name, acks: -1, messages: batch.map((e) => ({ value: JSON.stringify(e) })) })
      }
    },
    close: async () => { await producer.disconnect(); await mock.stop() }
  }
}

async function mysqlBackend (): Promise<Backend | string> {
  const db = await startMariaDb()
  if (isMissing(db)) return db.missing
  const pool = createPool({ uri: db.uri, connectionLimit: 1 })
  let n = 0
  return {
    name: 'mysql',
    note: 'MariaDB, same machine',
    uri: async () => `${db.uri}?table=bench_${n++}`,
    baseline: {
      name: 'mysql2 multi-row INSERT',
      put: async (all) => {
        const table = `bench_raw_${n++}`
        await pool.query(`CREATE TABLE \`${table}\` (id BIGINT AUTO_INCREMENT PRIMARY KEY, \`values\` MEDIUMTEXT, \`timestamp\` BIGINT)`)
        for (const batch of all) await pool.query(`INSERT INTO \`${table}\` (\`values\`, \`timestamp\`) VALUES ?`, [batch.map((e) => [JSON.stringify([e.record]), e.failedAt])])
      }
    },
    close: async () => { await pool.end(); await db.destroy() }
  }
}

async function webhdfsBackend (): Promise<Backend> {
  const hdfs = await startWebHdfs()
  let n = 0
  return { name: 'webhdfs', note: 'protocol server in this process', uri: async () => `webhdfs://${hdfs.address}/bench/${n++}?user=bench`, close: () => hdfs.close() }
}

async function hbaseBackend (): Promise<Backend> {
  const hbase = await startHBaseRest()
  let n = 0
  return { name: 'hbase', note: 'protocol server in this process', uri: async () => `hbase://${hbase.address}/bench_${n++}`, close: () => hbase.close() }
}

async function scenarios (b: Backend, records: number, receiver: Receiver): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const note = (...parts: Array<string | undefined>): string => [b.note, ...parts].filter(Boolean).join('; ')

  progress(`stores: ${b.name} put`)
  const all = batches(records)
  const store = openStore(await b.uri())
  const ours = await recordsPerSecond(records, async () => { for (const batch of all) await store.put(batch) })
  await store.close()
  const base = b.baseline === undefined ? undefined : await recordsPerSecond(records, () => b.baseline!.put(all))
  const target = b.name === 'file' ? `target >= ${FILE_TARGET / 1000}k/s: ${verdict(ours / FILE_TARGET, 1)}` : undefined
  rows.push({ scenario: `${b.name}: store.put, batches of ${PUT_BATCH}`, ours, unit: UNIT, ...(base === undefined ? {} : { baseline: base, baselineName: b.baseline!.name }), note: note(target) })

  progress(`stores: ${b.name} writable, endpoint down`)
  const uri = await b.uri()
  const down = `http://127.0.0.1:${await freePort()}/ingest`
  const failedOver = await recordsPerSecond(records, async () => {
    await pipeline(recordSource(records), createHttpWritable({ url: down, failover: uri, retries: 0, encoding: 'ndjson', batch: { maxRecords: 500 } }))
  })
  rows.push({ scenario: `${b.name}: writable, endpoint down → store`, ours: failedOver, unit: UNIT, note: note('connection refused, retries 0, NDJSON batches of 500') })

  progress(`stores: ${b.name} replay`)
  const before = (await receiver.counts()).records
  const started = process.hrtime.bigint()
  const summary = await replay(uri, { url: receiver.ndjsonUrl, encoding: 'ndjson', batch: { maxRecords: 500 }, numWriters: 8 })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const received = (await receiver.counts()).records - before
  const join = b.name === 'kafka' ? 'includes the mock\'s ~3 s consumer-group join' : undefined
  rows.push({ scenario: `${b.name}: replay → endpoint`, ours: summary.delivered / seconds, unit: UNIT, note: note(`NDJSON batches of 500; ${summary.delivered}/${records} acked, receiver counted ${received}`, join) })
  return rows
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const receiver = await startReceiver()
  try {
    const starters: Array<[string, () => Promise<Backend | string>]> = [
      ['file', fileBackend], ['kafka', kafkaBackend], ['mysql', mysqlBackend], ['webhdfs', webhdfsBackend], ['hbase', hbaseBackend]
    ]
    for (const [name, start] of starters) {
      const backend = await start().catch((err: unknown) => `could not start: ${(err as Error).message}`)
      if (typeof backend === 'string') {
        rows.push({ scenario: `${name}: store.put, writable, replay`, ours: NaN, unit: UNIT, note: `skipped: ${backend}` })
        continue
      }
      try {
        rows.push(...await scenarios(backend, ctx.records, receiver))
      } catch (err) {
        rows.push({ scenario: `${name}: stores`, ours: NaN, unit: UNIT, note: `failed: ${(err as Error).message.split('\n')[0]}` })
      } finally {
        await backend.close()
      }
    }
  } finally {
    await receiver.close()
  }
  return rows
}
