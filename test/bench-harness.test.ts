/**
 * The bench harness must measure what it claims: the receiver process counts records exactly
 * (one per request, NDJSON lines), the loops keep exactly `concurrency` tasks in flight, wrk's
 * output is parsed, and the table renders ratios and missing values.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { runLoops } from '../bench/baselines/loops.js'
import { parseWrk } from '../bench/baselines/wrk.js'
import { startReceiver, type Receiver } from '../bench/lib/receiver.js'
import { formatTable } from '../bench/lib/table.js'

let receiver: Receiver

before(async () => { receiver = await startReceiver() })
after(async () => { await receiver.close() })

async function post (url: string, body: string): Promise<number> {
  const res = await fetch(url, { method: 'POST', body })
  await res.arrayBuffer()
  return res.status
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
})
