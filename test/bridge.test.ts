/**
 * The Kafka→HTTP bridge on the Kafka wire protocol (librdkafka's mock cluster) into a real HTTP
 * receiver: nothing lost (delivered or in the failover store), offsets committed only past what is
 * settled, SIGKILL and SIGTERM of bridge processes in one group, memory bounded under lag.
 */
import { test, before, after, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createKafkaBridge } from '../lib/index.js'
import { valueDecoder } from '../lib/bridge/options.js'
import { lagText } from '../lib/bridge/lag-text.js'
import type { PartitionLag } from '../lib/index.js'
import { parseKafkaSource } from '../lib/cli/bridge.js'
import { main } from '../lib/cli/main.js'
import { cliIo } from './helpers/cli-io.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'
import type { Missing } from './services/require-service.js'
import { Receiver, recordKey } from './helpers/receiver.js'
import { assertNothingLost, readFailoverDir } from './helpers/ledger.js'
import { tempDir, spawnCli, whileRunning, summaryNumber } from './helpers/cli-child.js'
import { produceRecords, groupOffsets, eventually, type BridgeRecord } from './helpers/bridge-kafka.js'

let kafka: KafkaMock | Missing | undefined
const WHAT = 'Kafka (librdkafka mock cluster: needs cc, pkg-config and librdkafka-dev)'
before(async () => { kafka = await startKafkaMock(['b-main:3', 'b-kill:3', 'b-term:3', 'b-join:3', 'b-tty:3'], 1) })
after(async () => { if (kafka !== undefined && !('missing' in kafka)) await kafka.stop() })

test('bridge: options and command line are checked before anything connects', async () => {
  assert.throws(() => createKafkaBridge({ brokers: [], topics: ['t'], groupId: 'g' }), { code: 'ERR_INVALID_OPTION', message: /brokers/ })
  assert.throws(() => createKafkaBridge({ brokers: ['127.0.0.1:1'], topics: ['t'], groupId: 'g', commitIntervalMs: 0 }), { code: 'ERR_INVALID_OPTION', message: /commitIntervalMs/ })
  assert.throws(() => createKafkaBridge({ brokers: ['127.0.0.1:1'], topics: ['t'], groupId: 'g', value: 'xml' as 'json' }), { code: 'ERR_INVALID_OPTION', message: /value/ })
  assert.throws(() => createKafkaBridge({ brokers: ['127.0.0.1:1'], topics: ['t'], groupId: 'g', numWriters: -1 }), { code: 'ERR_INVALID_OPTION', message: /numWriters/ })
  const lag = (partition: number, n: number): PartitionLag => ({ topic: 't', partition, highWatermark: 100, position: 100 - n, committed: null, lag: n })
  assert.equal(lagText([lag(0, 5), lag(1, 0), lag(2, 50)]), 'lag 55 (t/2 50, t/0 5)')
  assert.equal(lagText([0, 1, 2].map((p) => lag(p, p + 1)), 2), 'lag 6 (t/2 3, t/1 2, …)')
  assert.equal(lagText([]), 'lag 0')
  const decode = valueDecoder('json')
  assert.deepEqual([decode(Buffer.from('{"a":1}')), decode(Buffer.from('not json')), decode(null)], [{ a: 1 }, 'not json', undefined])
  assert.deepEqual(parseKafkaSource('kafka://b1:9092,b2:9092/t1,t2'), { brokers: ['b1:9092', 'b2:9092'], topics: ['t1', 't2'] })
  for (const args of [['kafka://b:9092/t', 'http://127.0.0.1:1/'], ['http://b:9092/t', 'http://127.0.0.1:1/', '--group', 'g'], ['kafka://127.0.0.1:1/t', 'http://127.0.0.1:1/', '--group', 'g', '--metrics-host', '0.0.0.0'], ['kafka://127.0.0.1:1/t', 'http://127.0.0.1:1/', '--group', 'g', '--metrics-port', 'x']]) {
    const { io, err } = cliIo()
    assert.equal(await main(['bridge', ...args], io), 2, err())
    assert.match(err(), /http-stream bridge: /)
  }
})

const poisonous = (body: string): boolean => body.includes('"poison":true')

