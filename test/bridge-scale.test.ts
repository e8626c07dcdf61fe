/**
 * The bridge at full size, on the Kafka wire protocol (librdkafka's mock cluster): 3 bridge
 * processes in one group over 6 partitions and 30,000 messages, one SIGKILLed mid-run and one
 * added later. The receiver records who delivered what when (a header per member); the group's
 * commits are sampled from the coordinator while it runs. And memory with a lag of 100,000.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createKafkaBridge } from '../lib/index.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { requireService, type Missing } from './services/require-service.js'
import { Receiver, recordKey, type ReceivedRequest } from './helpers/receiver.js'
import { assertNothingLost, readFailoverDir } from './helpers/ledger.js'
import { tempDir, spawnCli, type CliChild } from './helpers/cli-child.js'
import { produceRecords, groupOffsets, eventually, watchCommits, committedBefore, type BridgeRecord } from './helpers/bridge-kafka.js'

let kafka: KafkaMock | Missing | undefined
const WHAT = 'Kafka (librdkafka mock cluster: needs cc, pkg-config and librdkafka-dev)'
const TOPIC = 'b-scale'
const PARTITIONS = 6
before(async () => { kafka = await startKafkaMock([`${TOPIC}:${PARTITIONS}`, 'b-lag:3'], 1) })
after(async () => { if (kafka !== undefined && !('missing' in kafka)) await kafka.stop() })

const QUEUE_CAPACITY = 200
/** Ids go round-robin over the partitions, in order: the offset of id is id / PARTITIONS. */
const offsetOf = (r: BridgeRecord): number => Math.floor(r.id / PARTITIONS)
const memberOf = (req: ReceivedRequest): string => String(req.headers['x-member'])
const delivered = (req: ReceivedRequest): boolean => req.status !== undefined && req.status >= 200 && req.status < 300

