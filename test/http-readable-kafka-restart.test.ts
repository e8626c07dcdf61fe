/**
 * A reader keeps reading while its stream server (Kafka receiver, a real child process) is SIGKILLed
 * and started again on the same port, twice: once mid-stream with records buffered, once while a
 * fetch is long-polling. The librdkafka mock cluster outlives the server, so the group's committed
 * offsets survive: the reader retries with backoff, re-creates its lost consumer instance (40403),
 * resumes from the committed offsets and reads every record (no gap); records the server delivers
 * again (the uncommitted tail) were already pushed and are not pushed twice.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHttpReadable, type ReconnectEvent } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { startServerProcess, type ServerProcess } from './helpers/server-process.js'
import { startKafkaMock } from './services/kafka-mock.js'
import { requireService } from './services/require-service.js'

const TOPIC = 'across-restarts'
const FIRST = 200
const TOTAL = 400
const KILL_AT = 100

async function produce (url: string, from: number, to: number): Promise<void> {
  const client = new HttpStreamClient(url)
  try {
    for (let i = from; i < to; i += 50) await client.produce(TOPIC, Array.from({ length: Math.min(50, to - i) }, (_, k) => ({ i: i + k })))
  } finally {
    await client.close()
  }
}

async function restart (server: ServerProcess): Promise<void> {
  await server.kill()
  await server.start()
}

describe('reader across server restarts (kafka receiver)', () => {
  it('reads every record with no gap and none pushed twice', { timeout: 240_000 }, async (t) => {
    const kafka = await startKafkaMock([`${TOPIC}:1`])
    if (!requireService(t, kafka, 'Kafka (librdkafka mock cluster)')) return
    t.after(() => kafka.stop())
    // The killed server's kafkajs member stays in the group until its session times out: short
    // settings let the new member take the partition within the reader's reconnectMs (30 s).
    const server = await startServerProcess(t, {
      receiver: `kafka://${kafka.brokers.join(',')}`,
      kafka: { sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 500 }
    })
    const url = server.url
    await produce(url, 0, FIRST)
    const reader = createHttpReadable(url, { topic: TOPIC, groupId: 'across', withMetadata: true, maxBytes: 64, highWaterMark: 4, pollTimeout: 200 })
    const reconnects: ReconnectEvent[] = []
    reader.on('reconnect', (e: ReconnectEvent) => { reconnects.push(e) })
    const reads = new Map<number, number>()
    let read = 0
    let midStream: Promise<void> | undefined
    for await (const r of reader as AsyncIterable<{ offset: number, value: { i: number } }>) {
      assert.deepEqual(r.value, { i: r.offset }, 'each offset holds the record produced there')
      reads.set(r.offset, (reads.get(r.offset) ?? 0) + 1)
      read++
      // Restart 1: while the consumer goes on taking what is buffered (not awaited here).
      if (read === KILL_AT) midStream = restart(server)
      // Restart 2: everything so far read, so the reader's fetch is long-polling when the server dies.
      if (reads.size === FIRST && midStream !== undefined) {
        await midStream
        midStream = undefined
        await restart(server)
        await produce(url, FIRST, TOTAL)
      }
      if (reads.size === TOTAL) break
    }
    const gaps = Array.from({ length: TOTAL }, (_, i) => i).filter(i => !reads.has(i))
    const duplicates = [...reads.values()].reduce((n, c) => n + c - 1, 0)
    const lost = reconnects.filter(e => (e.error as { errorCode?: number }).errorCode === 40403).length
    t.diagnostic(`produced ${TOTAL} / read ${read} / distinct ${reads.size} / gaps ${gaps.length} / duplicates ${duplicates}; re-delivered by the server and skipped ${reader.skipped}; ` +
      `2 server restarts; ${reconnects.length} retries (${lost} for a lost instance: re-created), longest backoff ${Math.max(...reconnects.map(e => e.delayMs))} ms`)
    assert.deepEqual(gaps, [], 'no gap: every produced record was read')
    assert.equal(duplicates, 0, 'nothing pushed twice: what the server re-delivered from the committed offset was skipped')
    assert.ok(lost >= 2, 'each restart lost the consumer instance, and the reader made a new one')
  })
})
