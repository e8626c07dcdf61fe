/** Small measuring helpers: wall time, rates, medians. */

export function median (values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs `fn` and returns how many records per second it moved. */
export async function recordsPerSecond (records: number, fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  return records / seconds
}

export function bytesToMb (bytes: number): number {
  return bytes / (1024 * 1024)
}

/** "within 1.2x" style verdicts for the note column. */
export function verdict (ratio: number, atLeast: number): string {
  if (!Number.isFinite(ratio)) return 'n/a'
  return ratio >= atLeast ? 'PASS' : 'MISS'
}