test('bridge at scale: 3 processes, 6 partitions, 30,000 messages, one SIGKILLed, one added: at least once, duplicates only from the killed member\'s uncommitted range, nothing delivered past another member\'s commit', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const dir = tempDir(t, 'hsc-bridge-scale-')
  const group = 'g-scale'
  const receiver = await new Receiver({ plan: () => ({ status: 200, delayMs: 2 }) }).listen()
  t.after(() => receiver.close())
  const members = new Map<string, CliChild>()
  const start = (name: string): void => {
    const child = spawnCli(['bridge', `kafka://${k.brokers.join(',')}/${TOPIC}`, receiver.url, '--group', group,
      '-H', `x-member: ${name}`, '--commit-interval-ms', '300', '--session-timeout', '5000', '--num-writers', '4',
      '--queue-capacity', String(QUEUE_CAPACITY), '--encoding', 'ndjson', '--batch-records', '20', '--linger-ms', '5',
      '--failover', `file:${join(dir, `failover-${name}`)}`])
    t.after(() => { child.child.kill('SIGKILL') })
    members.set(name, child)
  }
  const byMember = (name: string): number => receiver.requests.filter((r) => delivered(r) && memberOf(r) === name).reduce((n, r) => n + r.records.length, 0)
  const alive = async (name: string, what: string, predicate: () => boolean, withinMs: number): Promise<void> => {
    await eventually(() => {
      for (const [n, c] of members) if (n !== 'C' && c.child.exitCode !== null) throw new Error(`bridge ${n} exited: ${c.stdout()}${c.stderr()}`)
      return predicate()
    }, withinMs, `${name}: ${what}`)
  }

  const written = await produceRecords(k.brokers, TOPIC, PARTITIONS, 12_000)
  const commits = watchCommits(k.brokers, TOPIC, group)
  t.after(() => commits.stop())
  for (const name of ['A', 'B', 'C']) start(name)
  await alive('A, B, C', 'each delivers, 4,000 in all', () => ['A', 'B', 'C'].every((n) => byMember(n) > 0) && receiver.deliveredCount >= 4000, 60_000)

  members.get('C')!.child.kill('SIGKILL')
  await members.get('C')!.exited
  const killedAt = performance.now()
  // The dead member's partitions stay as it left them until the group drops it (one session timeout).
  const { committed: atKill } = await groupOffsets(k.brokers, TOPIC, group)
  const killedRequests = receiver.requests.filter((r) => delivered(r) && memberOf(r) === 'C')
  written.push(...await produceRecords(k.brokers, TOPIC, PARTITIONS, 9_000, { first: 12_000 }))
  // The mock drags a member that joins right after a SIGKILL into a vote with the dead one: wait a little.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  start('D')
  await members.get('D')!.waitForOutput(new RegExp(`assigned ${TOPIC} \\[\\d`), 60_000)
  const joinedAt = performance.now()
  written.push(...await produceRecords(k.brokers, TOPIC, PARTITIONS, 9_000, { first: 21_000 }))
  await eventually(async () => {
    await alive('A, B, D', 'running', () => true, 1)
    const { committed, end } = await groupOffsets(k.brokers, TOPIC, group)
    return Object.keys(end).length === PARTITIONS && Object.entries(end).every(([p, e]) => committed[Number(p)] === e)
  }, 90_000, 'committed offsets reach the end offsets')
  for (const name of ['A', 'B', 'D']) members.get(name)!.child.kill('SIGTERM')
  const doneAt = performance.now()
  const codes = await Promise.all(['A', 'B', 'D'].map(async (name) => (await members.get(name)!.exited).code))
  await commits.stop()
  assert.deepEqual(codes, [143, 143, 143], ['A', 'B', 'D'].map((n) => members.get(n)!.stdout()).join('\n'))

  // Every message delivered (or stored) at least once.
  const stored = ['A', 'B', 'C', 'D'].flatMap((n) => readFailoverDir(join(dir, `failover-${n}`)).map((e) => e.record))
  const report = assertNothingLost({ written, delivered: receiver.delivered, stored })

  // No message delivered after a commit past it was visible at the coordinator.
  const late: string[] = []
  for (const req of receiver.requests) {
    if (!delivered(req)) continue
    for (const r of req.records as BridgeRecord[]) {
      if (offsetOf(r) < committedBefore(commits.samples, r.p, req.arrivedAt)) late.push(`${memberOf(req)} delivered p${r.p}@${offsetOf(r)}`)
    }
  }

  // Duplicates only from what the killed member delivered past its last commit.
  const killedUncommitted = new Set<string>()
  for (const req of killedRequests) {
    for (const r of req.records as BridgeRecord[]) if (offsetOf(r) >= (atKill[r.p] ?? 0)) killedUncommitted.add(recordKey(r))
  }
  const twice = written.filter((r) => (receiver.delivered.get(recordKey(r)) ?? 0) > 1)
  const elsewhere = twice.filter((r) => !killedUncommitted.has(recordKey(r)))
  const perMember = Object.fromEntries(['A', 'B', 'C', 'D'].map((n) => [n, byMember(n)]))
  const figures = `written ${report.written}, delivered ${report.delivered} (${JSON.stringify(perMember)}), stored ${report.stored}, duplicates ${report.duplicates} (${twice.length} messages twice, ${elsewhere.length} outside the killed member's uncommitted range), killed member delivered ${killedUncommitted.size} past its commits ${JSON.stringify(atKill)} (queueCapacity ${QUEUE_CAPACITY}), commit samples ${commits.samples.length}, delivered past a visible commit ${late.length}, D joined ${((joinedAt - killedAt) / 1000).toFixed(1)} s after the kill, all committed ${((doneAt - joinedAt) / 1000).toFixed(1)} s later; D delivered ${perMember.D}`
  t.diagnostic(figures)
  assert.deepEqual(late.slice(0, 5), [], `${late.length} message(s) delivered after the group had committed past them`)
  assert.ok(perMember.D! > 0, 'the member added later delivered nothing')
  assert.deepEqual(elsewhere.slice(0, 5).map((r) => `p${r.p}@${offsetOf(r)}`), [], `duplicates outside the killed member's uncommitted range: ${figures}`)
})

