/**
 * Shared setup for the createHttpWritable behaviour tests: a receiver with a fault plan, a temp
 * failover directory, a feeder that honours backpressure and stops when the sink errors, and the
 * final ledger check reported through t.diagnostic.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream'
import type { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { createHttpWritable } from '../../lib/index.js'
import type { HttpWritableOptions } from '../../lib/index.js'
import type { FailoverEnvelope } from '../../lib/stores/store.js'
import { assertNothingLost, readFailoverDir } from './ledger.js'
import type { LedgerReport } from './ledger.js'
import { startReceiver } from './receiver.js'
import type { Receiver, ReceiverOptions } from './receiver.js'

export const TRANSPORTS = ['undici', 'got'] as const
export type TransportName = typeof TRANSPORTS[number]

/** Small, fast limits for tests: backoff in ms, never the 100 ms / 30 s defaults. */
export const FAST = { backoff: { base: 5, max: 50 }, timeout: 2000 } as const

/** Per-test limit: a regression that never settles fails the test (and its cleanup runs) instead of hanging the file. */
export const LIMIT = { timeout: 10_000 } as const

export type Sink = ReturnType<typeof createHttpWritable>

export interface Rig {
  receiver: Receiver
  /** The failover directory (not created: the store creates it). */
  dir: string
  /** `file:` + dir, for the `failover` option. */
  failover: string
  envelopes: () => FailoverEnvelope[]
  /**
   * A sink to the receiver's `/in` (unless `url` is given; `url: undefined` for StreamPark mode),
   * failing over to `dir` (unless `failover` is given). Destroyed when the test ends, so a test that
   * fails or times out leaves no timer or socket behind.
   */
  sink: (options: HttpWritableOptions) => Sink
}

/** Starts a receiver and a temp failover directory; sinks, receiver and directory go when the test ends. */
export async function rig (t: TestContext, options: ReceiverOptions = {}): Promise<Rig> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-writable-'))
  const receiver = await startReceiver(options)
  const sinks: Sink[] = []
  t.after(async () => {
    for (const sink of sinks) sink.destroy()
    await Promise.all(sinks.map(settled))
    await receiver.close()
    await rm(root, { recursive: true, force: true })
  })
  const dir = join(root, 'failover')
  const failover = `file:${dir}`
  return {
    receiver,
    dir,
    failover,
    envelopes: () => readFailoverDir(dir),
    sink: (opts) => {
      const sink = createHttpWritable({ url: `${receiver.url}/in`, failover, ...opts })
      sinks.push(sink)
      return sink
    }
  }
}

export const records = (n: number, tag = 'r'): Array<{ id: number, tag: string }> =>
  Array.from({ length: n }, (_, id) => ({ id, tag }))

export interface FeedResult {
  /** Records handed to write() while the sink was writable. */
  written: unknown[]
  /** Records whose write callback reported an error. */
  rejected: unknown[]
  /** The error the sink emitted, if any. */
  error?: Error & { code?: string, records?: unknown[] }
}

/** One FeedResult for several feeds into the same sink. */
export function mergeFeeds (parts: readonly FeedResult[]): FeedResult {
  const error = parts.find((p) => p.error !== undefined)?.error
  return { written: parts.flatMap((p) => p.written), rejected: parts.flatMap((p) => p.rejected), ...(error === undefined ? {} : { error }) }
}

/** Resolves when the sink finished, errored or closed; never rejects. */
export async function settled (sink: Writable): Promise<Error | undefined> {
  return await new Promise((resolve) => finished(sink, (err) => resolve(err ?? undefined)))
}

/** Writes every record, waiting for 'drain' when write() says so; stops early if the sink errors. */
export async function feed (sink: Writable, items: readonly unknown[], options: { end?: boolean } = {}): Promise<FeedResult> {
  const result: FeedResult = { written: [], rejected: [] }
  sink.on('error', (err) => { result.error ??= err })
  for (const item of items) {
    if (sink.destroyed || sink.writableEnded) break
    result.written.push(item)
    const ok = sink.write(item, (err) => { if (err != null) result.rejected.push(item) })
    if (!ok) await drainOrClose(sink)
  }
  if (options.end !== false && !sink.destroyed && !sink.writableEnded) sink.end()
  if (options.end !== false) {
    const err = await settled(sink)
    if (err !== undefined && (err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') result.error ??= err
  }
  return result
}

async function drainOrClose (sink: Writable): Promise<void> {
  if (sink.destroyed) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done)
      sink.off('close', done)
      resolve()
    }
    sink.on('drain', done)
    sink.on('close', done)
  })
}

/** Runs the ledger over the receiver, the failover files and the feed result; reports through t.diagnostic. */
export async function account (t: TestContext, r: Rig, fed: FeedResult): Promise<LedgerReport> {
  const envelopes = r.envelopes()
  const report = assertNothingLost({
    written: fed.written,
    delivered: r.receiver.delivered,
    stored: envelopes.map((e) => e.record),
    errored: fed.error?.records,
    rejected: fed.rejected
  })
  t.diagnostic(`ledger ${JSON.stringify(report)}`)
  return report
}

/** Counts a sink's events by name. */
export function countEvents (sink: Writable, ...names: string[]): Record<string, unknown[]> {
  const seen: Record<string, unknown[]> = {}
  for (const name of names) {
    seen[name] = []
    sink.on(name, (...args: unknown[]) => seen[name]?.push(args[0]))
  }
  return seen
}

export interface Delivery {
  sink: Sink
  events: Record<'retry' | 'failover', unknown[]>
  fed: FeedResult
  report: LedgerReport
}

/**
 * The common shape of a delivery test: a sink to the rig's receiver (`/in` unless `url` is given;
 * `url: undefined` for StreamPark mode) failing over to the rig's directory, every item fed, no
 * stream error, and the ledger checked.
 */
export async function deliver (t: TestContext, r: Rig, options: HttpWritableOptions, items: readonly unknown[]): Promise<Delivery> {
  const sink = r.sink(options)
  const events = countEvents(sink, 'retry', 'failover') as Delivery['events']
  const fed = await feed(sink, items)
  assert.equal(fed.error, undefined)
  return { sink, events, fed, report: await account(t, r, fed) }
}

/** Every envelope in the rig's store matches `expected` (a RegExp matches the error text). */
export function assertEnvelopes (r: Rig, count: number, expected: { attempts: number, status: number | null, error: RegExp }): void {
  const envelopes = r.envelopes()
  assert.equal(envelopes.length, count)
  for (const e of envelopes) {
    assert.deepEqual({ attempts: e.attempts, status: e.status }, { attempts: expected.attempts, status: expected.status })
    assert.match(e.error ?? '', expected.error)
    assert.ok(e.failedAt > 0 && e.url.startsWith(r.receiver.url) && typeof e.method === 'string')
  }
}
