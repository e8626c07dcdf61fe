/**
 * The bench harness must measure what it claims: the receiver process counts records exactly
 * (one per request, NDJSON lines), the loops keep exactly `concurrency` tasks in flight, wrk's
 * output is parsed, and the table renders ratios and missing values. Its HTTPS mode (certificates
 * made now with openssl) and its gzip decoding count the same; the baselines the sink is compared
 * with (the gzip batch loop, the stream-floor Writable) deliver every record exactly once.
 */
import assert from 'node:assert/strict'
import { request } from 'node:https'
import { after, before, test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { makeTestCerts } from './helpers/tls-certs.js'
import { ndjsonBatchLoop } from '../bench/baselines/ndjson-batch-loop.js'
import { ndjsonBatchWritable } from '../bench/baselines/ndjson-batch-writable.js'
import { undiciLoop } from '../bench/baselines/undici-loop.js'
import { runLoops } from '../bench/baselines/loops.js'
import { MEASURED_RUNS, compare, pairedRatio, subject, warmUpRecords } from '../bench/lib/compare.js'
import { parseWrk } from '../bench/baselines/wrk.js'
import { startReceiver, type Receiver } from '../bench/lib/receiver.js'
import { formatTable } from '../bench/lib/table.js'

let receiver: Receiver

before(async () => { receiver = await startReceiver() })
after(async () => { await receiver.close() })

async function post (url: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(url, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers })
  await res.arrayBuffer()
  return res.status
}

/** The receiver's counts grown since `before`. */
async function grown (r: Receiver, before: { requests: number, records: number, errors: number }): Promise<{ requests: number, records: number, errors: number }> {
  const now = await r.counts()
  return { requests: now.requests - before.requests, records: now.records - before.records, errors: now.errors - before.errors }
}