test('bridge: memory flat: a slow endpoint and a lag of 100,000: what the bridge holds stays within queueCapacity; stats() reports the lag per partition', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const dir = tempDir(t, 'hsc-bridge-lag-')
  const written = await produceRecords(k.brokers, 'b-lag', 3, 100_000)
  const receiver = await new Receiver({ plan: () => ({ status: 200, delayMs: 20 }) }).listen()
  t.after(() => receiver.close())
  const queueCapacity = 200
  const bridge = createKafkaBridge({ brokers: k.brokers, topics: ['b-lag'], groupId: 'g-lag', commitIntervalMs: 500, sessionTimeout: 6000, url: receiver.url, numWriters: 8, queueCapacity, failover: `file:${join(dir, 'failover')}` })
  const rss0 = process.memoryUsage().rss
  let maxInside = 0
  let maxHeld = 0
  let maxRss = rss0
  let samples = 0
  let badLag = ''
  const sampler = setInterval(() => {
    const s = bridge.stats()
    maxInside = Math.max(maxInside, s.inFlight + s.queued)
    // Taken from Kafka and not yet delivered or stored: the writable's buffer, its queue, in flight.
    maxHeld = Math.max(maxHeld, s.consumed - s.delivered - s.failedOver)
    maxRss = Math.max(maxRss, process.memoryUsage().rss)
    const positions = s.partitions.reduce((n, p) => n + p.position, 0)
    if (positions !== s.consumed || s.partitions.some((p) => p.lag !== p.highWatermark - p.position || (p.committed ?? 0) > p.position)) badLag ||= JSON.stringify(s)
    samples++
  }, 20)
  t.after(() => clearInterval(sampler))
  await bridge.start()
  await eventually(() => bridge.stats().delivered >= 2000, 60_000, '2,000 delivered')
  await eventually(() => bridge.stats().partitions.length === 3, 30_000, 'every partition fetched')
  clearInterval(sampler)
  const s = bridge.stats()
  const rssEnd = process.memoryUsage().rss
  assert.equal(badLag, '', 'positions add up to consumed, lag = highWatermark - position, committed <= position')
  assert.ok(maxInside <= queueCapacity, `inside ${maxInside} > queueCapacity ${queueCapacity}`)
  assert.ok(maxHeld <= queueCapacity, `held ${maxHeld} (consumed, not settled) > queueCapacity ${queueCapacity}`)
  assert.equal(s.partitions.reduce((n, p) => n + p.highWatermark, 0), written.length, 'the high watermarks add up to the topic')
  const lag = s.partitions.reduce((n, p) => n + p.lag, 0)
  assert.equal(lag, written.length - s.consumed, 'lag = what is still in Kafka')
  const stopped = await bridge.stop()
  const { committed } = await groupOffsets(k.brokers, 'b-lag', 'g-lag')
  const committedCount = Object.values(committed).reduce((a, b) => a + Math.max(0, b), 0)
  assert.ok(committedCount <= stopped.delivered + stopped.failedOver, 'committed past what was settled')
  assert.deepEqual(stopped.partitions.map((p) => p.committed), [0, 1, 2].map((p) => committed[p]), 'stats() committed = the group\'s committed offsets')
  t.diagnostic(`lag ${written.length}: ${samples} samples, max inside ${maxInside}, max held ${maxHeld} (queueCapacity ${queueCapacity}), consumed ${s.consumed} when delivered ${s.delivered}, lag then ${lag} (${s.partitions.map((p) => `p${p.partition} ${p.lag}`).join(', ')}); after stop: delivered ${stopped.delivered}, committed ${committedCount}; RSS start ${(rss0 / 2 ** 20).toFixed(0)} MiB, end ${(rssEnd / 2 ** 20).toFixed(0)} MiB, max ${(maxRss / 2 ** 20).toFixed(0)} MiB`)
})
