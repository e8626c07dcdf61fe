/** One line of the bench table. Every scenario file returns these; `bench/run.ts` prints them. */
export interface BenchRow {
  scenario: string
  /** This package's value; NaN when it could not be measured (the note says why). */
  ours: number
  baseline?: number
  baselineName?: string
  /** ours/baseline as measured; when absent, `ours / baseline` (see pairedRatio for rows of compare()). */
  ratio?: number
  unit: string
  note?: string
}

/** What `bench/run.ts` hands every scenario file's `run(ctx)`. */
export interface BenchContext {
  /** N: records per measured run (BENCH_RECORDS). */
  records: number
}

/** The shape of a scenario file: `bench/<name>.bench.ts` exports `run`. */
export interface BenchModule {
  run (ctx: BenchContext): Promise<BenchRow[]>
}
