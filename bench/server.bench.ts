/**
 * The stream server's scenarios, the server in its own process:
 *  1. ingest via NDJSON bulk (batches of 500, 8 in flight): our server (memory receiver) vs a bare
 *     node:http server that only splits lines and JSON.parses them, same client loop;
 *  2. ingest via Kafka REST JSON (`{"records":[{"value":…}]}`, same batches): ours vs the bare
 *     server parsing the body whole;
 *  3. readable fetch: createHttpReadable reading N records vs a hand-written undici loop over the
 *     same Kafka REST consumer API (create, subscribe, GET records, commit per fetch).
 * Each figure is the median of BENCH_ROUNDS runs (default 3) after a warm-up.
 */
import type { ChildProcess } from 'node:child_process'
import { Pool } from 'undici'
import { createHttpReadable } from '../lib/source/http-readable.js'
import { forkTs, nextMessage, stopChild } from './lib/child.js'
import { intFromEnv } from './lib/env.js'
import { progress } from './lib/log.js'
import { makeRecord } from './lib/records.js'
import type { BenchContext, BenchRow } from './lib/row.js'

const BATCH = 500
const IN_FLIGHT = 8
const FETCH_BYTES = 1024 * 1024
const UNIT = 'records/s'
const V2 = 'application/vnd.kafka.v2+json'
const V2_JSON = 'application/vnd.kafka.json.v2+json'

interface Target { url: string, child: ChildProcess }

async function start (mode: 'ours' | 'bare'): Promise<Target> {
  const child = forkTs(new URL('./server-process.ts', import.meta.url), [mode])
  const { port } = await nextMessage<{ type: string, port: number }>(child, 'listening')
  return { url: `http://127.0.0.1:${port}`, child }
}

async function stop (target: Target): Promise<void> {
  target.child.disconnect()
  await stopChild(target.child, 2000)
}

function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** Bodies of BATCH records each, built before the clock starts. */
function bodies (n: number, kind: 'ndjson' | 'kafka-rest'): string[] {
  const out: string[] = []
  for (let i = 0; i < n; i += BATCH) {
    const records = Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => JSON.stringify(makeRecord(i + k)))
    out.push(kind === 'ndjson' ? `${records.join('\n')}\n` : `{"records":[${records.map(r => `{"value":${r}}`).join(',')}]}`)
  }
  return out
}

/** Posts every body with IN_FLIGHT requests under way; returns records/s. */
async function post (url: string, path: string, type: string, list: string[], n: number): Promise<number> {
  const pool = new Pool(url, { connections: IN_FLIGHT })
  let next = 0
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const body = list[next++] as string
      const res = await pool.request({ path, method: 'POST', headers: { 'content-type': type }, body })
      await res.body.text()
      if (res.statusCode !== 200) throw new Error(`POST ${path}: ${res.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  const rate = n / ((performance.now() - started) / 1000)
  await pool.close()
  return rate
}

async function ingest (records: number, rounds: number, kind: 'ndjson' | 'kafka-rest'): Promise<BenchRow> {
  const type = kind === 'ndjson' ? 'application/x-ndjson' : V2_JSON
  const list = bodies(records, kind)
  const ours = await start('ours')
  const bare = await start('bare')
  const rates = { ours: [] as number[], bare: [] as number[] }
  try {
    await post(ours.url, '/topics/warm', type, list.slice(0, 20), Math.min(records, 20 * BATCH))
    await post(bare.url, '/topics/warm', type, list.slice(0, 20), Math.min(records, 20 * BATCH))
    for (let r = 0; r < rounds; r++) {
      progress(`server ingest ${kind}: round ${r + 1}/${rounds}`)
      rates.ours.push(await post(ours.url, `/topics/ingest-${r}`, type, list, records))
      rates.bare.push(await post(bare.url, `/topics/ingest-${r}`, type, list, records))
    }
  } finally {
    await Promise.all([stop(ours), stop(bare)])
  }
  return {
    scenario: `server ingest, ${kind === 'ndjson' ? 'NDJSON bulk' : 'Kafka REST JSON'} (batches of ${BATCH}, ${IN_FLIGHT} in flight)`,
    ours: median(rates.ours),
    baseline: median(rates.bare),
    baselineName: kind === 'ndjson' ? 'bare node:http NDJSON parser' : 'bare node:http JSON parser',
    unit: UNIT,
    note: 'ours validates (depth, keys, topic) and stores in the memory receiver; the baseline parses and drops'
  }
}

async function readWithReadable (url: string, topic: string, group: string, n: number): Promise<number> {
  const started = performance.now()
  const reader = createHttpReadable(url, { topic, groupId: group, maxBytes: FETCH_BYTES, pollTimeout: 100 })
  let count = 0
  for await (const record of reader) {
    void record
    if (++count >= n) break
  }
  return n / ((performance.now() - started) / 1000)
}

/** The baseline: a plain undici loop over the same API, committing after each fetch. */
async function readWithLoop (url: string, topic: string, group: string, n: number): Promise<number> {
  const pool = new Pool(url, { connections: 2 })
  const call = async (method: string, path: string, body?: unknown, accept = V2): Promise<unknown> => {
    const res = await pool.request({ path, method: method as 'GET', headers: { 'content-type': V2, accept }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.body.text()
    return text === '' ? undefined : JSON.parse(text)
  }
  const started = performance.now()
  await call('POST', `/consumers/${group}`, { name: 'loop', format: 'json', 'auto.offset.reset': 'earliest', 'auto.commit.enable': 'false' })
  const base = `/consumers/${group}/instances/loop`
  await call('POST', `${base}/subscription`, { topics: [topic] })
  let count = 0
  while (count < n) {
    const got = await call('GET', `${base}/records?timeout=100&max_bytes=${FETCH_BYTES}`, undefined, V2_JSON) as Array<{ offset: number }>
    count += got.length
    const last = got[got.length - 1]
    if (last !== undefined) await call('POST', `${base}/offsets`, { offsets: [{ topic, partition: 0, offset: last.offset }] })
  }
  const rate = n / ((performance.now() - started) / 1000)
  await call('DELETE', base)
  await pool.close()
  return rate
}

async function fetchRow (records: number, rounds: number): Promise<BenchRow> {
  const ours = await start('ours')
  const rates = { readable: [] as number[], loop: [] as number[] }
  try {
    await post(ours.url, '/topics/fetch', 'application/x-ndjson', bodies(records, 'ndjson'), records)
    await readWithReadable(ours.url, 'fetch', 'warm-a', Math.min(records, 10_000))
    await readWithLoop(ours.url, 'fetch', 'warm-b', Math.min(records, 10_000))
    for (let r = 0; r < rounds; r++) {
      progress(`readable fetch: round ${r + 1}/${rounds}`)
      rates.readable.push(await readWithReadable(ours.url, 'fetch', `readable-${r}`, records))
      rates.loop.push(await readWithLoop(ours.url, 'fetch', `loop-${r}`, records))
    }
  } finally {
    await stop(ours)
  }
  return {
    scenario: `readable fetch from the server (max_bytes ${FETCH_BYTES / 1024} KiB)`,
    ours: median(rates.readable),
    baseline: median(rates.loop),
    baselineName: 'undici Kafka REST fetch loop',
    unit: UNIT,
    note: 'both create an instance, subscribe, fetch and commit per fetch; ours also parses into an object-mode stream'
  }
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  return [
    await ingest(ctx.records, rounds, 'ndjson'),
    await ingest(ctx.records, rounds, 'kafka-rest'),
    await fetchRow(ctx.records, rounds)
  ]
}
