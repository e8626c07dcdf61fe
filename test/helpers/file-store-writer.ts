// Child process for the SIGKILL test: stores numbered envelopes as fast as it can and prints the
// numbers of each batch once put() has resolved (so the parent knows what was acknowledged).
import { FileStore } from '../../lib/stores/file.js'

const store = new FileStore(process.argv[2]!)
let next = 0
for (;;) {
  const batch = Array.from({ length: 50 }, () => next++)
  await store.put(batch.map((n) => ({ record: n, url: 'http://x/', method: 'POST', attempts: 1, status: 503, error: null, failedAt: Date.now() })))
  process.stdout.write(batch.join(',') + '\n')
}
