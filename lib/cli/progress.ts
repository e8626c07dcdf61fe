import type { CliIo } from './io.js'

export interface Counts { written: number, delivered: number, retried: number, failedOver: number }

export interface ProgressOptions<C extends Counts = Counts> {
  /** ms between redraws (default 250). */
  everyMs?: number
  /** More figures appended to the line (the bridge's commits and lag). */
  tail?: (counts: C) => string
}

/**
 * A progress line (records/s, delivered, retried, failed over, and `tail`) rewritten in place on a
 * TTY every `everyMs`; silent when stderr is not a TTY, so pipes and logs only get the summary.
 */
export class ProgressLine<C extends Counts = Counts> {
  readonly #io: CliIo
  readonly #read: () => C
  readonly #tail: ((counts: C) => string) | undefined
  readonly #started = Date.now()
  readonly #timer: NodeJS.Timeout | undefined
  #last = { at: Date.now(), written: 0 }

  constructor (io: CliIo, read: () => C, options: ProgressOptions<C> = {}) {
    this.#io = io
    this.#read = read
    this.#tail = options.tail
    if (io.stderr.isTTY === true) {
      this.#timer = setInterval(() => this.#draw(), options.everyMs ?? 250)
      this.#timer.unref()
    }
  }

  #draw (): void {
    const c = this.#read()
    const now = Date.now()
    const rate = ((c.written - this.#last.written) * 1000) / Math.max(1, now - this.#last.at)
    this.#last = { at: now, written: c.written }
    this.#io.stderr.write(`\r\x1b[K${formatRate(rate)} rec/s  written ${c.written}  delivered ${c.delivered}  retried ${c.retried}  failed over ${c.failedOver}${this.#tail === undefined ? '' : `  ${this.#tail(c)}`}`)
  }

  /** Stops updating and clears the line. Returns elapsed ms. */
  stop (): number {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#io.stderr.write('\r\x1b[K')
    }
    return Date.now() - this.#started
  }
}

export function formatRate (perSecond: number): string {
  return perSecond >= 10000 ? `${Math.round(perSecond / 1000)}k` : String(Math.round(perSecond))
}

/** The closing summary, one `key: value` per line. */
export function summary (io: CliIo, title: string, fields: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(fields).map((k) => k.length))
  io.stdout.write(`${title}\n${Object.entries(fields).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n')}\n`)
}
