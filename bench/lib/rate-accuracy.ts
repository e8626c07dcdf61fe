import { sendThroughOurSink } from './our-sink.js'
import { progress } from './log.js'
import type { Receiver } from './receiver.js'
import type { BenchRow } from './row.js'

/** Requests per second the limiter is set to, and how many periods the measured run lasts. */
const LIMIT = 500
const PERIODS = 4

/**
 * `rateLimit: { requests: LIMIT }` with a producer that always has more: the first LIMIT requests
 * are the burst, so the achieved rate is (requests - LIMIT) over the run's time. Target: within 5%.
 */
export async function rateLimitAccuracy (receiver: Receiver): Promise<BenchRow[]> {
  const records = LIMIT * (PERIODS + 1)
  progress(`rate limit: ${records} records at ${LIMIT} requests/s`)
  // Warm: module loading and the first connections are not the limiter's time.
  await sendThroughOurSink(receiver.recordsUrl, 100, { numWriters: 16 })
  const before = (await receiver.counts()).requests
  const start = process.hrtime.bigint()
  await sendThroughOurSink(receiver.recordsUrl, records, { numWriters: 16, rateLimit: { requests: LIMIT, perMs: 1000 } })
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const counted = (await receiver.counts()).requests - before
  if (counted !== records) throw new Error(`receiver counted ${counted} of ${records} requests`)
  const achieved = (records - LIMIT) / seconds
  const off = Math.abs(achieved / LIMIT - 1)
  return [{
    scenario: `rateLimit { requests: ${LIMIT} } (1 record/request)`,
    ours: achieved,
    baseline: LIMIT,
    baselineName: 'the limit',
    unit: 'requests/s',
    note: `target within 5% of the limit: ${off <= 0.05 ? 'PASS' : 'MISS'} (${(off * 100).toFixed(1)}% off; burst of ${LIMIT} excluded; ${seconds.toFixed(2)} s)`
  }]
}
