/**
 * A reader process for the kill-and-restart tests: reads `topic` as `group` from the stream server at
 * `url` and writes each record it takes (with metadata) as one JSON line on stdout, synchronously,
 * so every line the parent sees is a record this process had taken. The parent SIGKILLs it.
 *   node --import tsx server-reader-child.ts <url> <topic> <group>
 */
import { writeSync } from 'node:fs'
import { createHttpReadable } from '../../lib/source/http-readable.js'

const [url, topic, group] = process.argv.slice(2) as [string, string, string]
const reader = createHttpReadable(url, { topic, groupId: group, withMetadata: true, maxBytes: 64, highWaterMark: 4, pollTimeout: 200 })
reader.on('error', (err) => {
  process.stderr.write(`reader error: ${err.message}\n`)
  process.exit(3)
})
reader.on('data', (record) => {
  writeSync(1, `${JSON.stringify(record)}\n`)
})
