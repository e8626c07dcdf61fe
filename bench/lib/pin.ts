import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

/**
 * CPU pinning for the sink rows: with two cores or more and util-linux's `taskset`, the receiver
 * gets the last core and every measured client the first, so neither ever takes the other's core
 * (on these shared 2-core machines, unpinned runs of the same subject spread by ±20% and more).
 * Set BENCH_PIN=0 to leave scheduling to the kernel.
 */
export type Role = 'client' | 'receiver'

let usable: boolean | undefined

function canPin (): boolean {
  if (usable === undefined) {
    usable = process.env.BENCH_PIN !== '0' && process.platform === 'linux' && availableParallelism() >= 2 &&
      spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }).status === 0
  }
  return usable
}

/** Pins every thread of process `pid` to its role's core; false when pinning is off or unavailable. */
export function pin (pid: number | undefined, role: Role): boolean {
  if (pid === undefined || !canPin()) return false
  const cpu = role === 'client' ? 0 : availableParallelism() - 1
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0
}

/** How the table's header line describes scheduling. */
export function pinningNote (): string {
  return canPin()
    ? `the receiver runs on core ${availableParallelism() - 1} and each measured client on core 0 (taskset; BENCH_PIN=0 turns it off)`
    : 'client and receiver processes share these cores'
}
