/**
 * A server for bench/server.bench.ts in its own process (its CPU is not charged to the client):
 *   ours  this package's stream server, memory receiver (retention large enough for the run)
 *   bare  a hand-written node:http baseline: reads the body, JSON.parse per NDJSON line, or the
 *         Kafka REST JSON body whole, counts the records and answers 200 (stores nothing)
 * Sends { type: 'listening', port } over IPC once up; exits when the parent disconnects.
 *   node --import tsx bench/server-process.ts ours|bare
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createHttpStreamServer } from '../lib/server/server.js'

const NEWLINE = 0x0a

function bare (req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    let records = 0
    if ((req.headers['content-type'] ?? '').startsWith('application/x-ndjson')) {
      let start = 0
      while (start < body.length) {
        let end = body.indexOf(NEWLINE, start)
        if (end === -1) end = body.length
        if (end > start) {
          JSON.parse(body.toString('utf8', start, end))
          records++
        }
        start = end + 1
      }
    } else {
      records = (JSON.parse(body.toString('utf8')) as { records: unknown[] }).records.length
    }
    const text = JSON.stringify({ count: records })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  })
}

async function main (): Promise<void> {
  const mode = process.argv[2]
  let port: number
  if (mode === 'ours') {
    const server = createHttpStreamServer({ retention: { records: 50_000_000, bytes: 4 * 1024 ** 3 } })
    await server.listen()
    port = Number(new URL(server.url).port)
  } else if (mode === 'bare') {
    const server = createServer(bare)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
    port = (server.address() as { port: number }).port
  } else {
    throw new Error(`mode must be ours or bare (got ${String(mode)})`)
  }
  process.send?.({ type: 'listening', port })
  process.on('disconnect', () => process.exit(0))
}

main().catch((err: unknown) => {
  process.stderr.write(`server-process: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
