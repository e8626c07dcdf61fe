/**
 * The writable's scenarios, each against the same receiver process:
 *  1. one record per request: this sink vs an undici Pool loop, a got loop, and wrk, all at 64;
 *  2. NDJSON batches of 500: this sink vs a hand-written undici batch loop at the same concurrency;
 *  3. peak RSS of the sink at N and 10×N records, each run in a fresh child process.
 */
import { gotLoop } from './baselines/got-loop.js'
import { ndjsonBatchLoop } from './baselines/ndjson-batch-loop.js'
import { ndjsonBatchWritable } from './baselines/ndjson-batch-writable.js'
import { undiciLoop } from './baselines/undici-loop.js'
import { runWrk } from './baselines/wrk.js'
import { forkTs, nextMessage, stopChild, type ChildMessage } from './lib/child.js'
import { compare, type Measured } from './lib/compare.js'
import { intFromEnv } from './lib/env.js'
import { progress } from './lib/log.js'
import { sendThroughOurSink } from './lib/our-sink.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import { rateLimitAccuracy } from './lib/rate-accuracy.js'
import { makeRecord } from './lib/records.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { bytesToMb, verdict } from './lib/stats.js'

const CONCURRENCY = 64
/** Batches are CPU-bound here: 64 bodies of 500 in flight oversubscribe 2 cores, so both sides use 8. */
const BATCH_CONCURRENCY = 8
const BATCH = { maxRecords: 500, maxBytes: 1 << 20, lingerMs: 5 }
/** got is ~10x slower than undici on loopback; a fifth of N keeps its runs as long as the others. */
const GOT_SHARE = 5
const WRK_SECONDS = 5
const RECORDS_PER_SECOND = 'records/s'

/** Client CPU per record of both sides: says where a gap comes from even when the machine is busy. */
function cpuNote (ours: Measured, other: Measured): string {
  return `client CPU/record ${ours.cpuPerRecord.toFixed(1)} vs ${other.cpuPerRecord.toFixed(1)} µs`
}

function noteOf (target: string, ...parts: Array<string | undefined | string[]>): string {
  return [target, ...parts.flat()].filter(p => p !== undefined && p !== '').join('; ')
}

async function perRequest (receiver: Receiver, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.recordsUrl
  const m = await compare(receiver, [
    { name: 'ours', records, run: n => sendThroughOurSink(url, n, { numWriters: CONCURRENCY }).then(() => {}) },
    { name: 'undici', records, run: n => undiciLoop(url, n, CONCURRENCY) },
    { name: 'got', records: Math.max(1000, Math.floor(records / GOT_SHARE)), run: n => gotLoop(url, n, CONCURRENCY) }
  ], rounds)
  progress(`wrk -t2 -c${CONCURRENCY} -d${WRK_SECONDS}s`)
  const wrk = await runWrk(url, JSON.stringify(makeRecord(0)), { threads: 2, connections: CONCURRENCY, seconds: WRK_SECONDS })
  const ours = m.get('ours')!
  const scenario = `1 record/request, ${CONCURRENCY} in flight`
  const row = (name: string, other: Measured, target: string): BenchRow => ({
    scenario, ours: ours.rate, baseline: other.rate, baselineName: name, unit: RECORDS_PER_SECOND,
    note: noteOf(target, cpuNote(ours, other), ours.notes, other.notes)
  })
  const undiciRatio = ours.rate / m.get('undici')!.rate
  return [
    row('undici Pool loop', m.get('undici')!, `target >= 0.95x: ${verdict(undiciRatio, 0.95)}`),
    row('got loop', m.get('got')!, `got runs N/${GOT_SHARE} records`),
    {
      scenario, ours: ours.rate, baseline: wrk.requestsPerSecond, baselineName: `wrk -t2 -c${CONCURRENCY}`, unit: RECORDS_PER_SECOND,
      note: noteOf('C client ceiling, fixed body, 1 request = 1 record', wrk.note)
    }
  ]
}

