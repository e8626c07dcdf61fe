import { progress } from './log.js'
import type { Receiver } from './receiver.js'
import { median, recordsPerSecond } from './stats.js'

/** Something that sends `records` records to the receiver and resolves when all are answered. */
export interface Subject {
  name: string
  /** records per measured run */
  records: number
  run (records: number): Promise<void>
}

export interface Measured {
  /** median records/s over the rounds; NaN if the subject failed */
  rate: number
  /** median CPU time (user + system) of this process per record, in µs: steadier than rate on a busy machine */
  cpuPerRecord: number
  /** anything that makes the number suspect or missing (receiver count mismatch, failure) */
  notes: string[]
}

interface Tally { rates: number[], cpu: number[], notes: Set<string>, failed: boolean }

/** One run: its rate, or NaN with a note when it throws (the subject then sits out the rest). */
async function timedRun (receiver: Receiver, s: Subject, records: number, tally: Tally): Promise<number> {
  const before = (await receiver.counts()).records
  try {
    const cpuBefore = process.cpuUsage()
    const rate = await recordsPerSecond(records, () => s.run(records))
    const cpu = process.cpuUsage(cpuBefore)
    tally.cpu.push((cpu.user + cpu.system) / records)
    const counted = (await receiver.counts()).records - before
    if (counted !== records) tally.notes.add(`${s.name}: receiver counted ${counted} of ${records}`)
    return rate
  } catch (err) {
    tally.failed = true
    tally.notes.add(`${s.name} failed: ${(err as Error).message.split('\n')[0]}`)
    progress(`${s.name} failed: ${(err as Error).stack ?? String(err)}`)
    return NaN
  }
}

/**
 * Measures subjects under the same conditions: one warm-up run each (a tenth of the records),
 * then `rounds` rounds whose order rotates so no subject always runs first or last. After every
 * run the receiver's count must have grown by exactly the records sent, else a note says so.
 */
export async function compare (receiver: Receiver, subjects: readonly Subject[], rounds: number): Promise<Map<string, Measured>> {
  const tallies = new Map<string, Tally>(subjects.map(s => [s.name, { rates: [], cpu: [], notes: new Set(), failed: false }]))
  for (const s of subjects) {
    progress(`warm-up ${s.name}`)
    const tally = tallies.get(s.name)!
    await timedRun(receiver, s, Math.max(1000, Math.floor(s.records / 10)), tally)
    tally.cpu.length = 0
  }
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(k + round) % subjects.length]!
      const tally = tallies.get(s.name)!
      if (tally.failed) continue
      const rate = await timedRun(receiver, s, s.records, tally)
      if (Number.isNaN(rate)) continue
      tally.rates.push(rate)
      progress(`round ${round + 1}/${rounds} ${s.name}: ${Math.round(rate)} records/s, ${tally.cpu.at(-1)!.toFixed(1)} µs CPU/record`)
    }
  }
  return new Map([...tallies].map(([name, t]) => [name, { rate: t.failed ? NaN : median(t.rates), cpuPerRecord: t.failed ? NaN : median(t.cpu), notes: [...t.notes] }]))
}
