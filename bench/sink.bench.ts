/**
 * The writable's scenarios, each against the same receiver process:
 *  1. one record per request: this sink vs an undici Pool loop, a got loop, and wrk, all at 64;
 *  2. NDJSON batches of 500: this sink vs a hand-written undici batch loop at the same concurrency,
 *     and vs the stream floor (the smallest tuned batching Writable fed by the same Readable);
 *  3. the same batches gzipped (`compression: 'gzip'`) vs the loop gzipping each body with zlib;
 *     and what bisect and idempotency keys cost on the batch path (the sink against itself);
 *  4. peak RSS of the sink at N and 10×N records, each run in a fresh child process.
 * HTTPS rows are in tls.bench.ts.
 */
import { runWrk } from './baselines/wrk.js'
import { forkTs, nextMessage, stopChild, type ChildMessage } from './lib/child.js'
import { pin } from './lib/pin.js'
import { compare, pairedRatio, subject, type Measured } from './lib/compare.js'
import { intFromEnv } from './lib/env.js'
import { progress } from './lib/log.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import { versusRow } from './lib/versus.js'
import { rateLimitAccuracy } from './lib/rate-accuracy.js'
import { cpuNote, FRESH, guarded, micros, noteOf } from './lib/notes.js'
import { makeRecord } from './lib/records.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { BATCH, BATCH_CONCURRENCY, CONCURRENCY, RECORDS_PER_SECOND } from './lib/settings.js'
import { bytesToMb, verdict } from './lib/stats.js'

/** got is ~10x slower than undici on loopback; a fifth of N keeps its runs as long as the others. */
const GOT_SHARE = 5
const WRK_SECONDS = 5

async function perRequest (receiver: Receiver, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.recordsUrl
  const m = await compare(receiver, [
    subject('ours', records, 'ours', url, { numWriters: CONCURRENCY }),
    subject('undici', records, 'undiciLoop', url, CONCURRENCY),
    subject('got', Math.max(1000, Math.floor(records / GOT_SHARE)), 'gotLoop', url, CONCURRENCY)
  ], rounds)
  progress(`wrk -t2 -c${CONCURRENCY} -d${WRK_SECONDS}s`)
  const wrk = await runWrk(url, JSON.stringify(makeRecord(0)), { threads: 2, connections: CONCURRENCY, seconds: WRK_SECONDS })
  const ours = m.get('ours')!
  const scenario = `1 record/request, ${CONCURRENCY} in flight`
  const row = (name: string, other: Measured, target: string): BenchRow => ({
    scenario, ours: ours.rate, baseline: other.rate, baselineName: name, ratio: pairedRatio(ours, other), unit: RECORDS_PER_SECOND,
    note: noteOf(target, FRESH, cpuNote(ours, other), ours.notes, other.notes)
  })
  const undiciRatio = pairedRatio(ours, m.get('undici')!)
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
    subject('ours', records, 'ours', url, { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH }),
    subject('loop', records, 'ndjsonBatchLoop', url, BATCH_CONCURRENCY, BATCH.maxRecords),
    subject('writable', records, 'ndjsonBatchWritable', url, BATCH_CONCURRENCY, BATCH.maxRecords),
    subject('source', records, 'sourceOnly', url)
  ], rounds)
  const ours = m.get('ours')!
  const loop = m.get('loop')!
  const writable = m.get('writable')!
  const source = m.get('source')!
  // The loop makes its records in place; a stream-fed sink first pays the source's CPU per record.
  const ceiling = loop.cpuPerRecord / (loop.cpuPerRecord + source.cpuPerRecord)
  const loopRatio = pairedRatio(ours, loop)
  const sourceNote = `the Readable source alone (into a no-op Writable) costs ${micros(source.cpuPerRecord)} µs/record: a stream-fed sink that encoded and sent as cheaply as the loop would reach ${ceiling.toFixed(2)}x of it`
  return [{
    scenario: `NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: ours.rate,
    baseline: loop.rate,
    baselineName: 'undici NDJSON batch loop',
    ratio: loopRatio,
    unit: RECORDS_PER_SECOND,
    note: noteOf(`target >= 0.9x: ${verdict(loopRatio, 0.9)}`, '10×N records', FRESH, cpuNote(ours, loop), sourceNote, ours.notes, loop.notes, source.notes)
  }, {
    scenario: `NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: ours.rate,
    baseline: writable.rate,
    baselineName: 'hand-written batching Writable',
    ratio: pairedRatio(ours, writable),
    unit: RECORDS_PER_SECOND,
    note: noteOf('the stream floor: same source, minimal batching Writable (highWaterMark 1000, _writev), no retries/failover/byte limit', FRESH, cpuNote(ours, writable), writable.notes)
  }]
}

