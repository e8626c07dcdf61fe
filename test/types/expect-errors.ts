// The public types catch mistakes at compile time. Every `@ts-expect-error` line below must fail to
// compile (tsc reports an unused directive otherwise), and every other line must compile:
// test/types.test.ts runs `tsc --noEmit -p test/types/tsconfig.json`.
import {
  createHttpWritable, createHttpReadable, type HttpWritableOptions, type RetryEvent, type FailoverEnvelope,
  type EncodingName, type HttpWritableEvents, type HttpReadableEvents
} from '../../lib/index.js'

const url = 'http://127.0.0.1:1/in'

// encoding: a union of the built-in names, or a function.
createHttpWritable({ url, encoding: 'ndjson', batch: { maxRecords: 10 } })
createHttpWritable({ url, encoding: 'kafka-rest' })
createHttpWritable({ url, encoding: (records) => ({ body: JSON.stringify(records) }) })
// @ts-expect-error a misspelt encoding
createHttpWritable({ url, encoding: 'ndjsno' })

// inlong options are typed from the encoding.
createHttpWritable({ url, encoding: 'inlong', inlong: { groupId: 'g', streamId: 's', managerUrl: 'http://m:8083' } })
// @ts-expect-error inlong without its required streamId
createHttpWritable({ url, encoding: 'inlong', inlong: { groupId: 'g' } })
// @ts-expect-error a misspelt inlong option
createHttpWritable({ url, encoding: 'inlong', inlong: { groupId: 'g', streamId: 's', manager: 'http://m' } })

// got options are got's own OptionsInit.
createHttpWritable({ url, transport: 'got', got: { http2: false, retry: { limit: 0 } } })
// @ts-expect-error got's http2 is a boolean
createHttpWritable({ url, transport: 'got', got: { http2: 'yes' } })

// unknown options and wrong option types.
// @ts-expect-error an unknown option
createHttpWritable({ url, numWritters: 4 })
// @ts-expect-error numWriters is a number
createHttpWritable({ url, numWriters: '4' })
// @ts-expect-error transport is 'undici' or 'got'
createHttpWritable({ url, transport: 'axios' })
// @ts-expect-error failover: true is not a store
createHttpWritable({ url, failover: true })
const options: HttpWritableOptions = { url, failover: false, successCode: [200, 201] }

// Typed event listeners.
const sink = createHttpWritable(options)
sink.on('retry', (e: RetryEvent) => e.attempt + e.delay)
sink.on('retry', (e) => e.records.length + (e.status ?? 0))
sink.once('failover', (envelopes: FailoverEnvelope[]) => envelopes.map((x) => x.attempts))
sink.off('failover', (envelopes) => envelopes[0]?.record)
sink.on('error', (err) => err.message)
sink.on('drain', () => {})
sink.on('some-other-event', (anything) => anything)
// @ts-expect-error a retry event has no such field
sink.on('retry', (e) => e.notAField)
// @ts-expect-error failover listeners receive a list of envelopes
sink.once('failover', (envelope) => envelope.record)

const readable = createHttpReadable('http://127.0.0.1:1', { topic: 't' })
readable.on('reconnect', (e) => e.attempt + e.delayMs)
readable.on('data', (record) => record)
// @ts-expect-error a reconnect event has delayMs, not delay
readable.on('reconnect', (e) => e.delay)

export const flushed: Promise<void> = sink.flush()

// The names behind these types are exported.
export const encodings: EncodingName[] = ['json', 'inlong']
export type Payloads = [HttpWritableEvents['retry'], HttpReadableEvents['reconnect']]
