import { hostname } from 'node:os'

/** Who holds a file store's segment or replay lock: a process on a host. */
export interface Owner {
  pid: number
  host: string
}

/** This machine's name as it appears in file names and locks: letters, digits, `.`, `_` and `-` only. */
export function thisHost (): string {
  return hostname().replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) || 'localhost'
}

export function describeOwner (owner: Owner): string {
  return `${owner.pid}@${owner.host}`
}

/**
 * Whether the owner may still be running. Only a process on this host can be checked
 * (`process.kill(pid, 0)`: ESRCH means gone); one on another host, or this very process, counts as alive.
 * A reused pid also counts as alive: the segment or lock then waits, it is never taken early.
 */
export function mayBeAlive (owner: Owner): boolean {
  if (owner.host !== thisHost() || owner.pid === process.pid) return true
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}
