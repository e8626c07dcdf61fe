import type { Readable, Writable } from 'node:stream'

/** The streams a CLI command talks to; tests pass their own. */
export interface CliIo {
  stdin: Readable
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
}

export type Command = (argv: string[], io: CliIo) => Promise<number>

/**
 * Exit codes: 0 all delivered (or, but for `send`, stored); 1 some record neither delivered nor
 * stored, or a runtime error; 2 bad usage, a bad option, a missing or locked store; 3 (`send`) every
 * record delivered or stored, and some stored in failover for replay. After SIGINT/SIGTERM: 130/143
 * (see stop-request), which win over 3 but not over 1.
 */
export const EXIT = { ok: 0, lost: 1, usage: 2, failedOver: 3 } as const

export class UsageError extends Error {}

/** An error that ends the command with a given exit code; main prints `cause`. */
export class CommandError extends Error {
  readonly exitCode: number
  constructor (exitCode: number, cause: unknown) {
    super((cause as Error).message, { cause })
    this.exitCode = exitCode
  }
}

/** A TCP port flag value (0 picks a free port); anything else is a usage error naming the flag. */
export function port (text: string, flag: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN
  if (!(n <= 65535)) throw new UsageError(`${flag} takes a port number from 0 to 65535 (got ${JSON.stringify(text)})`)
  return n
}

/** A whole-number flag value; anything else is a usage error naming the flag. */
export function int (text: string, flag: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`${flag} takes a whole number (got ${JSON.stringify(text)})`)
  return Number(text)
}
