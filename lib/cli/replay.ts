import { parseArgs } from 'node:util'
import { type CliIo, CommandError, EXIT, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, graceMs, writableOptions } from './writable-flags.js'
import { ProgressLine, formatRate, summary } from './progress.js'
import { replay, type ReplayProgress, type ReplaySummary } from '../sink/replay.js'
import { openStore } from '../stores/open-store.js'
import { StopRequest, aborted } from './stop-request.js'
import { stopReadingOn } from './stoppable-store.js'

export const REPLAY_HELP = `http-stream replay <store-uri> <url> [--batch-size N] [flags]
  Sends the records stored in a failover store again; only the ones the endpoint accepts are
  removed from the store, the others stay with attempts updated. A store that does not exist or
  is being replayed by another process: exit 2. There is no --failover: what fails again stays in
  <store-uri>.
  SIGINT/SIGTERM: read no more of the store, let the round under way be acked for --grace-ms,
  exit 130/143; what was not acked stays in the store.
${WRITABLE_FLAGS_HELP.split('\n').filter((l) => !l.includes('--failover')).join('\n')}`

export async function run (argv: string[], io: CliIo & { signal?: AbortSignal }): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...WRITABLE_FLAGS, 'batch-size': { type: 'string' } }, allowPositionals: true, strict: true })
  if (positionals.length !== 2) throw new UsageError('replay takes <store-uri> <url>')
  if (values.failover !== undefined) throw new UsageError(`replay takes no --failover (got ${JSON.stringify(values.failover)}): what fails again stays in <store-uri>`)
  const { failover: _ignored, ...options } = writableOptions(values)
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size'])
  let current: ReplayProgress = { read: 0, delivered: 0, failedAgain: 0 }
  const store = unavailableIsUsage(() => openStore(positionals[0]!, 'store'))
  const stop = new StopRequest(io, graceMs(values))
  const progress = new ProgressLine(io, () => ({ written: current.read, delivered: current.delivered, retried: 0, failedOver: current.failedAgain }))
  const started = Date.now()
  const replaying = replay(stopReadingOn(store, stop.requested), { ...options, url: positionals[1]!, batchSize, onProgress: (p) => { current = p } })
  replaying.catch(() => {}) // awaited below, unless the grace period ends first
  let result: ReplaySummary | undefined
  try {
    // After a signal: the round under way has the grace period to finish; then we leave it unacked.
    result = await Promise.race([replaying, aborted(stop.now).then(() => undefined)])
    if (result !== undefined) await store.close()
  } catch (err) {
    await store.close().catch(() => {})
    if (current.read > 0) throw err
    unavailableIsUsage(() => { throw err })
  } finally {
    stop.dispose()
    progress.stop()
  }
  const r = result ?? { ...current, store: store.uri, ms: Date.now() - started }
  summary(io, `replay${stop.reason}`, {
    store: r.store,
    read: r.read,
    delivered: r.delivered,
    'failed again (kept)': r.failedAgain,
    ...(result === undefined ? { 'round under way': 'not acked: stays in the store' } : {}),
    elapsed: `${(r.ms / 1000).toFixed(2)} s`,
    rate: `${formatRate((r.read * 1000) / Math.max(1, r.ms))} records/s`
  })
  if (result === undefined) return stop.exitCode ?? EXIT.lost
  if (r.delivered + r.failedAgain !== r.read) return EXIT.lost
  return stop.exitCode ?? EXIT.ok
}

/** A store that is missing or replayed by another process (nothing read yet) is like a bad argument: exit 2. */
function unavailableIsUsage<T> (fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (['ERR_STORE', 'ERR_STORE_LOCKED'].includes((err as { code?: string }).code ?? '')) throw new CommandError(EXIT.usage, err)
    throw err
  }
}
