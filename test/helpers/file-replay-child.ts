// Child process: one `replay(file:<argv[2]>, { url: argv[3], ... })`. Prints one JSON line, either
// `{ "ok": true, "summary": {...} }` or `{ "ok": false, "code": "...", "message": "..." }`, and
// exits 0, 2 for ERR_STORE_LOCKED (as the CLI does), or 1.
import { replay } from '../../lib/sink/replay.js'

try {
  const summary = await replay(`file:${process.argv[2]!}`, {
    url: process.argv[3]!,
    encoding: 'ndjson',
    batch: { maxRecords: 500 },
    batchSize: 1000,
    // Answers may be held by the test until the other process shows up: no timeouts, no resends.
    timeout: 300_000,
    retries: 0
  })
  process.stdout.write(JSON.stringify({ ok: true, summary }) + '\n')
} catch (err) {
  const { code, message } = err as Error & { code?: string }
  process.stdout.write(JSON.stringify({ ok: false, code, message }) + '\n')
  process.exitCode = code === 'ERR_STORE_LOCKED' ? 2 : 1
}
