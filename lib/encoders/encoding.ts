import type { OutgoingRequest, TransportResponse } from '../transports/transport.js'

/** Where records go unless the encoding or the record says otherwise. */
export interface Target {
  /** Parsed `url` option, or undefined in StreamPark mode (each record is a URL). */
  url: URL | undefined
  method: string
  /** Static headers, lower-cased names. */
  headers: Record<string, string>
}

/** What a judge says of a response; undefined leaves it to `successCode` / `retryOn`. */
export type Verdict = 'success' | 'retry' | 'fail'

interface EncodingHooks {
  /** Decides from the whole response (body included) instead of the status policy. */
  judge?: (response: TransportResponse) => Verdict | undefined
  /** Picks the target of attempt number `attempt` (1 for the first), e.g. another node after a failure. */
  route?: (request: OutgoingRequest, attempt: number) => OutgoingRequest
  /** Awaited once before the first attempt, e.g. to load a node list (a rejection is ignored). */
  ready?: () => Promise<void>
  /** Told how each attempt went, e.g. to skip failing nodes for a while. */
  report?: (origin: string, ok: boolean) => void
  /**
   * Rebuilds the records from a request this encoding made (JSON-equal copies). When present, the
   * engine keeps only request bodies while records wait, and decodes them for failover envelopes.
   */
  decode?: (request: OutgoingRequest) => unknown[]
}

/** One record per request. `encode` throws InvalidRecordError for a record it cannot send. */
export interface RecordEncoding extends EncodingHooks {
  readonly batch: false
  encode: (record: unknown, target: Target) => OutgoingRequest
}

/**
 * Many records per request. Each record becomes a `piece` (a string) as soon as it is written, so
 * the batcher knows its size; `assemble` joins pieces into one request. `bytes(pieces, total)` is
 * the body size of `pieces` whose own byte lengths add up to `total`, so no request exceeds
 * `batch.maxBytes`.
 */
export interface BatchEncoding extends EncodingHooks {
  readonly batch: true
  piece: (record: unknown) => string
  /**
   * The pieces of many records at once, cheaper than `piece` for each; undefined when it cannot
   * (then each record goes through `piece`, which names what is wrong with a bad one).
   */
  pieces?: (records: readonly unknown[]) => string[] | undefined
  pieceBytes?: (piece: string) => number
  bodyBytes: (count: number, piecesBytes: number) => number
  assemble: (pieces: string[], records: unknown[], target: Target) => OutgoingRequest
}

export type Encoding = RecordEncoding | BatchEncoding

/** A user's `(records) => request` function. */
export type EncodeFunction = (records: unknown[]) => {
  url?: string
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer | Uint8Array
}
