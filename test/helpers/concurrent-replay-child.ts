// Child process for the concurrent replay tests: `replay <store-uri> <receiver-url>` through the
// library, tagging its requests with `x-replayer: <pid>`; prints one JSON line with the summary or
// the error code, and exits 0 (replayed), 2 (ERR_STORE_LOCKED) or 1 (anything else).
import { replay } from '../../lib/sink/replay.js'

const [uri, url] = process.argv.slice(2)
try {
  const summary = await replay(uri!, { url: url!, batchSize: 100, headers: { 'x-replayer': String(process.pid) } })
  process.stdout.write(JSON.stringify({ ok: true, read: summary.read, delivered: summary.delivered, failedAgain: summary.failedAgain }) + '\n')
} catch (err) {
  const code = (err as { code?: unknown }).code
  process.stdout.write(JSON.stringify({ ok: false, code: typeof code === 'string' ? code : null, message: (err as Error).message }) + '\n')
  process.exitCode = code === 'ERR_STORE_LOCKED' ? 2 : 1
}
