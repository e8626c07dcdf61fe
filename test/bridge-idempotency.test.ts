/**
 * `idempotencyKey: true` on the bridge: each request's key is the Kafka coordinates of its records
 * (`topic-partition-offset`, `topic-partition-first-last` per partition), the same on every retry
 * and whichever member or run sends the same messages. Real HTTP receiver, librdkafka mock cluster.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createKafkaBridge } from '../lib/index.js'
import { RecordCoordinates } from '../lib/bridge/record-coordinates.js'
import { startKafkaMock, type KafkaMock } from './services/kafka-mock.js'
import { requireService, type Missing } from './services/require-service.js'
import { Receiver, recordKey, type ReceivedRequest } from './helpers/receiver.js'
import { assertNothingLost } from './helpers/ledger.js'
import { tempDir } from './helpers/cli-child.js'
import { produceRecords, eventually, type BridgeRecord } from './helpers/bridge-kafka.js'

let kafka: KafkaMock | Missing | undefined
const WHAT = 'Kafka (librdkafka mock cluster: needs cc, pkg-config and librdkafka-dev)'
before(async () => { kafka = await startKafkaMock(['b-idem:3'], 1) })
after(async () => { if (kafka !== undefined && !('missing' in kafka)) await kafka.stop() })

test('bridge idempotency keys: one record, contiguous runs, gaps, several partitions, copies found by content', () => {
  const c = new RecordCoordinates(true)
  const r = (id: number): { id: number } => ({ id })
  const [a, b, d, e, f] = [r(1), r(2), r(3), r(4), r(5)]
  c.note(a, 't', 0, '10')
  c.note(b, 't', 0, '11')
  c.note(d, 't', 0, '13')
  c.note(e, 't', 2, '7')
  c.note(f, 'a.b-c', 1, '5')
  assert.equal(c.key([a]), 't-0-10')
  assert.equal(c.key([b, a]), 't-0-10-11', 'a contiguous run, whatever the order')
  assert.match(c.key([a, d]), /^t-0-10-13-[\w-]{12}$/, 'a gap: the offsets are hashed in')
  assert.notEqual(c.key([a, d]), c.key([a, b, d]))
  assert.equal(c.key([e, a, f, b]), 'a.b-c-1-5,t-0-10-11,t-2-7', 'partitions in order')
  assert.equal(c.key([{ id: 1 }, { id: 2 }]), 't-0-10-11', 'copies decoded from a body are found by their JSON text')
  c.note({ id: 9 }, 't', 1, '0')
  c.note({ id: 9 }, 't', 1, '1')
  assert.match(c.key([{ id: 9 }]), /^~[\w-]{22}$/, 'a text two messages share is hashed, not guessed')
  c.committed([{ topic: 't', partition: 1, offset: '1' }])
  assert.equal(c.key([{ id: 9 }]), 't-1-1', 'committed messages are forgotten')
  assert.equal(new RecordCoordinates(false).key(['x']), new RecordCoordinates(false).key(['x']), 'no coordinates: a stable hash')
})

const offsetOf = (r: BridgeRecord): number => Math.floor(r.id / 3)
const keyOf = (req: ReceivedRequest): string => String(req.headers['idempotency-key'])

/** The key the bridge must send for these records. */
function expectedKey (records: BridgeRecord[]): string {
  const byPartition = new Map<number, number[]>()
  for (const r of records) byPartition.set(r.p, [...(byPartition.get(r.p) ?? []), offsetOf(r)])
  return [...byPartition].sort(([p], [q]) => p - q).map(([p, offsets]) => {
    offsets.sort((x, y) => x - y)
    const [first, last] = [offsets[0]!, offsets.at(-1)!]
    return offsets.length === 1 ? `b-idem-${p}-${first}` : `b-idem-${p}-${first}-${last}${last - first + 1 === offsets.length ? '' : '-'}`
  }).join(',')
}

test('bridge with idempotencyKey: true: every request carries its records\' coordinates, the same on retries and in another run; batches keyed by their runs', async (t) => {
  if (!requireService(t, kafka, WHAT)) return
  const k = kafka
  const dir = tempDir(t, 'hsc-bridge-idem-')
  const written = await produceRecords(k.brokers, 'b-idem', 3, 600)
  // Every 7th request is answered 503 once: its retry must carry the same key.
  const receiver = await new Receiver({ plan: (req) => req.seq % 7 === 3 ? { status: 503 } : undefined }).listen()
  t.after(() => receiver.close())
  const run = async (group: string, batch: boolean): Promise<ReceivedRequest[]> => {
    const from = receiver.requests.length
    const before = receiver.deliveredCount
    const bridge = createKafkaBridge({
      brokers: k.brokers, topics: ['b-idem'], groupId: group, commitIntervalMs: 300, sessionTimeout: 6000, url: receiver.url,
      idempotencyKey: true, retries: 5, backoff: { base: 5, max: 20 }, failover: `file:${join(dir, group)}`,
      ...(batch ? { encoding: 'ndjson' as const, batch: { maxRecords: 25, lingerMs: 5 } } : {})
    })
    t.after(() => bridge.stop())
    await bridge.start()
    await eventually(() => receiver.deliveredCount - before >= written.length, 60_000, `${group}: every record delivered`)
    await bridge.stop()
    return receiver.requests.slice(from)
  }
  const single = [await run('g-idem-1', false), await run('g-idem-2', false)]
  const batched = await run('g-idem-3', true)

  for (const requests of [...single, batched]) {
    const wrong = requests.filter((req) => !keyOf(req).startsWith(expectedKey(req.records as BridgeRecord[])))
    assert.deepEqual(wrong.slice(0, 3).map((req) => [keyOf(req), expectedKey(req.records as BridgeRecord[])]), [], 'each key names its records\' coordinates')
  }
  // Retries: a 503'd request and its retry carry the same records and the same key.
  const retried = [...single, batched].flat().filter((req) => req.status === 503)
  for (const req of retried) {
    const again = receiver.requests.find((other) => other.seq > req.seq && other.body === req.body)
    assert.equal(again !== undefined && keyOf(again), keyOf(req), 'the retry of a 503 kept its key')
  }
  // Two runs (two groups) of the same messages, one record a request: the same key for each record.
  const keys = single.map((requests) => new Map(requests.filter((req) => req.status === 200).map((req) => [recordKey(req.records[0]), keyOf(req)])))
  assert.equal(keys[0]!.size, written.length)
  assert.deepEqual([...keys[1]!].filter(([record, key]) => keys[0]!.get(record) !== key).slice(0, 3), [], 'another run sent another key for the same message')
  const distinct = new Set(batched.filter((req) => req.status === 200).map(keyOf))
  assertNothingLost({ written, delivered: receiver.delivered })
  t.diagnostic(`${written.length} messages; one a request: ${keys[0]!.size} keys, equal across 2 runs; batched: ${batched.length} requests, ${distinct.size} distinct keys of delivered batches (e.g. ${JSON.stringify([...distinct][0])}); ${retried.length} 503s retried with the same key`)
})
