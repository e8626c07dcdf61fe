import { Readable } from 'node:stream'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { type CliIo, EXIT, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, writableOptions } from './writable-flags.js'
import { deliver } from './deliver.js'

export const SEND_HELP = `http-stream send <url> [flags]   NDJSON on stdin, one record per line
  With --encoding url or raw, each line is sent as a string; otherwise each line is parsed as JSON
  (a line that is not JSON is reported and counts as not delivered).
${WRITABLE_FLAGS_HELP}`

export async function run (argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: WRITABLE_FLAGS, allowPositionals: true, strict: true })
  if (positionals.length !== 1) throw new UsageError('send takes exactly one <url>')
  const options = { ...writableOptions(values), url: positionals[0]! }
  const asText = options.encoding === 'url' || options.encoding === 'raw'
  let badLines = 0
  async function * records (): AsyncGenerator<unknown> {
    let n = 0
    // Created here, when reading starts: readline drops lines emitted before it is iterated.
    for await (const line of createInterface({ input: io.stdin, crlfDelay: Infinity })) {
      n++
      if (line.trim() === '') continue
      if (asText) {
        yield line
        continue
      }
      try {
        yield JSON.parse(line)
      } catch {
        if (++badLines <= 5) io.stderr.write(`line ${n}: not JSON, skipped\n`)
      }
    }
  }
  const code = await deliver(Readable.from(records()), options, io, 'send', (): Record<string, number> => badLines > 0 ? { 'bad lines': badLines } : {})
  return badLines > 0 ? EXIT.lost : code
}
