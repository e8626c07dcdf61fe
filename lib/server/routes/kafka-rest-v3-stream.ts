import { HttpProblem } from '../http-problem.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

function isSpace (c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
}

/**
 * Cuts a body of concatenated JSON texts (Kafka REST v3's streaming produce, `{…}{…}` with any
 * whitespace between, as Jackson's `readValues` reads it in Confluent's `JsonStreamMessageBodyReader`)
 * into its texts as the bytes arrive, so each record is answered without waiting for the end of
 * the body. It only finds where each text ends (strings, escapes and nesting); JSON.parse judges
 * the syntax afterwards. A text longer than `maxTextBytes` is refused with 413 / 41300.
 */
export class ConcatenatedJson {
  private readonly maxTextBytes: number
  /** Bytes of the text under way from earlier chunks. */
  private held: Buffer[] = []
  private heldBytes = 0
  private inText = false
  private inString = false
  private escaped = false
  private scalar = false
  private depth = 0

  constructor (maxTextBytes: number) {
    this.maxTextBytes = maxTextBytes
  }

  /** The texts this chunk completes, in order. */
  push (chunk: Buffer): string[] {
    const texts: string[] = []
    let start = this.inText ? 0 : -1
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number
      if (!this.inText) {
        if (isSpace(c)) continue
        this.inText = true
        start = i
        if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth = 1
        else if (c === QUOTE) this.inString = true
        else this.scalar = true
        continue
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) {
          this.inString = false
          if (this.depth === 0) texts.push(this.take(chunk, start, i + 1))
        }
      } else if (this.scalar) {
        if (isSpace(c) || c === OPEN_BRACE || c === OPEN_BRACKET || c === QUOTE) {
          texts.push(this.take(chunk, start, i))
          i-- // this byte starts the next text (or is whitespace)
        }
      } else if (c === QUOTE) {
        this.inString = true
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++
      } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --this.depth === 0) {
        texts.push(this.take(chunk, start, i + 1))
      }
    }
    if (this.inText) this.hold(chunk.subarray(start))
    return texts
  }

  /** At the end of the body: a last scalar text, or the cut-off text (which JSON.parse refuses); undefined when none is open. */
  end (): string | undefined {
    if (!this.inText) return undefined
    const text = Buffer.concat(this.held, this.heldBytes).toString('utf8')
    this.reset()
    return text
  }

  private take (chunk: Buffer, start: number, end: number): string {
    const part = chunk.subarray(start, end)
    this.check(this.heldBytes + part.length)
    const text = this.heldBytes === 0 ? part.toString('utf8') : Buffer.concat([...this.held, part], this.heldBytes + part.length).toString('utf8')
    this.reset()
    return text
  }

  private hold (part: Buffer): void {
    this.check(this.heldBytes + part.length)
    // A copy: the chunk's memory belongs to the socket.
    this.held.push(Buffer.from(part))
    this.heldBytes += part.length
  }

  private check (bytes: number): void {
    if (bytes > this.maxTextBytes) throw new HttpProblem(413, 41300, `a produce record larger than ${this.maxTextBytes} bytes (maxBodyBytes)`)
  }

  private reset (): void {
    this.held = []
    this.heldBytes = 0
    this.inText = false
    this.inString = false
    this.escaped = false
    this.scalar = false
    this.depth = 0
  }
}
