/**
 * HTTPS keep-alive against the same receiver process serving TLS (a CA and a server certificate
 * made now with Debian's `openssl`, as the tests make them), the sink trusting that CA with `tls`:
 *  1. one record per request: this sink vs a hand-written undici Pool loop over the same TLS server;
 *  2. NDJSON batches of 500: this sink vs the hand-written undici batch loop over it.
 * Both sides reuse their connections, so the rows measure TLS record encryption, not handshakes.
 */
import { makeTestCerts } from '../test/helpers/tls-certs.js'
import { ndjsonBatchLoop } from './baselines/ndjson-batch-loop.js'
import { undiciLoop } from './baselines/undici-loop.js'
import { intFromEnv } from './lib/env.js'
import { guarded } from './lib/notes.js'
import { sendThroughOurSink } from './lib/our-sink.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { BATCH, BATCH_CONCURRENCY, CONCURRENCY, RECORDS_PER_SECOND } from './lib/settings.js'
import { versusRow } from './lib/versus.js'

const TARGET = 0.9

async function perRequest (receiver: Receiver, ca: string, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.recordsUrl
  return [await versusRow(receiver, rounds, {
    scenario: `HTTPS keep-alive, 1 record/request, ${CONCURRENCY} in flight`,
    ours: { name: 'ours https', records, run: n => sendThroughOurSink(url, n, { numWriters: CONCURRENCY, tls: { ca } }).then(() => {}) },
    baseline: { name: 'undici https', records, run: n => undiciLoop(url, n, CONCURRENCY, { connect: { ca } }) },
    baselineName: 'undici Pool loop over TLS',
    target: TARGET
  })]
}

async function batches (receiver: Receiver, ca: string, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.ndjsonUrl
  return [await versusRow(receiver, rounds, {
    scenario: `HTTPS NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: { name: 'ours https batches', records, run: n => sendThroughOurSink(url, n, { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH, tls: { ca } }).then(() => {}) },
    baseline: { name: 'loop https batches', records, run: n => ndjsonBatchLoop(url, n, BATCH_CONCURRENCY, BATCH.maxRecords, { pool: { connect: { ca } } }) },
    baselineName: 'undici NDJSON batch loop over TLS',
    target: TARGET,
    about: '10×N records'
  })]
}

export async function run (ctx: BenchContext): Promise<BenchRow[]> {
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  const certs = makeTestCerts()
  try {
    const receiver = await startReceiver({ keyFile: certs.server.keyFile, certFile: certs.server.certFile })
    try {
      return [
        ...await guarded('HTTPS 1 record/request', RECORDS_PER_SECOND, () => perRequest(receiver, certs.ca, ctx.records, rounds)),
        ...await guarded('HTTPS NDJSON batches', RECORDS_PER_SECOND, () => batches(receiver, certs.ca, ctx.records * 10, rounds))
      ]
    } finally {
      await receiver.close()
    }
  } finally {
    certs.remove()
  }
}
