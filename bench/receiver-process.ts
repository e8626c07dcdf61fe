/**
 * The bench receiver: a minimal node:http server in its own process, so its CPU is not charged to
 * the client under test. It answers 200 with an empty body as soon as a request body has arrived.
 *   POST /records  one JSON record per request: counts 1 per request
 *   POST /ndjson   an NDJSON batch: counts its lines (a last line without '\n' counts too)
 * A body sent with `Content-Encoding: gzip` (or deflate) is decompressed before its lines are
 * counted; `bytes` counts what arrived on the wire. With argv[2] and argv[3] (a key and a
 * certificate file, PEM) it serves HTTPS instead of HTTP, keep-alive the same.
 * The parent talks to it over IPC: it sends { type: 'listening', port } once up, and answers
 * { type: 'count' } with { type: 'counts', requests, records, bytes, errors }.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Readable } from 'node:stream'
import { createGunzip, createInflate } from 'node:zlib'

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
  let plain = 0
  let lines = 0
  let last = NEWLINE
  const body = decoded(req)
  if (body !== req) req.on('data', (chunk: Buffer) => { bytes += chunk.length })
  body.on('data', (chunk: Buffer) => {
    if (body === req) bytes += chunk.length
    plain += chunk.length
    if (batch) lines += countLines(chunk)
    last = chunk[chunk.length - 1]!
  })
  body.on('end', () => {
    counts.requests++
    counts.bytes += bytes
    counts.records += batch ? lines + (plain > 0 && last !== NEWLINE ? 1 : 0) : 1
    answer(res, 200)
  })
  body.on('error', () => {
    counts.errors++
    if (!res.headersSent) answer(res, 400)
  })
}

/** The request's body as sent, or decompressed when it says Content-Encoding gzip or deflate. */
function decoded (req: IncomingMessage): Readable {
  const encoding = req.headers['content-encoding']
  if (encoding === undefined || encoding === 'identity') return req
  if (encoding === 'gzip') return req.pipe(createGunzip())
  if (encoding === 'deflate') return req.pipe(createInflate())
  counts.errors++
  return req
}

const [keyFile, certFile] = process.argv.slice(2)
const server = keyFile !== undefined && certFile !== undefined
  ? createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile), keepAliveTimeout: 60_000 }, onRequest)
  : createServer({ keepAliveTimeout: 60_000 }, onRequest)
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
