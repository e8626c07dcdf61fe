import type { BatchEncoding } from '../encoders/index.js'
import type { BatchOptions } from './options.js'

/** What one batcher obeys (`maxGroups` is for TargetGroups). */
export type BatchLimits = Required<Omit<BatchOptions, 'maxGroups'>>

/**
 * Called with a full batch; `pieces` undefined means a single record too large for any batch.
 * `records` is undefined when the encoding can decode its requests (only pieces are kept).
 */
export type EmitBatch = (records: unknown[] | undefined, pieces: string[] | undefined, count: number, tags: unknown[] | undefined) => void

/** Called with a record the encoding cannot encode (what `piece` threw), and its tag. */
export type RejectRecord = (record: unknown, tag: unknown, err: unknown) => void

/**
 * Records taken before they are encoded: encoding them in runs of this many (or fewer, up to the
 * batch size) keeps JSON encoding in one tight loop, which costs about a fifth less per record
 * than encoding each as it arrives between stream calls, and lets an encoding with `pieces` encode
 * the run in one call (one JSON.stringify of the run: see the README's Benchmarks section).
 */
const ENCODE_RUN = 128

/**
 * Groups records into batches of at most `maxRecords` records and `maxBytes` body bytes; a partial
 * batch goes out after `lingerMs`. Records are encoded to their pieces in runs (ENCODE_RUN, or when
 * the batch is full, or it is sent), so sizes are exact and the request body is a join. A record
 * the encoding cannot encode goes to `reject`, the others go on.
 */
export class Batcher {
  readonly #encoding: BatchEncoding
  readonly #limits: BatchLimits
  readonly #emit: EmitBatch
  readonly #reject: RejectRecord
  readonly #keepRecords: boolean
  readonly #pieceBytes: ((piece: string) => number) | undefined
  /** Pieces' bytes up to which a full batch (`maxRecords` pieces) fits `maxBytes` for sure. */
  readonly #safeBytes: number
  /** Records taken and not yet encoded (and their tags, when any record had one). */
  #raw: unknown[] = []
  #rawTags: unknown[] | undefined
  /** The array #raw was before the last run was encoded, emptied: reused, so pushes do not regrow a new one each run. */
  #spare: unknown[] = []
  #records: unknown[] = []
  #pieces: string[] = []
  #tags: unknown[] | undefined
  /** Body bytes of the pieces so far: an upper bound, or exact once `#exact`. */
  #bytes = 0
  #exact = false
  #timer: NodeJS.Timeout | undefined
  /** `maxRecords`, lowered for a while after a 413 (see `shrink`). */
  #maxRecords: number
  /** Date.now() after which `#maxRecords` is back to `maxRecords`; 0 when not lowered. */
  #shrunkUntil = 0

  constructor (encoding: BatchEncoding, limits: BatchLimits, emit: EmitBatch, reject: RejectRecord) {
    this.#encoding = encoding
    this.#limits = limits
    this.#emit = emit
    this.#reject = reject
    this.#keepRecords = encoding.decode === undefined
    this.#pieceBytes = encoding.pieceBytes
    this.#safeBytes = safePiecesBytes(encoding, limits)
    this.#maxRecords = limits.maxRecords
  }

  /**
   * After a 413 for a batch of `rejected` records: the next batches hold at most half as many, for
   * `forMs` ms (each further 413 halves again and restarts the wait).
   */
  shrink (rejected: number, forMs: number): void {
    this.#maxRecords = Math.max(1, Math.min(this.#maxRecords, Math.floor(rejected / 2)))
    this.#shrunkUntil = Date.now() + forMs
  }

