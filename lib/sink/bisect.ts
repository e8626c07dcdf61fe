/**
 * When a rejected batch is split in two (`onReject: 'bisect'`), each half is sent again, down to
 * single records; only a record rejected alone goes to failover. One bad record in a batch of n
 * costs at most 2·⌈log2 n⌉ extra requests (two halves per level); k bad records at most k times that.
 */

/** ms the batcher keeps its lowered `maxRecords` after a 413. */
export const SHRINK_AFTER_413_MS = 60_000

/**
 * Decides once, at construction, which answers split a batch of more than one record: 413 always
 * (the batch is too large, not bad); with 'bisect' also a final 4xx other than 408 and 429.
 */
export function splitPolicy (onReject: 'bisect' | 'failover'): (status: number, final: boolean) => boolean {
  if (onReject === 'failover') return (status) => status === 413
  return (status, final) => status === 413 || (final && status >= 400 && status < 500 && status !== 408 && status !== 429)
}

/** The two halves of `items` (the first one larger by one when odd). */
export function halves<T> (items: T[]): [T[], T[]] {
  const mid = Math.ceil(items.length / 2)
  return [items.slice(0, mid), items.slice(mid)]
}
