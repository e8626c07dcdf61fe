/**
 * Kafka REST v2 partitions, brokers and produce answers, against both receivers. Shapes from
 * Confluent's kafka-rest: `v2/PartitionsResource` with `entities/v2/GetPartitionResponse`
 * ({ partition, leader, replicas: [{ broker, leader, in_sync }] }) and `TopicPartitionOffsetResponse`
 * ({ beginning_offset, end_offset }); `v2/ProduceToPartitionAction` (a record's own partition wins over
 * the path's); `v2/BrokersResource` with `entities/v2/BrokerList` ({ brokers: [ids] });
 * `entities/v2/ProduceRequest` (`@NotEmpty records`: 422); `Errors.partitionNotFoundException` (40402).
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { call, consumer, startServer, V2, V2_JSON } from './helpers/server-fixture.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const KAFKA = { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500, connectionTimeout: 500, requestTimeout: 2000, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } }

/** A server on the memory receiver (topic `p` with one partition) or on the Kafka mock cluster (topic `p` with three). */
async function setUp (t: TestContext, kind: 'memory' | 'kafka'): Promise<{ url: string, partitions: number } | undefined> {
  if (kind === 'memory') return { url: (await startServer(t, { topics: ['p'] })).url, partitions: 1 }
  const kafka = await startKafkaMock(['p:3'])
  if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return undefined
  const { url } = await startServer(t, { receiver: `kafka://${kafka.brokers.join(',')}`, kafka: KAFKA })
  t.after(() => kafka.stop())
  return { url, partitions: 3 }
}

for (const kind of ['memory', 'kafka'] as const) {
  describe(`Kafka REST v2 partitions and brokers (${kind} receiver)`, { timeout: 120_000 }, () => {
    it('lists and gets partitions, their offsets, and the brokers, shaped as Confluent\'s v2 entities', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url, partitions } = set
      const list = await call(url, 'GET', '/topics/p/partitions')
      assert.deepEqual([list.status, list.headers['content-type']], [200, V2], list.text)
      assert.deepEqual(list.json.map((p: any) => p.partition), [...Array(partitions).keys()])
      for (const p of list.json) {
        assert.deepEqual(Object.keys(p).sort(), ['leader', 'partition', 'replicas'])
        assert.ok(p.replicas.length > 0 && p.replicas.every((r: any) => Object.keys(r).sort().join() === 'broker,in_sync,leader'))
        assert.ok(p.replicas.some((r: any) => r.leader === true && r.broker === p.leader))
      }
      const one = await call(url, 'GET', '/topics/p/partitions/0')
      assert.deepEqual([one.status, one.json], [200, list.json[0]])
      const absent = await call(url, 'GET', `/topics/p/partitions/${partitions}`)
      assert.deepEqual([absent.status, absent.json.error_code], [404, 40402])
      assert.deepEqual((await call(url, 'GET', '/topics/nope/partitions')).json.error_code, 40401)
      assert.deepEqual((await call(url, 'GET', '/topics/p/partitions/x')).status, 404)
      const brokers = await call(url, 'GET', '/brokers')
      assert.deepEqual([brokers.status, brokers.headers['content-type']], [200, V2])
      assert.deepEqual(Object.keys(brokers.json), ['brokers'])
      assert.ok(brokers.json.brokers.length >= 1 && brokers.json.brokers.every(Number.isInteger))
      assert.ok(brokers.json.brokers.includes(list.json[0].leader), 'the leader is a listed broker')
      assert.deepEqual((await call(url, 'GET', '/brokers', { headers: { accept: 'text/html' } })).status, 406)
      t.diagnostic(`${list.json.length} partitions, brokers ${JSON.stringify(brokers.json.brokers)}`)
    })

    it('produces to one partition (a record\'s own partition wins) and reports its offsets', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const { url, partitions } = set
      const last = partitions - 1
      const produced = await call(url, 'POST', `/topics/p/partitions/${last}`, { body: { records: [{ value: 1 }, { value: 2 }, { value: 3, partition: 0 }] }, type: V2_JSON })
      assert.equal(produced.status, 200, produced.text)
      assert.deepEqual(produced.json.offsets.map((o: any) => [o.partition, o.error_code]), [[last, null], [last, null], [0, null]])
      const offsets = await call(url, 'GET', `/topics/p/partitions/${last}/offsets`)
      assert.deepEqual([offsets.status, offsets.json], [200, { beginning_offset: 0, end_offset: last === 0 ? 3 : 2 }])
      const unknown = await call(url, 'POST', `/topics/p/partitions/${partitions + 5}`, { body: { records: [{ value: 1 }] }, type: V2_JSON })
      if (kind === 'memory') {
        assert.deepEqual([unknown.status, unknown.json.error_code], [404, 40402], unknown.text)
      } else {
        // Kafka fails the record's send: Confluent answers it in the record's offsets entry, with 200.
        assert.equal(unknown.status, 200, unknown.text)
        assert.deepEqual([unknown.json.offsets[0].partition, unknown.json.offsets[0].offset], [null, null])
        assert.ok([50002, 50003].includes(unknown.json.offsets[0].error_code), unknown.text)
        t.diagnostic(`unknown partition: ${unknown.text}`)
      }
    })

    it('refuses an empty records list with 422 (ProduceRequest @NotEmpty), on the topic and on a partition', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      for (const path of ['/topics/p', '/topics/p/partitions/0']) {
        for (const type of [V2_JSON, 'application/vnd.kafka.binary.v2+json']) {
          const empty = await call(set.url, 'POST', path, { body: { records: [] }, type })
          assert.deepEqual([empty.status, empty.json.error_code], [422, 422], `${path} ${type}`)
        }
      }
    })

    // Checked by the route before the receiver, so on the memory receiver only (a Kafka consumer that never joins its group slows the teardown).
    if (kind === 'memory') it('answers bad offsets and partitions in a seek or commit 422 / 422, never 42202 (Errors.java: "value schema missing")', async (t) => {
      const set = await setUp(t, kind)
      if (set === undefined) return
      const path = await consumer(set.url, 'bad', 'one', ['p'])
      for (const [op, body] of [
        ['positions', { offsets: [{ topic: 'p', partition: 0, offset: -1 }] }],
        ['positions', { offsets: [{ topic: 'p', partition: -1, offset: 0 }] }],
        ['offsets', { offsets: [{ topic: 'p', partition: 0, offset: 'x' }] }]
      ] as const) {
        const a = await call(set.url, 'POST', `${path}/${op}`, { body, type: V2 })
        assert.deepEqual([a.status, a.json.error_code], [422, 422], `${op} ${JSON.stringify(body)} ${a.text}`)
      }
    })
  })
}
