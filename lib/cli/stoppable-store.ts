import type { ReadOptions, Store, StoredRecord } from '../stores/store.js'
import { aborted } from './stop-request.js'

/**
 * The same store, whose `read()` yields no further batch once `stop` aborts (and stops waiting for
 * one): replay then finishes the round under way (its acks) and ends, and what it did not read
 * stays in the store.
 */
export function stopReadingOn (store: Store, stop: AbortSignal): Store {
  return {
    kind: store.kind,
    uri: store.uri,
    put: async (envelopes) => await store.put(envelopes),
    read: (options?: ReadOptions) => untilStopped(store.read(options), stop),
    ack: async (ids) => await store.ack(ids),
    retain: async (records) => await store.retain(records),
    close: async () => await store.close()
  }
}

async function * untilStopped (batches: AsyncIterable<StoredRecord[]>, stop: AbortSignal): AsyncGenerator<StoredRecord[]> {
  const it = batches[Symbol.asyncIterator]()
  let pending = false
  const stopping = aborted(stop).then(() => null)
  try {
    while (!stop.aborted) {
      pending = true
      const next = await Promise.race([it.next(), stopping])
      pending = next === null
      if (next === null || next.done === true) return
      yield next.value
    }
  } finally {
    // A read still under way is not waited for: whatever it would have yielded stays unacked.
    const closing = it.return?.()
    if (!pending) await closing
    else closing?.catch(() => {})
  }
}