test('bridge: 3 partitions, 5,000 messages, some 503s and 400 poison records: every message delivered or stored, committed = end offsets', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const dir = tempDir(t, 'hsc-bridge-')
  const written = await produceRecords(k.brokers, 'b-main', 3, 5000, { poisonEvery: 997 })
  const receiver = await new Receiver({ plan: (req) => poisonous(req.body) ? { status: 400 } : req.seq % 40 === 7 ? { status: 503 } : undefined }).listen()
  t.after(() => receiver.close())
  const bridge = createKafkaBridge({ brokers: k.brokers, topics: ['b-main'], groupId: 'g-main', commitIntervalMs: 500, sessionTimeout: 6000, url: receiver.url, retries: 5, backoff: { base: 5, max: 50 }, failover: `file:${join(dir, 'failover')}` })
  await bridge.start()
  const poison = written.filter((r) => r.poison === true).length
  await eventually(() => { const s = bridge.stats(); return s.delivered + s.failedOver >= written.length }, 60_000, 'every message settled')
  await eventually(async () => {
    const { committed, end } = await groupOffsets(k.brokers, 'b-main', 'g-main')
    return [0, 1, 2].every((p) => committed[p] === end[p])
  }, 30_000, 'committed offsets reach the end offsets')
  const stats = await bridge.stop()
  const { committed, end } = await groupOffsets(k.brokers, 'b-main', 'g-main')
  assert.deepEqual(committed, end)
  const stored = readFailoverDir(join(dir, 'failover')).map((e) => e.record)
  const report = assertNothingLost({ written, delivered: receiver.delivered, stored })
  assert.equal(stored.length, poison, 'the poison records, and only they, are in failover')
  assert.ok(stats.retried > 0, 'some 503s were retried')
  t.diagnostic(`written ${report.written}, delivered ${report.delivered}, stored ${report.stored} (poison ${poison}), duplicates ${report.duplicates}, retried ${stats.retried}, commits ${stats.commits} (refused ${stats.commitsFailed}), committed ${JSON.stringify(committed)}`)
})

/** Partition and offset of a record: ids go round-robin over 3 partitions, in order. */
const offsetOf = (r: BridgeRecord): number => Math.floor(r.id / 3)

/** Both receivers' multisets added up. */
function both (a: Receiver, b: Receiver): Map<string, number> {
  const bag = new Map(a.delivered)
  for (const [key, n] of b.delivered) bag.set(key, (bag.get(key) ?? 0) + n)
  return bag
}

/** A temp folder, `count` records produced round-robin to `topic`'s 3 partitions, and a receiver answering 200 after `delayMs`. */
async function topicAndReceiver (t: TestContext, k: KafkaMock, topic: string, count: number, delayMs: number) {
  const dir = tempDir(t, 'hsc-bridge-')
  const written = await produceRecords(k.brokers, topic, 3, count)
  const receiver = await new Receiver({ plan: () => ({ status: 200, delayMs }) }).listen()
  t.after(() => receiver.close())
  return { dir, written, receiver }
}

/**
 * Produces `count` records to `topic`, starts a bridge process (`http-stream bridge`) into a real
 * receiver answering after 5 ms, and resolves once the receiver has `deliveredAtLeast` records.
 */
async function bridgeProcessMidRun (t: TestContext, k: KafkaMock, topic: string, count: number, deliveredAtLeast: number) {
  const { dir, written, receiver } = await topicAndReceiver(t, k, topic, count, 5)
  const group = `g-${topic}`
  const child = spawnCli(['bridge', `kafka://${k.brokers.join(',')}/${topic}`, receiver.url, '--group', group, '--commit-interval-ms', '300', '--session-timeout', '6000', '--num-writers', '16', '--queue-capacity', '300', '--failover', `file:${join(dir, 'failover')}`])
  t.after(() => { child.child.kill('SIGKILL') })
  await whileRunning(child, (p) => receiver.waitFor(p), () => receiver.deliveredCount >= deliveredAtLeast, 60_000)
  const another = (url: string) => createKafkaBridge({ brokers: k.brokers, topics: [topic], groupId: group, commitIntervalMs: 300, sessionTimeout: 6000, url, failover: `file:${join(dir, 'failover2')}` })
  const storedRecords = (): unknown[] => [...readFailoverDir(join(dir, 'failover')), ...readFailoverDir(join(dir, 'failover2'))].map((e) => e.record)
  return { written, receiver, child, group, another, storedRecords }
}

