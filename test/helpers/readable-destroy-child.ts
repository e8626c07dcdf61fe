/**
 * A reader destroyed (no error) at one moment of its life, in its own process, so that an 'error'
 * emitted after destroy() shows as what it would be in an application: an unhandled error, a crash.
 * Prints "closed <ms>" once the reader closed, then exits 0; a crash exits 1; no close within 20 s exits 2.
 *   node --import tsx readable-destroy-child.ts <moment> <url>
 * moments: at-once (destroy right after creating it), retrying (after its first 'reconnect'),
 * fetching (while a fetch is in flight), creating (while the instance create is in flight).
 */
import { createHttpReadable } from '../../lib/source/http-readable.js'

const [moment, url] = process.argv.slice(2) as [string, string]
const started = Date.now()
const reader = createHttpReadable(url, { topic: 'destroyed', groupId: 'destroyers', pollTimeout: 5000 })
reader.once('close', () => {
  process.stdout.write(`closed ${Date.now() - started}\n`)
  // Let anything emitted after 'close' surface before exiting.
  setImmediate(() => setTimeout(() => process.exit(0), 100))
})
setTimeout(() => process.exit(2), 20_000).unref()

if (moment === 'at-once') reader.destroy()
else if (moment === 'creating') setTimeout(() => reader.destroy(), 300) // the server never answers the create
else if (moment === 'retrying') reader.once('reconnect', () => reader.destroy())
else if (moment === 'fetching') {
  reader.read(0)
  // The instance exists and the first fetch is long-polling (the topic is empty).
  const wait = setInterval(() => {
    if (reader.subscription === undefined) return
    clearInterval(wait)
    setTimeout(() => reader.destroy(), 300)
  }, 10)
} else throw new Error(`unknown moment ${moment}`)
