import { Transform, type TransformCallback } from 'node:stream'
import { FailoverStoreError, describeError } from '../errors.js'
import type { FailoverEnvelope, Store } from '../stores/store.js'

/** What the engine hands to failover: the envelopes of one request, and a token to know it back. */
export interface FailoverItem<T = unknown> {
  envelopes: FailoverEnvelope[]
  token: T
}

/**
 * Object-mode Transform in front of a Store: takes FailoverItems, stores their envelopes (all
 * items buffered meanwhile go in one `put`), and pushes each item out only once it is durable. If
 * the store fails, the stream errors with ERR_FAILOVER_STORE carrying the records of those items.
 */
export class FailoverTransform<T = unknown> extends Transform {
  readonly store: Store

  constructor (store: Store, highWaterMark = 1024) {
    super({ objectMode: true, highWaterMark })
    this.store = store
  }

  override _transform (item: FailoverItem<T>, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#store([item], callback)
  }

  override _writev (chunks: Array<{ chunk: FailoverItem<T> }>, callback: (error?: Error | null) => void): void {
    this.#store(chunks.map((c) => c.chunk), callback)
  }

  #store (items: Array<FailoverItem<T>>, callback: (error?: Error | null) => void): void {
    const envelopes = items.length === 1 ? items[0]!.envelopes : items.flatMap((i) => i.envelopes)
    this.store.put(envelopes).then(() => {
      for (const item of items) this.push(item)
      callback()
    }, (err: unknown) => {
      const records = envelopes.map((e) => e.record)
      callback(new FailoverStoreError(`failover store ${this.store.uri} could not store ${records.length} record(s): ${describeError(err)}`, records, { cause: err }))
    })
  }
}
