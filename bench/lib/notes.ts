import type { Measured } from './compare.js'
import { progress } from './log.js'
import type { BenchRow } from './row.js'

/** Said by every row measured with compare(): no subject inherits another's heap. */
export const FRESH = 'each run in a fresh process'

/** Client CPU per record of both sides: says where a gap comes from even when the machine is busy. */
export function cpuNote (ours: Measured, other: Measured): string {
  return `client CPU/record ${micros(ours.cpuPerRecord)} vs ${micros(other.cpuPerRecord)} µs`
}

/** µs with one decimal, or two below 10 µs (the batch rows spend about 1 µs a record). */
export function micros (us: number): string {
  return us.toFixed(us < 10 ? 2 : 1)
}

/** The note column: the parts that are there, joined with '; '. */
export function noteOf (target: string, ...parts: Array<string | undefined | string[]>): string {
  return [target, ...parts.flat()].filter(p => p !== undefined && p !== '').join('; ')
}

/** Runs a scenario; a scenario that throws becomes a row saying why instead of sinking the others. */
export async function guarded (scenario: string, unit: string, fn: () => Promise<BenchRow[]>): Promise<BenchRow[]> {
  try {
    return await fn()
  } catch (err) {
    progress(`${scenario} failed: ${(err as Error).stack ?? String(err)}`)
    return [{ scenario, ours: NaN, unit, note: `failed: ${(err as Error).message.split('\n')[0]}` }]
  }
}
