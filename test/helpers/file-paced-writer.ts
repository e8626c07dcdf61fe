// Child process for the concurrency tests: a writer failing over into a file store directory while
// a replay runs. It puts envelopes of `{ id }` records in small puts (10 each) and prints the ids of
// each put once it has resolved (so the parent knows what was acknowledged as stored). It keeps
// writing until its stdin has ended, then writes argv[4] more records, and at least argv[3] in all;
// then it closes the store (sealing its segment) and exits 0.
import { FileStore } from '../../lib/stores/file.js'

const store = new FileStore(process.argv[2]!)
const atLeast = Number(process.argv[3] ?? 20000)
const afterStop = Number(process.argv[4] ?? 0)
let stopAt = Infinity
let next = 0
process.stdin.on('data', () => {})
process.stdin.on('end', () => { stopAt = Math.max(atLeast, next + afterStop) })
while (next < stopAt) {
  const ids = Array.from({ length: 10 }, () => next++)
  await store.put(ids.map((id) => ({ record: { id }, url: 'http://x/', method: 'POST', attempts: 1, status: 503, error: null, failedAt: Date.now() })))
  process.stdout.write(ids.join(',') + '\n')
  // Let the stdin 'end' event in between puts.
  await new Promise((resolve) => setImmediate(resolve))
}
await store.close()
