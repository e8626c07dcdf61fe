import type { Writable } from 'node:stream'

/** Exit codes after a signal: 128 + its number, as a shell reports a process killed by it. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const

type StopSignal = keyof typeof SIGNAL_EXIT

/**
 * How a command is asked to stop. The first SIGINT or SIGTERM aborts `requested` (stop taking
 * input) and starts the grace period; `now` aborts when the grace period is over or at a second
 * signal (store what is left, then exit). Later signals are ignored, so nothing kills the process
 * while it stores. `exitCode` is 130 or 143 once a signal came. A test's `signal` (an AbortSignal)
 * stops the same way with no exit code of its own.
 */
export class StopRequest {
  readonly #requested = new AbortController()
  readonly #now = new AbortController()
  readonly #stderr: Writable
  readonly #graceMs: number
  readonly #onSignal = (name: StopSignal): void => this.#signal(name)
  readonly #onAbort = (): void => this.#request()
  readonly #external: AbortSignal | undefined
  #timer: NodeJS.Timeout | undefined
  #exitCode: number | undefined

  constructor (io: { stderr: Writable, signal?: AbortSignal }, graceMs = Infinity) {
    this.#stderr = io.stderr
    this.#graceMs = graceMs
    this.#external = io.signal
    process.on('SIGINT', this.#onSignal)
    process.on('SIGTERM', this.#onSignal)
    this.#external?.addEventListener('abort', this.#onAbort, { once: true })
    if (this.#external?.aborted === true) this.#request()
  }

  /** Aborts at the first signal: stop reading input. */
  get requested (): AbortSignal {
    return this.#requested.signal
  }

  /** Aborts when the grace period is over, or at a second signal. */
  get now (): AbortSignal {
    return this.#now.signal
  }

  /** 130 after SIGINT, 143 after SIGTERM, undefined when no signal came. */
  get exitCode (): number | undefined {
    return this.#exitCode
  }

  /** Why the command stopped early, for the summary's title ('' when it did not). */
  get reason (): string {
    if (!this.#requested.signal.aborted) return ''
    const name = Object.entries(SIGNAL_EXIT).find(([, code]) => code === this.#exitCode)?.[0]
    return ` (stopped by ${name ?? 'request'})`
  }

  /** Stops listening for signals. */
  dispose (): void {
    clearTimeout(this.#timer)
    process.off('SIGINT', this.#onSignal)
    process.off('SIGTERM', this.#onSignal)
    this.#external?.removeEventListener('abort', this.#onAbort)
  }

  #signal (name: StopSignal): void {
    if (this.#requested.signal.aborted) {
      if (this.#now.signal.aborted) return
      this.#stderr.write(`${name} again: storing what is left now\n`)
      this.#now.abort()
      return
    }
    this.#exitCode = SIGNAL_EXIT[name]
    const grace = Number.isFinite(this.#graceMs) ? `up to ${this.#graceMs} ms` : 'as long as it takes'
    this.#stderr.write(`${name}: stopping; finishing what is under way for ${grace} (${name} again to stop now)\n`)
    this.#request()
  }

  #request (): void {
    if (this.#requested.signal.aborted) return
    this.#requested.abort()
    if (this.#graceMs === 0) this.#now.abort()
    else if (Number.isFinite(this.#graceMs)) {
      this.#timer = setTimeout(() => this.#now.abort(), this.#graceMs)
      this.#timer.unref()
    }
  }
}

/** Resolves at the first of `events` on `emitter`, or when `signal` aborts; removes its listeners. */
export async function eventOrAbort (emitter: NodeJS.EventEmitter, events: string[], signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      for (const event of events) emitter.off(event, done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    for (const event of events) emitter.on(event, done)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** Resolves when `signal` aborts (at once if it has). */
export async function aborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
