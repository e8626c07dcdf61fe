/**
 * The stream server as several nodes on one Kafka cluster (librdkafka's mock cluster): each node
 * names itself in the base_uri of the instances it creates (`advertisedUrl`, `serve
 * --advertised-url`), and answers an instance it does not have with 404 / 40403 saying where
 * instances live. Two server processes, two readers of one group (one per node), 20,000 records
 * produced through both nodes; one node is SIGKILLed mid-read: its reader moves to the other node
 * and resumes from the group's committed offsets. Every record is read by some reader, no partition
 * has a gap, and every record read twice is at or past its partition's committed offset at the kill
 * (the uncommitted tail).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { run as serve } from '../lib/cli/serve.js'
import { createHttpStreamServer } from '../lib/server/server.js'
import { createHttpReadable, type HttpReadable, type ReconnectEvent } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { cliIo } from './helpers/cli-io.js'
import { call, startServer, V2 } from './helpers/server-fixture.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'
import { freePort } from './services/free-port.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const TOPIC = 'multinode'
const PARTITIONS = 4
const TOTAL = 20_000
/** The kill comes once this many records are read and each reader has read `BOTH_READ` (both hold partitions). */
const KILL_AFTER = 6000
const BOTH_READ = 1000
const GROUP = 'nodes'
/** Short group timings: the mock stalls every rebalance after a group's first about a session timeout. */
const KAFKA = { sessionTimeout: 4000, rebalanceTimeout: 3000, heartbeatInterval: 400, connectionTimeout: 1000, requestTimeout: 5000 }

async function createInstance (url: string, name: string, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  return await call(url, 'POST', `/consumers/${GROUP}`, { body: { name, format: 'json' }, type: V2, headers })
}

/** A node with the Kafka receiver, in its own process, advertising the URL it listens on. */
async function startNode (t: Parameters<typeof startServerProcess>[0], brokers: string[]): Promise<ServerProcess> {
  const port = await freePort()
  return await startServerProcess(t, { receiver: `kafka://${brokers.join(',')}`, kafka: KAFKA, advertisedUrl: `http://127.0.0.1:${port}` }, port)
}

async function produceThrough (url: string, from: number, to: number): Promise<void> {
  const client = new HttpStreamClient(url, { timeout: 30_000 })
  try {
    for (let i = from; i < to; i += 500) await client.produce(TOPIC, Array.from({ length: Math.min(500, to - i) }, (_, k) => ({ i: i + k })))
  } finally {
    await client.close()
  }
}

/** The group's committed (next-to-read) offsets, through an instance that does not subscribe (so it does not join the group). */
async function committed (url: string): Promise<Map<number, number>> {
  const client = new HttpStreamClient(url)
  try {
    const probe = await client.subscribe([], { groupId: GROUP })
    const refs = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition }))
    const offsets = await client.committed(probe, refs)
    await client.unsubscribe(probe)
    return new Map(offsets.map(o => [o.partition, o.offset]))
  } finally {
    await client.close()
  }
}

interface Read { partition: number, offset: number, value: { i: number } }

