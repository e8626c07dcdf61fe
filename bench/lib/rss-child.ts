/**
 * Child process for the peak-RSS scenario (and for profiling with --cpu-prof): sends argv[2]
 * records to argv[3] through this package's writable (argv[4]: optional JSON of extra options,
 * else defaults), sampling RSS every 50 ms, reports { type: 'result', peakRss, startRss, seconds }
 * to the parent over IPC, then exits (so a --cpu-prof profile gets written).
 */
import { sendThroughOurSink } from './our-sink.js'
import { sampleRss } from './rss.js'

const records = Number(process.argv[2])
const url = process.argv[3]!
const options = process.argv[4] !== undefined ? JSON.parse(process.argv[4]) as Record<string, unknown> : {}

const startRss = process.memoryUsage.rss()
const sampler = sampleRss(50)
const start = process.hrtime.bigint()
await sendThroughOurSink(url, records, options)
const seconds = Number(process.hrtime.bigint() - start) / 1e9
process.send!({ type: 'result', peakRss: sampler.stop(), startRss, seconds }, () => process.exit(0))