test('bridge: SIGTERM to a bridge process settles, commits and exits 143; a new bridge in the group re-delivers nothing committed', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const { written, receiver: first, child, another, storedRecords } = await bridgeProcessMidRun(t, k, 'b-term', 4000, 1000)
  child.child.kill('SIGTERM')
  const { code } = await child.exited
  assert.equal(code, 143, child.stdout() + child.stderr())
  const { committed } = await groupOffsets(k.brokers, 'b-term', 'g-b-term')
  // Everything before the committed offsets was delivered (or stored) by the first bridge.
  const stored = storedRecords()
  const firstHad = new Set([...first.delivered.keys(), ...stored.map(recordKey)])
  const before = written.filter((r) => offsetOf(r) < committed[r.p]!)
  assert.deepEqual(before.filter((r) => !firstHad.has(recordKey(r))).slice(0, 5), [], 'a committed message was neither delivered nor stored')
  const consumedByFirst = summaryNumber(child.stdout(), 'consumed')
  const second = await new Receiver().listen()
  t.after(() => second.close())
  const bridge = another(second.url)
  await bridge.start()
  await eventually(() => bridge.stats().delivered >= written.length - before.length, 60_000, 'the second bridge delivers the rest')
  await bridge.stop()
  const again = written.filter((r) => (second.delivered.get(recordKey(r)) ?? 0) > 0 && offsetOf(r) < committed[r.p]!)
  assert.equal(again.length, 0, 'the new member re-delivered committed messages')
  const report = assertNothingLost({ written, delivered: both(first, second), stored: storedRecords() })
  t.diagnostic(`first bridge: consumed ${String(consumedByFirst)}, delivered ${first.deliveredCount}, committed ${JSON.stringify(committed)} (${before.length} messages), exit ${String(code)}; second: delivered ${second.deliveredCount}, re-delivered committed 0; duplicates ${report.duplicates}`)
})

test('bridge: a bridge process SIGKILLed mid-run, a second one joins the group: every message delivered at least once, duplicates only past its commits', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const { written, receiver, child, another, storedRecords } = await bridgeProcessMidRun(t, k, 'b-kill', 6000, 2000)
  child.child.kill('SIGKILL')
  await child.exited
  const killedHad = new Map(receiver.delivered)
  const { committed } = await groupOffsets(k.brokers, 'b-kill', 'g-b-kill')
  const killedStored = new Set(storedRecords().map(recordKey))
  const committedUnsettled = written.filter((r) => offsetOf(r) < (committed[r.p] ?? 0) && !killedHad.has(recordKey(r)) && !killedStored.has(recordKey(r)))
  assert.equal(committedUnsettled.length, 0, 'the killed member committed past messages it had neither delivered nor stored')
  // The mock drags a member that joins right after a SIGKILL into a vote with the dead one: wait a little.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const bridge = another(receiver.url)
  await bridge.start()
  const committedCount = written.filter((r) => offsetOf(r) < (committed[r.p] ?? 0)).length
  await eventually(() => bridge.stats().delivered + bridge.stats().failedOver >= written.length - committedCount, 90_000, 'the second bridge delivers from the committed offsets on')
  const stats = await bridge.stop()
  const stored = storedRecords()
  const report = assertNothingLost({ written, delivered: receiver.delivered, stored })
  const twice = written.filter((r) => (receiver.delivered.get(recordKey(r)) ?? 0) > 1)
  const twiceCommitted = twice.filter((r) => offsetOf(r) < (committed[r.p] ?? 0))
  assert.equal(twiceCommitted.length, 0, 'a message before the killed member\'s commits was delivered again')
  const uncommittedByKilled = written.filter((r) => offsetOf(r) >= (committed[r.p] ?? 0) && (killedHad.get(recordKey(r)) ?? 0) > 0).length
  assert.ok(twice.length <= uncommittedByKilled, 'duplicates only from what the killed member delivered past its commits')
  t.diagnostic(`killed member: delivered ${[...killedHad.values()].reduce((a, b) => a + b, 0)}, committed ${JSON.stringify(committed)} (${committedCount} messages), delivered past its commits ${uncommittedByKilled}; second member: consumed ${stats.consumed}, delivered ${stats.delivered}; total delivered ${report.delivered}, duplicates ${report.duplicates} (${twice.length} messages twice), lost 0`)
})

