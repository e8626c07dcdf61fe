/**
 * The part of a response body a transport keeps: the first `limit` bytes; the rest is counted and
 * dropped as it arrives, so a huge answer costs no more memory than a small one.
 */
export class CappedBody {
  readonly #limit: number
  readonly #chunks: Buffer[] = []
  #kept = 0
  /** Bytes seen in all, kept or not. */
  received = 0

  constructor (limit: number) {
    this.#limit = limit
  }

  add (chunk: Buffer): void {
    this.received += chunk.length
    const room = this.#limit - this.#kept
    if (room <= 0) return
    const piece = chunk.length <= room ? chunk : chunk.subarray(0, room)
    this.#chunks.push(piece)
    this.#kept += piece.length
  }

  /** The kept bytes as UTF-8 text. */
  text (): string {
    const chunks = this.#chunks
    if (chunks.length === 0) return ''
    return (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.#kept)).toString('utf8')
  }
}
