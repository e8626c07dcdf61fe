import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { recordSource } from '../lib/records.js'

/**
 * What a stream-fed sink pays before it encodes or sends anything: the bench's Readable source
 * piped into an object-mode Writable that drops every record (`highWaterMark` 1000 and `_writev`,
 * as the stream floor). Sends nothing: `url` is only there to fit the runners' signature.
 */
export async function sourceOnly (_url: string, records: number): Promise<void> {
  const drop = new Writable({
    objectMode: true,
    highWaterMark: 1000,
    write (_record, _encoding, callback) { callback() },
    writev (_chunks, callback) { callback() }
  })
  await pipeline(recordSource(records), drop)
}
