import type { BatchEncoding } from './encoders/index.js'
import type { BatchOptions } from './options.js'

/** Called with a full batch; `pieces` undefined means a single record too large for any batch. */
export type EmitBatch = (records: unknown[], pieces: string[] | undefined, tags: unknown[] | undefined) => void

/**
 * Groups records into batches of at most `maxRecords` records and `maxBytes` body bytes; a partial
 * batch goes out after `lingerMs`. Each record is encoded to its piece on arrival, so sizes are
 * exact and the request body is a join. `add` throws what the encoding throws for a bad record.
 */
export class Batcher {
  readonly #encoding: BatchEncoding
  readonly #limits: Required<BatchOptions>
  readonly #emit: EmitBatch
  #records: unknown[] = []
  #pieces: string[] = []
  #tags: unknown[] | undefined
  #bytes = 0
  #timer: NodeJS.Timeout | undefined

  constructor (encoding: BatchEncoding, limits: Required<BatchOptions>, emit: EmitBatch) {
    this.#encoding = encoding
    this.#limits = limits
    this.#emit = emit
  }

  add (record: unknown, tag: unknown): void {
    const piece = this.#encoding.piece(record)
    const bytes = this.#encoding.pieceBytes?.(piece) ?? Buffer.byteLength(piece)
    const { maxBytes, maxRecords } = this.#limits
    if (this.#encoding.bodyBytes(1, bytes) > maxBytes) {
      this.#emit([record], undefined, tag === undefined ? undefined : [tag])
      return
    }
    if (this.#records.length > 0 && this.#encoding.bodyBytes(this.#records.length + 1, this.#bytes + bytes) > maxBytes) this.flush()
    this.#records.push(record)
    this.#pieces.push(piece)
    if (tag !== undefined) (this.#tags ??= []).push(tag)
    this.#bytes += bytes
    if (this.#records.length >= maxRecords) this.flush()
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), this.#limits.lingerMs)
  }

  /** Sends the partial batch now. */
  flush (): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#records.length === 0) return
    const records = this.#records
    const pieces = this.#pieces
    const tags = this.#tags
    this.#records = []
    this.#pieces = []
    this.#tags = undefined
    this.#bytes = 0
    this.#emit(records, pieces, tags)
  }
}
