import { parseArgs } from 'node:util'
import { type CliIo, EXIT, UsageError } from './io.js'
import { WRITABLE_FLAGS, WRITABLE_FLAGS_HELP, graceMs, writableOptions } from './writable-flags.js'
import { deliver, room } from './deliver.js'
import { LineInput } from './line-input.js'
import { BadLines } from './bad-lines.js'
import { METRICS_FLAGS, METRICS_FLAGS_HELP, startMetricsEndpoint } from './metrics-flags.js'

export const SEND_HELP = `http-stream send <url> [flags]   NDJSON on stdin, one record per line
  With --encoding url or raw, each line is sent as a string; otherwise each line is parsed as JSON.
  A line that is not JSON goes to the failover store as an ERR_INVALID_RECORD envelope whose record
  is the line's text (with --failover false it counts as neither delivered nor stored).
  Exit 0: every record delivered; 3: every record delivered or stored, some in failover (replay
  them later); 1: some record neither; 2: bad usage.
  SIGINT/SIGTERM: stop reading stdin, deliver what was read for --grace-ms, store the rest, exit 130/143.
${WRITABLE_FLAGS_HELP}
${METRICS_FLAGS_HELP}`

export async function run (argv: string[], io: CliIo & { signal?: AbortSignal }): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...WRITABLE_FLAGS, ...METRICS_FLAGS }, allowPositionals: true, strict: true })
  if (positionals.length !== 1) throw new UsageError('send takes exactly one <url>')
  const options = { ...writableOptions(values), url: positionals[0]! }
  const asText = options.encoding === 'url' || options.encoding === 'raw'
  const input = new LineInput(io.stdin)
  let bad: BadLines | undefined
  const metrics = await startMetricsEndpoint(values, io, 'send')
  const code = await deliver(async (sink, stop) => {
    metrics?.watch(sink)
    bad = new BadLines(io, sink.store, { url: options.url, method: options.method ?? 'POST' })
    const take = (line: string, n: number): unknown => {
      if (line.trim() === '') return undefined
      if (asText) return line
      try {
        return JSON.parse(line)
      } catch (err) {
        bad!.add(n, line, `not JSON (${(err as Error).message})`)
        return undefined
      }
    }
    // Every line is written before the next read; only a full sink makes us wait (and stop cuts the wait).
    const writeAll = (lines: string[], first: number): boolean => {
      let more = true
      lines.forEach((line, i) => {
        const record = take(line, first + i)
        if (record !== undefined && !sink.destroyed) more = sink.write(record)
      })
      return more
    }
    for (let lines = await input.next(stop.requested); lines !== null && !sink.destroyed; lines = await input.next(stop.requested)) {
      const more = writeAll(lines, input.count - lines.length + 1)
      await bad.flush()
      if (!more) await room(sink, stop.requested)
    }
    if (!stop.requested.aborted) return
    // Stopped: what was read from the pipe is ours to deliver or store; the rest stays in the pipe.
    const before = input.count
    const { lines, partial } = input.stop()
    if (!sink.destroyed) writeAll(lines, before + 1)
    if (partial !== undefined) bad.add(input.count + 1, partial, 'cut off by the signal (the rest of the line was not read)')
    await bad.flush()
  }, options, io, { title: 'send', graceMs: graceMs(values), storedExit: EXIT.failedOver, extra: () => ({ 'lines read': input.count, ...bad?.fields() }) })
  if ((bad?.lost ?? 0) > 0) return EXIT.lost
  return code === EXIT.ok && (bad?.stored ?? 0) > 0 ? EXIT.failedOver : code
}
