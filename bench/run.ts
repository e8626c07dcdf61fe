/**
 * `npm run bench`: runs every scenario file (bench/<name>.bench.ts exporting run(ctx)) in this one
 * process, then prints one table. BENCH_RECORDS sets N (default 100000), BENCH_ROUNDS the measured
 * rounds per sink subject (default 3), BENCH_ONLY=sink,stores,server picks files.
 * A missing or failing scenario file becomes a row saying why; the bench always exits 0.
 */
import { existsSync } from 'node:fs'
import { intFromEnv } from './lib/env.js'
import { progress } from './lib/log.js'
import type { BenchModule, BenchRow } from './lib/row.js'
import { formatTable, machineLine } from './lib/table.js'
import { pinningNote } from './lib/pin.js'
import { MEASURED_RUNS } from './lib/compare.js'

const SCENARIO_FILES = ['sink', 'stores', 'server', 'bridge', 'tls']
const DEFAULT_RECORDS = 100_000

function selected (): string[] {
  const only = process.env.BENCH_ONLY
  if (only === undefined || only.trim() === '') return SCENARIO_FILES
  const wanted = only.split(',').map(s => s.trim()).filter(s => s !== '')
  const unknown = wanted.filter(s => !SCENARIO_FILES.includes(s))
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown scenario file(s) ${unknown.join(', ')} (known: ${SCENARIO_FILES.join(', ')})`)
  return SCENARIO_FILES.filter(s => wanted.includes(s))
}

async function runFile (name: string, records: number): Promise<BenchRow[]> {
  const file = new URL(`./${name}.bench.ts`, import.meta.url)
  if (!existsSync(file)) return [{ scenario: name, ours: NaN, unit: '', note: `skipped: bench/${name}.bench.ts is missing` }]
  try {
    progress(`${name}: start`)
    const mod = await import(file.href) as Partial<BenchModule>
    if (typeof mod.run !== 'function') throw new Error(`bench/${name}.bench.ts exports no run(ctx)`)
    return await mod.run({ records })
  } catch (err) {
    progress(`${name} failed: ${(err as Error).stack ?? String(err)}`)
    return [{ scenario: name, ours: NaN, unit: '', note: `skipped: ${(err as Error).message.split('\n')[0]}` }]
  }
}

async function main (): Promise<void> {
  const started = Date.now()
  const records = intFromEnv('BENCH_RECORDS', DEFAULT_RECORDS, 1000)
  const rounds = intFromEnv('BENCH_ROUNDS', 3, 1)
  const rows: BenchRow[] = []
  for (const name of selected()) rows.push(...await runFile(name, records))
  console.log(machineLine(records))
  console.log(`${pinningNote()}; sink rows: medians of ${rounds} alternating rounds (BENCH_ROUNDS), each in a fresh child process: a warm-up run of the same size, then the faster of ${MEASURED_RUNS} measured runs; their ratio is the median of the rounds' ratios (each round runs the subjects back to back)`)
  console.log()
  console.log(formatTable(rows))
  console.log()
  console.log(`bench took ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

main().then(
  () => process.exit(0),
  err => {
    console.error(err instanceof Error ? err.message : err)
    process.exit(1)
  }
)
