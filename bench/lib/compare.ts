import { forkTs, nextMessage, stopChild, type ChildMessage } from './child.js'
import { pin } from './pin.js'
import { progress } from './log.js'
import type { Receiver } from './receiver.js'
import { median } from './stats.js'
import type { Runners } from './subject-child.js'

type RunnerArgs<K extends keyof Runners> = K extends unknown ? Runners[K] extends (url: string, records: number, ...args: infer A) => Promise<void> ? A : never : never

/**
 * Something that sends `records` records to `url` and resolves when all are answered: runner
 * `runner` of subject-child.ts with `args` after (url, records). Plain JSON, as it goes to a child.
 */
export interface Subject<K extends keyof Runners = keyof Runners> {
  name: string
  /** records per measured run */
  records: number
  runner: K
  url: string
  args: RunnerArgs<K>
}

/** A Subject, with `args` checked against its runner's parameters. */
export function subject<K extends keyof Runners> (name: string, records: number, runner: K, url: string, ...args: RunnerArgs<K>): Subject {
  return { name, records, runner, url, args } as Subject
}

/**
 * Records of the warm-up each child runs before its measured run: a whole run of the same size, so
 * the measured run finds the JIT and the heap in their steady state (after a warm-up of a tenth,
 * every subject's first measured run was still 20-30% slower than its next one here).
 */
export function warmUpRecords (records: number): number {
  return records
}

/**
 * Measured runs per child after its warm-up; the child reports the fastest (interference from
 * the rest of the machine only ever slows a run down, so the fastest is the least disturbed).
 */
export const MEASURED_RUNS = 2

export interface Measured {
  /** median records/s over the rounds; NaN if the subject failed */
  rate: number
  /** median CPU time (user + system) of the run's child process per record, in µs: steadier than rate on a busy machine */
  cpuPerRecord: number
  /** anything that makes the number suspect or missing (receiver count mismatch, failure) */
  notes: string[]
  /** records/s of each round, in round order */
  rounds: number[]
}

/**
 * `ours` against `other` paired by round: the median of the rounds' ratios. Rounds run the subjects
 * back to back, so a ratio within a round compares runs close in time; this machine's speed drifts
 * by ±20% over tens of seconds, which a ratio of medians across rounds takes in whole. NaN if
 * either side failed.
 */
export function pairedRatio (ours: Measured, other: Measured): number {
  if (Number.isNaN(ours.rate) || Number.isNaN(other.rate)) return NaN
  const n = Math.min(ours.rounds.length, other.rounds.length)
  return median(Array.from({ length: n }, (_, i) => ours.rounds[i]! / other.rounds[i]!))
}

interface Tally { rates: number[], cpu: number[], notes: Set<string>, failed: boolean }
interface RunResult extends ChildMessage { rate?: number, cpuPerRecord?: number, error?: string }

/**
 * One round of a subject in a fresh child process (a warm-up, then the measured runs: see subject-child.ts); the
 * receiver must have counted exactly the records the child sent. Returns false if the run failed
 * (the subject then sits out the rest).
 */
async function runInChild (receiver: Receiver, s: Subject, tally: Tally): Promise<boolean> {
  const before = (await receiver.counts()).records
  const child = forkTs(new URL('./subject-child.ts', import.meta.url), [JSON.stringify(s)])
  pin(child.pid, 'client')
  try {
    const result = await nextMessage<RunResult>(child, 'result')
    if (result.error !== undefined) throw new Error(result.error)
    const sent = warmUpRecords(s.records) + MEASURED_RUNS * s.records
    const counted = (await receiver.counts()).records - before
    // sourceOnly sends nothing (it measures the stream source alone).
    if (counted !== (s.runner === 'sourceOnly' ? 0 : sent)) tally.notes.add(`${s.name}: receiver counted ${counted} of ${sent}`)
    tally.rates.push(result.rate!)
    tally.cpu.push(result.cpuPerRecord!)
    return true
  } catch (err) {
    tally.failed = true
    tally.notes.add(`${s.name} failed: ${(err as Error).message.split('\n')[0]}`)
    return false
  } finally {
    await stopChild(child, 5000)
  }
}

/**
 * Measures subjects under the same conditions: every run in its own fresh process, warmed up
 * there, in `rounds` rounds whose order rotates so no subject always runs first or last. After
 * every run the receiver's count must have grown by exactly the records sent, else a note says so.
 */
export async function compare (receiver: Receiver, subjects: readonly Subject[], rounds: number): Promise<Map<string, Measured>> {
  const tallies = new Map<string, Tally>(subjects.map(s => [s.name, { rates: [], cpu: [], notes: new Set(), failed: false }]))
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(k + round) % subjects.length]!
      const tally = tallies.get(s.name)!
      if (tally.failed || !await runInChild(receiver, s, tally)) continue
      progress(`round ${round + 1}/${rounds} ${s.name}: ${Math.round(tally.rates.at(-1)!)} records/s, ${tally.cpu.at(-1)!.toFixed(1)} µs CPU/record (fresh process)`)
    }
  }
  return new Map([...tallies].map(([name, t]) => [name, { rate: t.failed ? NaN : median(t.rates), cpuPerRecord: t.failed ? NaN : median(t.cpu), notes: [...t.notes], rounds: t.rates }]))
}
