/**
 * Child process for one round of one subject (see compare.ts), so no subject inherits
 * another's heap: argv[2] is the JSON of a Subject. It runs a warm-up (a whole run of the same
 * size, see warmUpRecords), then MEASURED_RUNS measured runs, timing each and its own
 * process.cpuUsage(); it reports the fastest as { type: 'result', rate, cpuPerRecord } (or
 * { type: 'result', error }) over IPC, then exits.
 */
import { gotLoop } from '../baselines/got-loop.js'
import { ndjsonBatchLoop } from '../baselines/ndjson-batch-loop.js'
import { ndjsonBatchWritable } from '../baselines/ndjson-batch-writable.js'
import { undiciLoop } from '../baselines/undici-loop.js'
import { sourceOnly } from '../baselines/source-only.js'
import { MEASURED_RUNS, warmUpRecords, type Subject } from './compare.js'
import { sendThroughOurSink, type SinkOptions } from './our-sink.js'
import { recordsPerSecond } from './stats.js'

/** What a subject can run, by name: each takes (url, records, ...its own JSON-able arguments). */
const RUNNERS = {
  ours: (url: string, records: number, options: SinkOptions) => sendThroughOurSink(url, records, options).then(() => {}),
  undiciLoop,
  gotLoop,
  ndjsonBatchLoop,
  ndjsonBatchWritable,
  sourceOnly
}
export type Runners = typeof RUNNERS

const s = JSON.parse(process.argv[2]!) as Subject
const run = (records: number): Promise<void> => (RUNNERS[s.runner] as (url: string, records: number, ...args: unknown[]) => Promise<void>)(s.url, records, ...s.args)
let result: Record<string, unknown>
try {
  await run(warmUpRecords(s.records))
  let best = { rate: 0, cpuPerRecord: NaN }
  for (let i = 0; i < MEASURED_RUNS; i++) {
    const cpuBefore = process.cpuUsage()
    const rate = await recordsPerSecond(s.records, () => run(s.records))
    const cpu = process.cpuUsage(cpuBefore)
    if (rate > best.rate) best = { rate, cpuPerRecord: (cpu.user + cpu.system) / s.records }
  }
  result = { type: 'result', ...best }
} catch (err) {
  process.stderr.write(`[bench] ${s.name} failed: ${(err as Error).stack ?? String(err)}\n`)
  result = { type: 'result', error: (err as Error).message.split('\n')[0] }
}
process.send!(result, () => process.exit(0))