/** POST over HTTPS trusting `ca` (fetch takes no CA without a dispatcher). */
function postTls (url: string, body: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('receiver counts one record per request on /records and NDJSON lines on /ndjson', async () => {
  assert.equal(await post(receiver.recordsUrl, '{"a":1}'), 200)
  assert.equal(await post(receiver.recordsUrl, '{"a":2}'), 200)
  assert.equal(await post(receiver.ndjsonUrl, '{"a":1}\n{"a":2}\n{"a":3}\n'), 200)
  assert.equal(await post(receiver.ndjsonUrl, '{"a":1}\n{"a":2}'), 200, 'a last line without newline')
  assert.equal(await post(`${receiver.origin}/elsewhere`, 'x'), 404)
  const counts = await receiver.counts()
  assert.deepEqual({ requests: counts.requests, records: counts.records, errors: counts.errors }, { requests: 4, records: 7, errors: 1 })
})

test('runLoops runs every index once with exactly `concurrency` in flight', async () => {
  let inFlight = 0
  let peak = 0
  const seen: number[] = []
  await runLoops(3, 10, async i => {
    inFlight++
    peak = Math.max(peak, inFlight)
    await new Promise(resolve => setImmediate(resolve))
    seen.push(i)
    inFlight--
  })
  assert.equal(peak, 3)
  assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
})

test('parseWrk reads Requests/sec and reports non-2xx answers', () => {
  const out = 'Running 5s test\n  2 threads and 64 connections\n  Non-2xx or 3xx responses: 12\nRequests/sec:  58592.15\nTransfer/sec: 5MB\n'
  assert.deepEqual(parseWrk(out), { requestsPerSecond: 58592.15, note: 'Non-2xx or 3xx responses: 12' })
  assert.ok(Number.isNaN(parseWrk('garbage').requestsPerSecond))
})

test('formatTable shows ratio ours/baseline and a dash for what was not measured', () => {
  const table = formatTable([
    { scenario: 's1', ours: 2000, baseline: 1000, baselineName: 'loop', unit: 'records/s', note: 'n' },
    { scenario: 's2', ours: NaN, unit: 'MB', note: 'skipped: missing' }
  ])
  const [header, rule, first, second] = table.split('\n')
  assert.match(header!, /^\| scenario +\| this package +\| baseline \(name\) +\| baseline value +\| ratio \(ours\/baseline\) +\| unit +\| target\/note +\|$/)
  assert.match(rule!, /^\|-+\|/)
  assert.match(first!, /\| 2,000 +\| loop +\| 1,000 +\| 2\.00x +\| records\/s/)
  assert.match(second!, /\| — +\| — +\| — +\| — +\| MB +\| skipped: missing/)
  assert.match(formatTable([{ scenario: 's', ours: 2000, baseline: 1000, ratio: 1.5, unit: 'records/s' }]), /\| 1\.50x +\|/, 'a measured ratio wins over ours/baseline')
})

test('pairedRatio: the median of the rounds\' ratios, NaN when a side failed', () => {
  const measured = (rounds: number[]): { rate: number, cpuPerRecord: number, notes: string[], rounds: number[] } => ({ rate: rounds[1]!, cpuPerRecord: 1, notes: [], rounds })
  // A drift that slows both sides in round 2: the ratio of medians (100/150) would say 0.67x.
  assert.equal(pairedRatio(measured([90, 100, 200]), measured([100, 150, 200])), 0.9)
  assert.ok(Number.isNaN(pairedRatio({ ...measured([1, 2, 3]), rate: NaN }, measured([1, 2, 3]))))
})

test('receiver decompresses gzip and deflate bodies before counting NDJSON lines', async () => {
  const start = await receiver.counts()
  const lines = Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n'
  assert.equal(await post(receiver.ndjsonUrl, gzipSync(lines), { 'content-encoding': 'gzip' }), 200)
  const { deflateSync } = await import('node:zlib')
  assert.equal(await post(receiver.ndjsonUrl, deflateSync('{"a":1}\n{"a":2}'), { 'content-encoding': 'deflate' }), 200)
  assert.equal(await post(receiver.ndjsonUrl, 'not gzip at all', { 'content-encoding': 'gzip' }), 400, 'a body that does not decompress')
  assert.deepEqual(await grown(receiver, start), { requests: 2, records: 52, errors: 1 })
})

test('the gzip batch loop and the stream-floor Writable deliver every record once', async () => {
  const start = await receiver.counts()
  await ndjsonBatchLoop(receiver.ndjsonUrl, 2345, 4, 500, { gzip: true })
  const gz = await grown(receiver, start)
  assert.deepEqual(gz, { requests: 5, records: 2345, errors: 0 })
  await ndjsonBatchWritable(receiver.ndjsonUrl, 3210, 4, 500)
  assert.deepEqual(await grown(receiver, start), { requests: 5 + 7, records: 2345 + 3210, errors: 0 })
})

test('compare runs each subject in a fresh child (warm-up and measured runs there) and checks the receiver count', async () => {
  const start = await receiver.counts()
  const m = await compare(receiver, [
    subject('loop', 2000, 'ndjsonBatchLoop', receiver.ndjsonUrl, 2, 500),
    subject('bad', 1000, 'undiciLoop', `${receiver.origin}/nowhere`, 2),
    subject('source', 2000, 'sourceOnly', receiver.ndjsonUrl)
  ], 2)
  assert.ok(m.get('source')!.rate > 0, 'the source alone is measured')
  assert.deepEqual(m.get('source')!.notes, [], 'sending nothing is what sourceOnly should do')
  const loop = m.get('loop')!
  assert.ok(loop.rate > 0 && loop.cpuPerRecord > 0, 'rate and CPU/record measured in the child')
  assert.deepEqual(loop.notes, [])
  assert.ok(Number.isNaN(m.get('bad')!.rate))
  assert.match(m.get('bad')!.notes.join(), /bad failed: undici loop: receiver answered 404/)
  assert.equal((await grown(receiver, start)).records, 2 * (warmUpRecords(2000) + MEASURED_RUNS * 2000))
})

test('receiver serves HTTPS with the certificate it is given; loops reach it trusting the CA', async (t) => {
  const certs = makeTestCerts()
  const tls = await startReceiver({ keyFile: certs.server.keyFile, certFile: certs.server.certFile })
  t.after(async () => {
    await tls.close()
    certs.remove()
  })
  assert.match(tls.origin, /^https:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(await postTls(tls.ndjsonUrl, '{"a":1}\n{"a":2}\n', certs.ca), 200)
  await undiciLoop(tls.recordsUrl, 40, 8, { connect: { ca: certs.ca } })
  await ndjsonBatchLoop(tls.ndjsonUrl, 1200, 2, 500, { pool: { connect: { ca: certs.ca } } })
  await assert.rejects(postTls(tls.recordsUrl, '{}', certs.selfSigned.cert), /self.signed|unable to verify|certificate/i, 'a client that does not trust the CA is refused')
  const counts = await tls.counts()
  assert.deepEqual({ requests: counts.requests, records: counts.records, errors: counts.errors }, { requests: 1 + 40 + 3, records: 2 + 40 + 1200, errors: 0 })
})
