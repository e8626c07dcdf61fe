/**
 * The Kafka→HTTP bridge: a topic pre-filled with N records (librdkafka's mock cluster, 6
 * partitions) delivered to the bench receiver in NDJSON batches, beside kafkajs consuming the same
 * topic with no HTTP (the ceiling) and beside the writable alone sending N records from memory
 * (the same options). Each bridge and kafkajs run is a fresh consumer group, timed from its join.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startKafkaMock } from '../test/services/kafka-mock.js'
import { intFromEnv } from './lib/env.js'
import { consumeWithKafkajs, fillTopic, until } from './lib/kafka-topic.js'
import { progress } from './lib/log.js'
import { sendThroughOurSink } from './lib/our-sink.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { median } from './lib/stats.js'

const TOPIC = 'bench-bridge'
const PARTITIONS = 6
const SINK = { numWriters: 8, encoding: 'ndjson', batch: { maxRecords: 500, maxBytes: 1 << 20, lingerMs: 5 } } as const
const UNIT = 'records/s'
const SCENARIO = `Kafka→HTTP bridge, ${PARTITIONS} partitions, NDJSON batches of ${SINK.batch.maxRecords}, ${SINK.numWriters} in flight`

/** One bridge run in a fresh group: seconds from its join to the last record delivered; checks the receiver's count. */
async function bridgeRun (brokers: string[], receiver: Receiver, groupId: string, n: number): Promise<number> {
  const { createKafkaBridge } = await import('../lib/index.js')
  const dir = await mkdtemp(join(tmpdir(), 'bench-bridge-'))
  const before = (await receiver.counts()).records
  const bridge = createKafkaBridge({ brokers, topics: [TOPIC], groupId, url: receiver.ndjsonUrl, failover: `file:${dir}`, ...SINK })
  let joined: bigint | undefined
  bridge.on('assigned', () => { joined ??= process.hrtime.bigint() })
  try {
    await bridge.start()
    await until(() => bridge.stats().delivered >= n, 120_000, 'the bridge delivering the topic')
    const seconds = Number(process.hrtime.bigint() - joined!) / 1e9
    const counted = (await receiver.counts()).records - before
    if (counted !== n) throw new Error(`receiver counted ${counted} of ${n} records`)
    return seconds
  } finally {
    await bridge.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function writableRun (receiver: Receiver, n: number): Promise<number> {
  const before = (await receiver.counts()).records
  const start = process.hrtime.bigint()
  await sendThroughOurSink(receiver.ndjsonUrl, n, SINK)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const counted = (await receiver.counts()).records - before
  if (counted !== n) throw new Error(`receiver counted ${counted} of ${n} records`)
  return seconds
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  const n = ctx.records
  const mock = await startKafkaMock([`${TOPIC}:${PARTITIONS}`], 1)
  if ('missing' in mock) return [{ scenario: SCENARIO, ours: NaN, unit: UNIT, note: `skipped: ${mock.missing}` }]
  const receiver = await startReceiver()
  try {
    progress(`bridge: filling ${TOPIC} with ${n} records`)
    await fillTopic(mock.brokers, TOPIC, PARTITIONS, n)
    await writableRun(receiver, Math.max(1000, Math.floor(n / 10)))
    const rates = { bridge: [] as number[], kafkajs: [] as number[], writable: [] as number[] }
    const subjects: Array<[keyof typeof rates, (round: number) => Promise<number>]> = [
      ['bridge', (round) => bridgeRun(mock.brokers, receiver, `bench-bridge-${round}`, n)],
      ['kafkajs', (round) => consumeWithKafkajs(mock.brokers, TOPIC, `bench-kafkajs-${round}`, n)],
      ['writable', () => writableRun(receiver, n)]
    ]
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < subjects.length; k++) {
        const [name, runOnce] = subjects[(k + round) % subjects.length]!
        const rate = n / await runOnce(round)
        rates[name].push(rate)
        progress(`round ${round + 1}/${rounds} ${name}: ${Math.round(rate)} records/s`)
      }
    }
    const bridge = median(rates.bridge)
    return [{
      scenario: SCENARIO, ours: bridge, baseline: median(rates.kafkajs), baselineName: 'kafkajs consuming, no HTTP', unit: UNIT,
      note: `the ceiling: the same topic, a fresh group, JSON.parse of each value; median of ${rounds}, each timed from the group join`
    }, {
      scenario: SCENARIO, ours: bridge, baseline: median(rates.writable), baselineName: 'the writable alone', unit: UNIT,
      note: 'the same sink options, N records from memory: what Kafka costs on top of HTTP'
    }]
  } catch (err) {
    progress(`bridge failed: ${(err as Error).stack ?? String(err)}`)
    return [{ scenario: SCENARIO, ours: NaN, unit: UNIT, note: `failed: ${(err as Error).message.split('\n')[0]}` }]
  } finally {
    await receiver.close()
    await mock.stop()
  }
}
