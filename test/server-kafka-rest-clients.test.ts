/**
 * The npm Kafka REST client `kafka-rest` (0.0.5, Confluent's old kafka-rest-node: `lib/client.js`,
 * `topics.js`, `consumers.js`) against our server: what it completes and what it cannot, because it
 * speaks Kafka REST v1 (`SUPPORTED_VERSIONS = [1]`: `application/vnd.kafka.v1+json` and
 * `application/vnd.kafka.binary.v1+json`, and v1's read path `GET {base_uri}/topics/{topic}`).
 * The README's HTTP surfaces section lists the same (and `message-hub-rest`, tried by hand: its 2.0.0
 * only calls IBM Message Hub's `/admin/topics`).
 */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { describe, it } from 'node:test'
import { startServer } from './helpers/server-fixture.js'

const require = createRequire(import.meta.url)
const KafkaRest = require('kafka-rest') as new (config: { url: string }) => any

/** A kafka-rest-node callback call as a promise of { err, res }. */
async function node (run: (cb: (err: any, res?: any) => void) => void): Promise<{ err: any, res: any }> {
  return await new Promise((resolve) => run((err, res) => resolve({ err, res })))
}

describe('npm kafka-rest (kafka-rest-node 0.0.5, Kafka REST v1)', () => {
  it('completes metadata and consumer-instance flows; produce and reads fail on v1 content types', async (t) => {
    const server = await startServer(t, { topics: ['t'] })
    const client = new KafkaRest({ url: server.url })
    const brokers = await node((cb) => client.brokers.list(cb))
    assert.equal(brokers.err, null)
    assert.deepEqual(brokers.res.map((b: any) => b.id), [0])
    const topics = await node((cb) => client.topics.list(cb))
    assert.deepEqual(topics.res.map((x: any) => x.name), ['t'])
    const topic = await node((cb) => client.topic('t').get(cb))
    assert.equal(topic.res.raw.name, 't')
    const partitions = await node((cb) => client.topic('t').partitions.list(cb))
    assert.deepEqual(partitions.res.map((p: any) => p.id), [0])

    // Produce: the body is v1's (base64 values) sent as application/vnd.kafka.v1+json: 415 naming our types.
    const produced = await node((cb) => client.topic('t').produce('msg1', cb))
    assert.equal(produced.err?.status, 415)
    assert.match(produced.err.message, /vnd\.kafka\.v1\+json/)

    // Consumer instance: create and delete complete (instance_id, base_uri as v1 had them).
    const joined = await node((cb) => client.consumer('g').join({ format: 'binary', 'auto.offset.reset': 'smallest' }, cb))
    assert.equal(joined.err, null)
    assert.ok(joined.res.uri.startsWith(`${server.url}/consumers/g/instances/`))
    // Reading: v1's GET {base_uri}/topics/t with Accept application/vnd.kafka.binary.v1+json: 406.
    const stream = joined.res.subscribe('t')
    const read = await new Promise<any>((resolve) => { stream.once('error', resolve); stream.once('data', resolve) })
    assert.equal(read.status, 406)
    const deleted = await node((cb) => joined.res._shutdownInstance(cb))
    assert.equal(deleted.err ?? null, null)
    t.diagnostic(`completes: brokers, topics, topic, partitions, consumer create/delete; fails: produce ${produced.err.status}, read ${read.status}`)
  })
})