  add (record: unknown, tag: unknown): void {
    const raw = this.#raw.push(record)
    if (tag !== undefined || this.#rawTags !== undefined) ((this.#rawTags ??= new Array(raw - 1).fill(undefined)).push(tag))
    if (raw >= ENCODE_RUN || raw + this.#pieces.length >= this.#maxRecords) this.#encodeRaw()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#onLinger, this.#limits.lingerMs)
  }

  /**
   * Encodes the records taken so far, in order, into the batch (sending each batch that fills).
   * Never re-entered: what it sends settles asynchronously, so nothing it calls adds records.
   */
  #encodeRaw (): void {
    const raw = this.#raw
    const tags = this.#rawTags
    this.#raw = this.#spare
    this.#rawTags = undefined
    const pieces = this.#encoding.pieces?.(raw)
    for (let i = 0; i < raw.length; i++) {
      const record = raw[i]
      const tag = tags === undefined ? undefined : tags[i]
      let piece: string
      if (pieces !== undefined) {
        piece = pieces[i]!
      } else {
        try {
          piece = this.#encoding.piece(record)
        } catch (err) {
          this.#reject(record, tag, err)
          continue
        }
      }
      this.#addPiece(record, piece, tag)
    }
    raw.length = 0
    this.#spare = raw
  }

  #addPiece (record: unknown, piece: string, tag: unknown): void {
    let bytes = this.#exact ? this.#exactBytes(piece) : this.#boundBytes(piece)
    // One comparison per record while the bounds are below #safeBytes, one size check above it
    // (body sizes only grow with records and bytes, so a batch whose bound fits also fits the
    // record alone); #fit decides exactly otherwise.
    if (this.#bytes + bytes > this.#safeBytes && this.#encoding.bodyBytes(this.#pieces.length + 1, this.#bytes + bytes) > this.#limits.maxBytes) {
      bytes = this.#fit(record, piece, bytes, tag)
      if (bytes < 0) return
    }
    if (this.#keepRecords) this.#records.push(record)
    this.#pieces.push(piece)
    if (tag !== undefined) (this.#tags ??= []).push(tag)
    this.#bytes += bytes
    if (this.#pieces.length >= this.#maxRecords) this.#send()
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#onLinger, this.#limits.lingerMs)
  }

  readonly #onLinger = (): void => { this.flush() }

  /**
   * The record may not fit the batch: a record too large for any batch goes out alone (returns -1);
   * else the batch is counted exactly and sent first if the record does not fit. Returns the
   * record's bytes to add.
   */
  #fit (record: unknown, piece: string, bound: number, tag: unknown): number {
    const maxBytes = this.#limits.maxBytes
    const bodyBytes = this.#encoding.bodyBytes
    let bytes = bound
    if (bodyBytes(1, bytes) > maxBytes && bodyBytes(1, bytes = this.#exactBytes(piece)) > maxBytes) {
      this.#emit([record], undefined, 1, tag === undefined ? undefined : [tag])
      return -1
    }
    const count = this.#pieces.length
    if (count > 0 && bodyBytes(count + 1, this.#bytes + bytes) > maxBytes) {
      // The bound says it may not fit: count exactly, then decide.
      if (!this.#exact) this.#makeExact()
      bytes = this.#exactBytes(piece)
      if (bodyBytes(count + 1, this.#bytes + bytes) > maxBytes) this.#send()
    }
    return bytes
  }

  #exactBytes (piece: string): number {
    return this.#pieceBytes?.(piece) ?? Buffer.byteLength(piece)
  }

  /**
   * An upper bound that costs no scan: UTF-8 takes at most 3 bytes per UTF-16 unit. While the
   * bounds of a batch fit in maxBytes, nobody counts bytes exactly (the common case).
   */
  #boundBytes (piece: string): number {
    return this.#pieceBytes?.(piece) ?? piece.length * 3
  }

  #makeExact (): void {
    let total = 0
    for (const p of this.#pieces) total += this.#exactBytes(p)
    this.#bytes = total
    this.#exact = true
  }

  /** Sends the partial batch now. */
  flush (): void {
    if (this.#raw.length > 0) this.#encodeRaw()
    this.#send()
  }

  /** Sends the batch of the pieces so far. */
  #send (): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#shrunkUntil !== 0 && Date.now() >= this.#shrunkUntil) {
      this.#maxRecords = this.#limits.maxRecords
      this.#shrunkUntil = 0
    }
    if (this.#pieces.length === 0) return
    const records = this.#keepRecords ? this.#records : undefined
    const pieces = this.#pieces
    const tags = this.#tags
    this.#records = []
    this.#pieces = []
    this.#tags = undefined
    this.#bytes = 0
    this.#exact = false
    this.#emit(records, pieces, pieces.length, tags)
  }
}

/**
 * The largest pieces' byte total whose body of `maxRecords` pieces is within `maxBytes` (body
 * sizes only grow with bytes and records, so any smaller batch fits too); -1 if none does.
 */
function safePiecesBytes (encoding: BatchEncoding, limits: BatchLimits): number {
  let fits = -1
  let tooBig = limits.maxBytes + 1
  while (tooBig - fits > 1) {
    const mid = Math.floor((fits + tooBig) / 2)
    if (encoding.bodyBytes(limits.maxRecords, mid) <= limits.maxBytes) fits = mid
    else tooBig = mid
  }
  return fits
}
