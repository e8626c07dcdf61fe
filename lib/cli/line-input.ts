import type { Readable } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'
import { eventOrAbort } from './stop-request.js'

/**
 * Lines of a byte stream (stdin), read only when asked for: nothing is read ahead but what the
 * stream itself buffers, and `stop()` takes that too. So at a signal every byte the process has
 * read from the pipe becomes a line we deliver or store, and every byte still in the pipe stays
 * there, the producer's.
 */
export class LineInput {
  readonly #input: Readable
  readonly #decoder = new StringDecoder('utf8')
  #tail = ''
  #ended = false
  #error: Error | undefined
  /** Lines handed out so far (the last line number read). */
  count = 0

  constructor (input: Readable) {
    this.#input = input
    input.once('end', () => { this.#ended = true })
    input.once('error', (err: Error) => { this.#error = err })
  }

  /** The next complete lines read; null at the end of the input or once `stop` aborts. */
  async next (stop: AbortSignal): Promise<string[] | null> {
    while (!stop.aborted) {
      if (this.#error !== undefined) throw this.#error
      const chunk: unknown = this.#input.read()
      if (chunk !== null) {
        const lines = this.#split(chunk)
        if (lines.length > 0) return lines
        continue
      }
      if (this.#ended || this.#input.readableEnded) {
        const last = this.#finish()
        return last.length > 0 ? last : null
      }
      await eventOrAbort(this.#input, ['readable', 'end', 'error'], stop)
    }
    return null
  }

  /**
   * Stops reading: returns every line already read from the input (what the stream buffered
   * included) and the start of a line whose end was not read yet, then destroys the input in the
   * same tick, so nothing more leaves the pipe.
   */
  stop (): { lines: string[], partial: string | undefined } {
    const lines: string[] = []
    if (!this.#input.destroyed) {
      for (let chunk: unknown = this.#input.read(); chunk !== null; chunk = this.#input.read()) lines.push(...this.#split(chunk))
      this.#input.destroy()
    }
    if (this.#ended) return { lines: [...lines, ...this.#finish()], partial: undefined }
    const partial = this.#tail + this.#decoder.end()
    this.#tail = ''
    return { lines, partial: partial === '' ? undefined : partial }
  }

  #split (chunk: unknown): string[] {
    const text = this.#tail + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk as Buffer))
    const lines = text.split('\n')
    this.#tail = lines.pop() ?? ''
    this.count += lines.length
    return lines.map(withoutCr)
  }

  /** At the end of the input, a last line with no newline is a whole line. */
  #finish (): string[] {
    const last = this.#tail + this.#decoder.end()
    this.#tail = ''
    if (last === '') return []
    this.count++
    return [withoutCr(last)]
  }
}

function withoutCr (line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}
