import { resolveOptions, type HttpWritableOptions } from './options.js'
import { DeliveryEngine, type Job } from './delivery-engine.js'
import { openStore } from '../stores/open-store.js'
import type { Store, StoredRecord } from '../stores/store.js'
import { isStore } from '../stores/store.js'
import { InvalidOptionError } from '../errors.js'

export interface ReplayProgress {
  /** Stored records read so far. */
  read: number
  /** Accepted by the endpoint and acked in the store. */
  delivered: number
  /** Failed again: kept in the store with attempts, status and error updated. */
  failedAgain: number
}

export interface ReplaySummary extends ReplayProgress {
  store: string
  ms: number
}

export interface ReplayOptions extends Omit<HttpWritableOptions, 'failover'> {
  /** Stored records read and delivered per round (each round ends with ack/retain). Default 5000. */
  batchSize?: number
  /** Called after each round. */
  onProgress?: (progress: ReplayProgress) => void
}

/**
 * Sends stored records again through the same delivery engine as the writable. Only records the
 * endpoint accepted are acked (removed or marked) in the store; those that fail again stay, with
 * attempts/status/error updated. Acks happen after each round, so a replay stopped midway and run
 * again re-sends at most the round that was under way.
 */
export async function replay (storeOrUri: Store | string, options: ReplayOptions): Promise<ReplaySummary> {
  const { batchSize = 5000, onProgress, ...writableOptions } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError('batchSize', `must be an integer >= 1 (got ${String(batchSize)})`)
  if (typeof storeOrUri !== 'string' && !isStore(storeOrUri)) throw new InvalidOptionError('store', 'must be a store URI or a Store')
  const resolved = resolveOptions({ ...writableOptions, failover: false })
  const store = typeof storeOrUri === 'string' ? openStore(storeOrUri, 'store') : storeOrUri
  const started = Date.now()
  const progress: ReplayProgress = { read: 0, delivered: 0, failedAgain: 0 }
  const accepted: string[] = []
  const failed: StoredRecord[] = []
  const engine = new DeliveryEngine(resolved, {
    fail: (job, envelopes) => {
      envelopes.forEach((envelope, i) => {
        const stored = job.tags![i] as StoredRecord
        failed.push({ id: stored.id, envelope: { ...envelope, record: stored.envelope.record, attempts: stored.envelope.attempts + envelope.attempts } })
      })
      engine.settle(job, 'failedOver')
    }
  })
  const broken = new Promise<never>((_resolve, reject) => engine.once('error', reject))
  broken.catch(() => {})
  engine.onSettled = (job: Job, outcome) => {
    if (outcome === 'delivered') for (const tag of job.tags!) accepted.push((tag as StoredRecord).id)
  }
  try {
    for await (const batch of store.read({ batchSize })) {
      for (const stored of batch) engine.push(stored.envelope.record, stored)
      progress.read += batch.length
      await Promise.race([engine.barrier(), broken])
      await store.ack(accepted.splice(0))
      const again = failed.splice(0)
      await store.retain(again)
      progress.delivered = engine.stats().delivered
      progress.failedAgain += again.length
      onProgress?.({ ...progress })
    }
  } finally {
    engine.stop()
    await engine.close()
    if (typeof storeOrUri === 'string') await store.close()
  }
  return { ...progress, store: store.uri, ms: Date.now() - started }
}