interface RssResult extends ChildMessage { peakRss: number, startRss: number, seconds: number }

/** Peak RSS of a fresh child sending `records`; throws unless the receiver counted every one. */
async function peakRssOf (receiver: Receiver, records: number): Promise<RssResult> {
  progress(`peak RSS: ${records} records in a fresh process`)
  const before = (await receiver.counts()).records
  const child = forkTs(new URL('./lib/rss-child.ts', import.meta.url), [String(records), receiver.recordsUrl])
  pin(child.pid, 'client')
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

/** gzip batches: the sink's `compression: 'gzip'` vs the batch loop gzipping each body itself. */
async function gzipBatches (receiver: Receiver, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.ndjsonUrl
  return [await versusRow(receiver, rounds, {
    scenario: `gzip NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: subject('ours gzip', records, 'ours', url, { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH, compression: 'gzip' }),
    baseline: subject('loop gzip', records, 'ndjsonBatchLoop', url, BATCH_CONCURRENCY, BATCH.maxRecords, { gzip: true }),
    baselineName: 'undici batch loop + zlib gzip',
    target: 0.9,
    about: '10×N records; default level, zlib on the thread pool on both sides; the receiver gunzips to count'
  })]
}

/**
 * What bisect and idempotency keys cost while the endpoint accepts everything: the batch sink with
 * both off (`onReject: 'failover'`), with its defaults (bisect on), and with `idempotencyKey: true`.
 */
async function featureCosts (receiver: Receiver, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.ndjsonUrl
  const sink = { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH }
  const m = await compare(receiver, [
    subject('ours, failover', records, 'ours', url, { ...sink, onReject: 'failover' }),
    subject('ours, bisect', records, 'ours', url, sink),
    subject('ours, keys', records, 'ours', url, { ...sink, idempotencyKey: true })
  ], rounds)
  const off = m.get('ours, failover')!
  const bisect = m.get('ours, bisect')!
  const keys = m.get('ours, keys')!
  const scenario = (what: string): string => `NDJSON batches of ${BATCH.maxRecords}, ${what}`
  return [{
    scenario: scenario("onReject: 'bisect' (the default)"),
    ours: bisect.rate,
    baseline: off.rate,
    baselineName: "same sink, onReject: 'failover'",
    ratio: pairedRatio(bisect, off),
    unit: RECORDS_PER_SECOND,
    note: noteOf('what bisect costs while every batch is accepted', '10×N records', FRESH, cpuNote(bisect, off), bisect.notes, off.notes)
  }, {
    scenario: scenario('idempotencyKey: true'),
    ours: keys.rate,
    baseline: bisect.rate,
    baselineName: 'same sink, no key',
    ratio: pairedRatio(keys, bisect),
    unit: RECORDS_PER_SECOND,
    note: noteOf('one SHA-256 of each request body', '10×N records', FRESH, cpuNote(keys, bisect), keys.notes)
  }]
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  const receiver = await startReceiver()
  try {
    return [
      ...await guarded('1 record/request', RECORDS_PER_SECOND, () => perRequest(receiver, ctx.records, rounds)),
      ...await guarded('NDJSON batches', RECORDS_PER_SECOND, () => batches(receiver, ctx.records * 10, rounds)),
      ...await guarded('gzip NDJSON batches', RECORDS_PER_SECOND, () => gzipBatches(receiver, ctx.records * 10, rounds)),
      ...await guarded('batch features', RECORDS_PER_SECOND, () => featureCosts(receiver, ctx.records * 10, rounds)),
      ...await guarded('peak RSS', 'MB', () => peakRss(receiver, ctx.records)),
      ...await guarded('rate limit', 'requests/s', () => rateLimitAccuracy(receiver))
    ]
  } finally {
    await receiver.close()
  }
}