describe('the stream server as several nodes', () => {
  it('advertisedUrl names the node in base_uri whatever Host the request came with, and is checked', async (t) => {
    const server = await startServer(t, { advertisedUrl: 'https://node-a.example:9443/' })
    const created = await createInstance(server.url, 'me', { host: 'load-balancer.example' })
    assert.equal(created.status, 200)
    assert.equal(created.json.base_uri, `https://node-a.example:9443/consumers/${GROUP}/instances/me`)
    for (const bad of ['node-a:8082', 'ftp://node-a', 'http://node-a/?x=1', 'http://u:p@node-a']) {
      assert.throws(() => createHttpStreamServer({ advertisedUrl: bad }), { code: 'ERR_INVALID_OPTION', field: 'advertisedUrl' }, bad)
    }
    assert.throws(() => createHttpStreamServer({ advertisedUrl: 42 } as never), { code: 'ERR_INVALID_OPTION', field: 'advertisedUrl' })
  })

  it('serve --advertised-url', async (t) => {
    const stop = new AbortController()
    const s = cliIo()
    const serving = serve(['--port', '0', '--advertised-url', 'http://node-b.example:8082'], { ...s.io, signal: stop.signal })
    t.after(async () => { stop.abort(); await serving.catch(() => {}) })
    while (!s.out().includes('listening on')) await delay(10)
    const url = /listening on (\S+)/.exec(s.out())?.[1] as string
    const created = await createInstance(url, 'cli')
    assert.equal(created.json.base_uri, `http://node-b.example:8082/consumers/${GROUP}/instances/cli`)
    stop.abort()
    assert.equal(await serving, 0)
    await assert.rejects(serve(['--port', '0', '--advertised-url', 'node-b:8082'], cliIo().io), { code: 'ERR_INVALID_OPTION', field: 'advertisedUrl' })
  })

  it('a node with the kafka receiver answers an instance it does not have 404 / 40403, saying where instances live', async (t) => {
    // No broker is needed: the instance table is the node's own.
    const server = await startServer(t, { receiver: 'kafka://127.0.0.1:1' })
    const answer = await call(server.url, 'GET', `/consumers/${GROUP}/instances/elsewhere/records`, { headers: { accept: 'application/vnd.kafka.json.v2+json' } })
    assert.deepEqual([answer.status, answer.json.error_code], [404, 40403])
    assert.match(answer.json.message, /^Consumer instance not found\. Instances live on the server node that created them: use the base_uri/)
    assert.match(answer.json.message, /not forwarded/)
  })

  it('two nodes, two readers in one group; a node SIGKILLed mid-read: every record read, no gap, duplicates only past the commits', { timeout: 90_000 }, async (t) => {
    const kafka = await startKafkaMock([`${TOPIC}:${PARTITIONS}`])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    const [one, two] = await Promise.all([startNode(t, kafka.brokers), startNode(t, kafka.brokers)]) as [ServerProcess, ServerProcess]
    const started = Date.now()
    await Promise.all([produceThrough(one.url, 0, TOTAL / 2), produceThrough(two.url, TOTAL / 2, TOTAL)])
    const producedMs = Date.now() - started

    const reads = new Map<string, number>()
    const perReader = [0, 0]
    /** Records read a second time, and whether that was after the kill (before it: the tail of the readers' first rebalance). */
    const dupes: Array<Read & { afterKill: boolean }> = []
    let killedAt: Map<number, number> | undefined
    let killing: Promise<void> | undefined
    let killMs = 0
    const reconnects: ReconnectEvent[] = []
    const readers: HttpReadable[] = [
      createHttpReadable(one.url, { topic: TOPIC, groupId: GROUP, urls: [two.url], withMetadata: true, pollTimeout: 200, maxBytes: 2048, highWaterMark: 200 }),
      createHttpReadable(two.url, { topic: TOPIC, groupId: GROUP, urls: [one.url], withMetadata: true, pollTimeout: 200, maxBytes: 2048, highWaterMark: 200 })
    ]
    let readBeforeMove: number | undefined
    readers[0]?.on('reconnect', (e: ReconnectEvent) => {
      reconnects.push(e)
      if (e.url === two.url) readBeforeMove ??= perReader[0]
    })
    const done = new AbortController()
    const consume = async (reader: HttpReadable, n: number): Promise<void> => {
      done.signal.addEventListener('abort', () => reader.destroy(), { once: true })
      try {
        await read(reader, n)
      } catch (err) {
        if (!done.signal.aborted) throw err
      }
      done.abort()
    }
    const read = async (reader: HttpReadable, n: number): Promise<void> => {
      for await (const r of reader as AsyncIterable<Read>) {
        assert.equal(r.value.i >= 0 && r.value.i < TOTAL, true)
        const k = `${r.partition}:${r.offset}`
        const seen = reads.get(k) ?? 0
        if (seen > 0) dupes.push({ ...r, afterKill: killing !== undefined })
        reads.set(k, seen + 1)
        perReader[n]++
        if (reads.size >= KILL_AFTER && Math.min(...perReader) >= BOTH_READ && killing === undefined) {
          killMs = Date.now() - started
          killing = one.kill().then(async () => { killedAt = await committed(two.url) })
        }
        if (reads.size === TOTAL || done.signal.aborted) break
        // Slow consumers (about 1000 records/s each), so the kill comes mid-read with both readers holding partitions.
        if (perReader[n] % 50 === 0) await delay(50)
      }
    }
    const progress = setInterval(() => { if (process.env.MULTINODE_DEBUG !== undefined) process.stderr.write(`${Date.now() - started} ms: ${perReader.join(' + ')} read, ${reads.size} distinct, killed ${killMs}\n`) }, 2000)
    const deadline = setTimeout(() => done.abort(), 70_000)
    try {
      await Promise.all(readers.map(async (r, n) => await consume(r, n)))
    } finally {
      clearTimeout(deadline)
      clearInterval(progress)
      for (const r of readers) r.destroy()
    }
    await killing

    const byPartition = new Map<number, number[]>()
    for (const k of reads.keys()) {
      const [p, o] = k.split(':').map(Number) as [number, number]
      byPartition.set(p, [...(byPartition.get(p) ?? []), o])
    }
    const gaps: string[] = []
    let distinct = 0
    for (const [p, offsets] of byPartition) {
      offsets.sort((a, b) => a - b)
      distinct += offsets.length
      offsets.forEach((o, i) => { if (o !== i) gaps.push(`${p}:${i}`) })
    }
    const afterKill = dupes.filter(d => d.afterKill)
    const beforeCommit = afterKill.filter(d => d.offset < (killedAt?.get(d.partition) ?? 0))
    const moved = reconnects.filter(e => e.url === two.url).length
    t.diagnostic(`produced ${TOTAL} through 2 nodes in ${producedMs} ms; node 1 SIGKILLed at ${killMs} ms after ${KILL_AFTER} distinct reads; ` +
      `read ${perReader[0]} (reader 1) + ${perReader[1]} (reader 2), distinct ${distinct}, partitions ${byPartition.size}, gaps ${gaps.length}, ` +
      `duplicates ${dupes.length} (read by both readers: ${dupes.length - afterKill.length} before the kill, in the first rebalance; ${afterKill.length} after it, ${beforeCommit.length} of them before the commits at the kill), ` +
      `skipped inside readers ${readers[0]?.skipped} + ${readers[1]?.skipped}; reader 1: ${reconnects.length} retries, moved to node 2 (${moved}), read ${perReader[0] - (readBeforeMove ?? perReader[0])} there; ` +
      `committed at the kill ${JSON.stringify([...(killedAt ?? [])])}; total ${Date.now() - started} ms`)
    assert.ok(killing !== undefined, 'a node was killed mid-read')
    assert.equal(distinct, TOTAL, 'every record was read by some reader')
    assert.deepEqual(gaps, [], 'no partition has a gap')
    assert.equal(byPartition.size, PARTITIONS)
    assert.ok(moved > 0, 'the reader of the killed node moved to the other node')
    assert.ok(perReader[0] > 0 && perReader[1] > 0, 'both readers read')
    assert.deepEqual(beforeCommit, [], 'after the kill, only records at or past their partition\'s committed offset (the uncommitted tail) were read again')
  })
})
