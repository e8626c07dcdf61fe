import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { FailoverEnvelope } from '../stores/store.js'
import { type CliIo, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, graceMs, writableOptions } from './writable-flags.js'
import { deliver, writeRecord } from './deliver.js'
import { startDemoReceiver } from './demo-receiver.js'

export const DEMO_HELP = `http-stream demo [--records N] [flags]
  Streams N generated records (default 100000) through createHttpWritable into an embedded
  loopback receiver that answers some requests with 503 and 429 (retried) and refuses poison
  records with 400 (failed over), with live progress and a summary. Without --failover, the
  failover store is a fresh temporary folder, named in the summary. Exit 0 when every record is
  delivered or stored.
${WRITABLE_FLAGS_HELP.replace('(default file:./http-failover)', '(default: a fresh temp folder)')}`

export async function run (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...WRITABLE_FLAGS, records: { type: 'string' } }, strict: true })
  const count = values.records === undefined ? 100_000 : Number(values.records)
  if (!Number.isInteger(count) || count < 0) throw new UsageError(`--records takes a whole number (got ${values.records})`)
  const receiver = await startDemoReceiver()
  try {
    const flags = writableOptions(values)
    // A fresh folder per run, made only when neither --failover nor --config names a store.
    const failover = flags.failover ?? `file:${mkdtempSync(join(tmpdir(), 'http-stream-demo-'))}`
    const options = { backoff: { base: 20, max: 1000 }, ...flags, failover, url: receiver.url }
    io.stderr.write(`demo: ${count} records -> ${receiver.url} (503/429 now and then, every id % 997 === 0 refused)\n`)
    const why = new FailoverReasons()
    return await deliver(async (sink, stop) => {
      sink.on('failover', (envelopes) => why.add(envelopes))
      for (const record of generate(count)) {
        if (stop.requested.aborted || sink.destroyed) return
        await writeRecord(sink, record, stop.requested)
      }
    }, options, io, { title: 'demo', graceMs: graceMs(values), extra: () => ({ ...why.fields(options.failover), 'receiver counted': receiver.received() }) })
  } finally {
    await receiver.close()
  }
}

/** Why records went to failover: refused as poison (400), or retries exhausted on 503/429 (or a network error). */
class FailoverReasons {
  poison = 0
  exhausted = new Map<string, number>()
  attempts = 0

  add (envelopes: FailoverEnvelope[]): void {
    for (const e of envelopes) {
      if (e.status === 400) this.poison++
      else {
        const last = e.status === null ? (e.error ?? 'no answer') : String(e.status)
        this.exhausted.set(last, (this.exhausted.get(last) ?? 0) + 1)
        this.attempts = Math.max(this.attempts, e.attempts)
      }
    }
  }

  /** Summary lines under "failed over": poison records, then records that were fine but ran out of retries. */
  fields (store: unknown): Record<string, string | number> {
    const out: Record<string, string | number> = {}
    if (this.poison > 0) out['  poison'] = `${this.poison} (refused with 400: not retried)`
    for (const [last, n] of this.exhausted) out[`  last answer ${last}`] = `${n} (not poison: retries exhausted, ${this.attempts} attempt(s) each; more --retries would help)`
    if (this.poison + this.exhausted.size > 0 && typeof store === 'string') out['  replay with'] = `http-stream replay ${store} <url>`
    return out
  }
}

function * generate (count: number): Generator<{ id: number, user: string, amount: number, at: number }> {
  for (let id = 1; id <= count; id++) yield { id, user: `user-${id % 100}`, amount: (id * 7) % 1000, at: Date.now() }
}
