import { parseArgs } from 'node:util'
import { type CliIo, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, graceMs, writableOptions } from './writable-flags.js'
import { deliver, writeRecord } from './deliver.js'
import { startDemoReceiver } from './demo-receiver.js'

export const DEMO_HELP = `http-stream demo [--records N] [flags]
  Streams N generated records (default 100000) through createHttpWritable into an embedded
  loopback receiver that answers some requests with 503 and 429 (retried) and refuses poison
  records with 400 (failed over), with live progress and a summary.
${WRITABLE_FLAGS_HELP}`

export async function run (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...WRITABLE_FLAGS, records: { type: 'string' } }, strict: true })
  const count = values.records === undefined ? 100_000 : Number(values.records)
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`--records takes a whole number (got ${values.records})`)
  const receiver = await startDemoReceiver()
  try {
    const options = { backoff: { base: 20, max: 1000 }, ...writableOptions(values), url: receiver.url }
    io.stderr.write(`demo: ${count} records -> ${receiver.url} (503/429 now and then, every id % 997 === 0 refused)\n`)
    return await deliver(async (sink, stop) => {
      for (const record of generate(count)) {
        if (stop.requested.aborted || sink.destroyed) return
        await writeRecord(sink, record, stop.requested)
      }
    }, options, io, { title: 'demo', graceMs: graceMs(values), extra: () => ({ 'receiver counted': receiver.received() }) })
  } finally {
    await receiver.close()
  }
}

function * generate (count: number): Generator<{ id: number, user: string, amount: number, at: number }> {
  for (let id = 1; id <= count; id++) yield { id, user: `user-${id % 100}`, amount: (id * 7) % 1000, at: Date.now() }
}
