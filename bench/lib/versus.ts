import { compare, pairedRatio, type Subject } from './compare.js'
import { cpuNote, FRESH, noteOf } from './notes.js'
import type { Receiver } from './receiver.js'
import type { BenchRow } from './row.js'
import { RECORDS_PER_SECOND } from './settings.js'
import { verdict } from './stats.js'

export interface Versus {
  scenario: string
  /** The sink's run (named 'ours' in progress lines unless it says otherwise). */
  ours: Subject
  /** The hand-written baseline it is compared with. */
  baseline: Subject
  baselineName: string
  /** ours/baseline at least this, for the PASS/MISS verdict. */
  target: number
  /** What the note says besides the verdict and the CPU figures. */
  about?: string
}

/** One row: this sink against one baseline, measured in alternating rounds (see compare). */
export async function versusRow (receiver: Receiver, rounds: number, v: Versus): Promise<BenchRow> {
  const m = await compare(receiver, [v.ours, v.baseline], rounds)
  const ours = m.get(v.ours.name)!
  const other = m.get(v.baseline.name)!
  const ratio = pairedRatio(ours, other)
  return {
    scenario: v.scenario,
    ours: ours.rate,
    baseline: other.rate,
    baselineName: v.baselineName,
    ratio,
    unit: RECORDS_PER_SECOND,
    note: noteOf(`target >= ${v.target}x: ${verdict(ratio, v.target)}`, v.about, FRESH, cpuNote(ours, other), ours.notes, other.notes)
  }
}
