/**
 * The bench receiver: a minimal node:http server in its own process, so its CPU is not charged to
 * the client under test. It answers 200 with an empty body as soon as a request body has arrived.
 *   POST /records  one JSON record per request: counts 1 per request
 *   POST /ndjson   an NDJSON batch: counts its lines (a last line without '\n' counts too)
 * The parent talks to it over IPC: it sends { type: 'listening', port } once up, and answers
 * { type: 'count' } with { type: 'counts', requests, records, bytes, errors }.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'

const NEWLINE = 0x0a
const counts = { requests: 0, records: 0, bytes: 0, errors: 0 }

function countLines (chunk: Buffer): number {
  let lines = 0
  let at = chunk.indexOf(NEWLINE)
  while (at !== -1) {
    lines++
    at = chunk.indexOf(NEWLINE, at + 1)
  }
  return lines
}

function answer (res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0' })
  res.end()
}

function onRequest (req: IncomingMessage, res: ServerResponse): void {
  const batch = req.url === '/ndjson'
  if (!batch && req.url !== '/records') {
    counts.errors++
    req.resume()
    answer(res, 404)
    return
  }
  let bytes = 0
  let lines = 0
  let last = NEWLINE
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    if (batch) lines += countLines(chunk)
    last = chunk[chunk.length - 1]!
  })
  req.on('end', () => {
    counts.requests++
    counts.bytes += bytes
    counts.records += batch ? lines + (bytes > 0 && last !== NEWLINE ? 1 : 0) : 1
    answer(res, 200)
  })
  req.on('error', () => { counts.errors++ })
}

const server = createServer({ keepAliveTimeout: 60_000 }, onRequest)
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  process.send?.({ type: 'listening', port: address.port })
})

process.on('message', (msg: { type?: string }) => {
  if (msg?.type === 'count') process.send?.({ type: 'counts', ...counts })
})
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => process.exit(0))
