import { parseArgs } from 'node:util'
import { type CliIo, EXIT, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, writableOptions } from './writable-flags.js'
import { ProgressLine, formatRate, summary } from './progress.js'
import { replay } from '../sink/replay.js'

export const REPLAY_HELP = `http-stream replay <store-uri> <url> [--batch-size N] [flags]
  Sends the records stored in a failover store again; only the ones the endpoint accepts are
  removed from the store, the others stay with attempts updated.
${WRITABLE_FLAGS_HELP.split('\n').filter((l) => !l.includes('--failover')).join('\n')}`

export async function run (argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...WRITABLE_FLAGS, 'batch-size': { type: 'string' } }, allowPositionals: true, strict: true })
  if (positionals.length !== 2) throw new UsageError('replay takes <store-uri> <url>')
  const { failover: _ignored, ...options } = writableOptions(values)
  let current = { read: 0, delivered: 0, failedAgain: 0 }
  const progress = new ProgressLine(io, () => ({ written: current.read, delivered: current.delivered, retried: 0, failedOver: current.failedAgain }))
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size'])
  const result = await replay(positionals[0]!, { ...options, url: positionals[1]!, batchSize, onProgress: (p) => { current = p } })
  progress.stop()
  summary(io, 'replay', {
    store: result.store,
    read: result.read,
    delivered: result.delivered,
    'failed again (kept)': result.failedAgain,
    elapsed: `${(result.ms / 1000).toFixed(2)} s`,
    rate: `${formatRate((result.read * 1000) / Math.max(1, result.ms))} records/s`
  })
  return result.delivered + result.failedAgain === result.read ? EXIT.ok : EXIT.lost
}
