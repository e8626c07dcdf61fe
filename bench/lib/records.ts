import { Readable } from 'node:stream'

/** The record every subject sends: the same shape and size (about 110 bytes of JSON) for all. */
export interface BenchRecord {
  id: number
  ts: number
  user: string
  event: string
  page: string
  value: number
}

const EVENTS = ['click', 'view', 'scroll', 'purchase']

export function makeRecord (i: number): BenchRecord {
  return {
    id: i,
    ts: 1_700_000_000_000 + i,
    user: `user-${i % 1000}`,
    event: EVENTS[i & 3]!,
    page: `/products/${i % 5000}`,
    value: (i % 997) / 10
  }
}

/** An object-mode Readable of `n` records that pushes until the consumer's buffer is full. */
export function recordSource (n: number): Readable {
  let next = 0
  return new Readable({
    objectMode: true,
    highWaterMark: 1024,
    read () {
      while (next < n) {
        if (!this.push(makeRecord(next++))) return
      }
      this.push(null)
    }
  })
}