test('bridge: a second live bridge joins the group: the partitions are split, every message delivered or stored, committed = end offsets', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const { dir, written, receiver } = await topicAndReceiver(t, k, 'b-join', 6000, 5)
  const open = (n: number) => createKafkaBridge({ brokers: k.brokers, topics: ['b-join'], groupId: 'g-join', commitIntervalMs: 300, sessionTimeout: 6000, url: receiver.url, numWriters: 16, queueCapacity: 300, failover: `file:${join(dir, `failover${n}`)}` })
  const a = open(1)
  const b = open(2)
  const assigned: Array<Record<string, number[]>> = []
  b.on('assigned', (assignment: Record<string, number[]>) => assigned.push(assignment))
  t.after(async () => { await Promise.allSettled([a.stop(), b.stop()]) })
  await a.start()
  await eventually(() => receiver.deliveredCount >= 1500, 60_000, 'the first bridge delivers')
  await b.start()
  await eventually(() => assigned.some((x) => (x['b-join']?.length ?? 0) > 0), 60_000, 'the second bridge gets partitions')
  await eventually(async () => {
    const { committed, end } = await groupOffsets(k.brokers, 'b-join', 'g-join')
    return [0, 1, 2].every((p) => committed[p] === end[p])
  }, 90_000, 'committed offsets reach the end offsets')
  const [sa, sb] = [await a.stop(), await b.stop()]
  const stored = [1, 2].flatMap((n) => readFailoverDir(join(dir, `failover${n}`)).map((e) => e.record))
  const report = assertNothingLost({ written, delivered: receiver.delivered, stored })
  t.diagnostic(`first bridge delivered ${sa.delivered} (commits ${sa.commits}, refused ${sa.commitsFailed}), second ${sb.delivered} (partitions ${JSON.stringify(assigned.at(-1))}, commits ${sb.commits}); total ${report.delivered}, duplicates ${report.duplicates}, stored ${report.stored}`)
})

test('bridge: on a TTY the progress line shows delivered, retried, failed over, commits and the lag per partition; the summary too; --metrics-port serves the sink\'s and the bridge\'s metrics', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const dir = tempDir(t, 'hsc-bridge-')
  await produceRecords(k.brokers, 'b-tty', 3, 300)
  const receiver = await new Receiver().listen()
  t.after(() => receiver.close())
  const { io, err, out } = cliIo()
  Object.assign(io.stderr, { isTTY: true })
  const stop = new AbortController()
  const done = main(['bridge', `kafka://${k.brokers.join(',')}/b-tty`, receiver.url, '--group', 'g-tty', '--commit-interval-ms', '200', '--session-timeout', '6000', '--metrics-port', '0', '--failover', `file:${join(dir, 'failover')}`], Object.assign(io, { signal: stop.signal }))
  await eventually(() => /delivered 300 .*commits [1-9]\d*\s+lag 0\b/.test(err().split('\r').at(-1) ?? ''), 60_000, `the progress line shows everything delivered, committed, no lag: ${JSON.stringify(err().slice(-300))}`)
  const url = /bridge: metrics on (\S+)/.exec(err())?.[1]
  assert.ok(url !== undefined, err())
  const text = await (await fetch(url)).text()
  stop.abort()
  assert.equal(await done, 0, out() + err())
  assert.match(text, /^http_stream_sink_records_delivered_total 300$/m)
  assert.match(text, /^http_stream_bridge_messages_consumed_total 300$/m)
  assert.match(text, /^http_stream_bridge_commits_total [1-9]\d*$/m)
  for (const p of [0, 1, 2]) {
    assert.match(text, new RegExp(`^http_stream_bridge_partition_lag\\{topic="b-tty",partition="${p}"\\} 0$`, 'm'))
    assert.match(text, new RegExp(`^http_stream_bridge_partition_high_watermark\\{topic="b-tty",partition="${p}"\\} 100$`, 'm'))
  }
  await assert.rejects(fetch(url), 'the metrics server closes with the bridge')
  assert.match(err(), /assigned b-tty \[0,1,2\]/)
  assert.match(out(), /^\s+lag\s+lag 0$/m)
  const { committed } = await groupOffsets(k.brokers, 'b-tty', 'g-tty')
  assert.deepEqual(committed, { 0: 100, 1: 100, 2: 100 })
  t.diagnostic(`last progress line: ${JSON.stringify(err().split('\r').filter((l) => l.includes('delivered')).at(-1))}; /metrics: ${text.split('\n').filter((l) => l.startsWith('http_stream_bridge_partition_lag')).join(', ')}`)
})
