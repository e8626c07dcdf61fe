/**
 * HTTPS keep-alive against the same receiver process serving TLS (a CA and a server certificate
 * made now with Debian's `openssl`, as the tests make them), the sink trusting that CA with `tls`:
 *  1. one record per request: this sink vs a hand-written undici Pool loop over the same TLS server;
 *  2. NDJSON batches of 500: this sink vs the hand-written undici batch loop over it.
 * Both sides reuse their connections, so the rows measure TLS record encryption, not handshakes.
 */
import { makeTestCerts } from '../test/helpers/tls-certs.js'
import { subject } from './lib/compare.js'
import { intFromEnv } from './lib/env.js'
import { guarded } from './lib/notes.js'
import { startReceiver, type Receiver } from './lib/receiver.js'
import type { BenchContext, BenchRow } from './lib/row.js'
import { BATCH, BATCH_CONCURRENCY, CONCURRENCY, RECORDS_PER_SECOND } from './lib/settings.js'
import { versusRow } from './lib/versus.js'

const TARGET = 0.9

async function perRequest (receiver: Receiver, ca: string, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.recordsUrl
  return [await versusRow(receiver, rounds, {
    scenario: `HTTPS keep-alive, 1 record/request, ${CONCURRENCY} in flight`,
    ours: subject('ours https', records, 'ours', url, { numWriters: CONCURRENCY, tls: { ca } }),
    baseline: subject('undici https', records, 'undiciLoop', url, CONCURRENCY, { connect: { ca } }),
    baselineName: 'undici Pool loop over TLS',
    target: TARGET
  })]
}

async function batches (receiver: Receiver, ca: string, records: number, rounds: number): Promise<BenchRow[]> {
  const url = receiver.ndjsonUrl
  return [await versusRow(receiver, rounds, {
    scenario: `HTTPS NDJSON batches of ${BATCH.maxRecords}, ${BATCH_CONCURRENCY} in flight`,
    ours: subject('ours https batches', records, 'ours', url, { numWriters: BATCH_CONCURRENCY, encoding: 'ndjson', batch: BATCH, tls: { ca } }),
    baseline: subject('loop https batches', records, 'ndjsonBatchLoop', url, BATCH_CONCURRENCY, BATCH.maxRecords, { pool: { connect: { ca } } }),
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
