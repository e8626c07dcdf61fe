/** What the sink scenarios share, so the HTTP, HTTPS and gzip rows measure the same workload. */

/** Requests in flight for one record per request, on both sides. */
export const CONCURRENCY = 64
/** Batches are CPU-bound here: 64 bodies of 500 in flight oversubscribe 2 cores, so both sides use 8. */
export const BATCH_CONCURRENCY = 8
export const BATCH = { maxRecords: 500, maxBytes: 1 << 20, lingerMs: 5 }
export const RECORDS_PER_SECOND = 'records/s'