async function batches (receiver: Receiver, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.ndjsonUrl
  const m = await compare(receiver, [
    { name: 'ours', records, run: n => sendThroughOurSink(url, n, { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH }).then(() => {}) },
    { name: 'loop', records, run: n => ndjsonBatchLoop(url, n, BATCH_CONCURRENCY, BATCH.maxRecords) },
    { name: 'writable', records, run: n => ndjsonBatchWritable(url, n, BATCH_CONCURRENCY, BATCH.maxRecords) }
  ], rounds)
  const ours = m.get('ours')!
  const loop = m.get('loop')!
  const writable = m.get('writable')!
  return [{
    scenario: `NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: ours.rate,
    baseline: loop.rate,
    baselineName: 'undici NDJSON batch loop',
    unit: RECORDS_PER_SECOND,
    note: noteOf(`target >= 0.9x: ${verdict(ours.rate / loop.rate, 0.9)}`, '10×N records', cpuNote(ours, loop), ours.notes, loop.notes)
  }, {
    scenario: `NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: ours.rate,
    baseline: writable.rate,
    baselineName: 'hand-written batching Writable',
    unit: RECORDS_PER_SECOND,
    note: noteOf('the stream floor: same source, minimal batching Writable, no retries/failover/byte limit', cpuNote(ours, writable), writable.notes)
  }]
}

interface RssResult extends ChildMessage { peakRss: number, startRss: number, seconds: number }

/** Peak RSS of a fresh child sending `records`; throws unless the receiver counted every one. */
async function peakRssOf (receiver: Receiver, records: number): Promise<RssResult> {
  progress(`peak RSS: ${records} records in a fresh process`)
  const before = (await receiver.counts()).records
  const child = forkTs(new URL('./lib/rss-child.ts', import.meta.url), [String(records), receiver.recordsUrl])
  try {
    const result = await nextMessage<RssResult>(child, 'result')
    const counted = (await receiver.counts()).records - before
    if (counted !== records) throw new Error(`receiver counted ${counted} of ${records} records`)
    return result
  } finally {
    await stopChild(child, 5000)
  }
}

async function peakRss (receiver: Receiver, records: number): Promise<BenchRow[]> {
  const small = await peakRssOf(receiver, records)
  const large = await peakRssOf(receiver, records * 10)
  const ratio = large.peakRss / small.peakRss
  return [{
    scenario: 'peak RSS, 1 record/request, defaults',
    ours: bytesToMb(large.peakRss),
    baseline: bytesToMb(small.peakRss),
    baselineName: 'same sink at N (ours at 10×N)',
    unit: 'MB',
    note: `target 10×N within 1.2x of N: ${ratio <= 1.2 ? 'PASS' : 'MISS'}; RSS at start ${bytesToMb(large.startRss).toFixed(0)} MB; ${Math.round(records * 10 / large.seconds)} records/s at 10×N`
  }]
}

/** Runs a scenario; a scenario that throws becomes a row saying why instead of sinking the others. */
async function guarded (scenario: string, unit: string, fn: () => Promise<BenchRow[]>): Promise<BenchRow[]> {
  try {
    return await fn()
  } catch (err) {
    progress(`${scenario} failed: ${(err as Error).stack ?? String(err)}`)
    return [{ scenario, ours: NaN, unit, note: `failed: ${(err as Error).message.split('\n')[0]}` }]
  }
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  const receiver = await startReceiver()
  try {
    return [
      ...await guarded('1 record/request', RECORDS_PER_SECOND, () => perRequest(receiver, ctx.records, rounds)),
      ...await guarded('NDJSON batches', RECORDS_PER_SECOND, () => batches(receiver, ctx.records * 10, rounds)),
      ...await guarded('peak RSS', 'MB', () => peakRss(receiver, ctx.records)),
      ...await guarded('rate limit', 'requests/s', () => rateLimitAccuracy(receiver))
    ]
  } finally {
    await receiver.close()
  }
}
