import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpProblem } from './http-problem.js'
import { decoderFor, decompress } from './decompress.js'

/** The media type of a Content-Type or Accept item, lower-cased, without parameters. */
export function mediaType (header: string | undefined): string {
  if (header === undefined) return ''
  const semi = header.indexOf(';')
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
}

/**
 * Reads the whole body, refusing with 413 as soon as it passes `maxBytes` (by Content-Length before
 * reading a byte, or while streaming). The connection is then closed, so the rest is never read.
 * The refusal is an HttpProblem(413); a surface may answer it in its own format (InLong: code 104).
 * A Content-Encoding body (gzip, deflate, br, zstd where Node has it) is decompressed with its
 * decompressed size capped by `maxBytes` too (413); any other Content-Encoding is a 415.
 */
export async function readBody (req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer> {
  let decoder
  try {
    decoder = decoderFor(req.headers['content-encoding'])
  } catch (err) {
    res.setHeader('connection', 'close')
    throw err
  }
  const body = await readRawBody(req, res, maxBytes)
  return decoder === undefined ? body : await decompress(body, decoder, maxBytes, () => tooLarge(maxBytes, 'decompressed'))
}

function readRawBody (req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length']
    if (declared !== undefined && Number(declared) > maxBytes) {
      res.setHeader('connection', 'close')
      reject(tooLarge(maxBytes))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (err: Error | undefined): void => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
      if (err !== undefined) reject(err)
      else resolve(chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) {
        res.setHeader('connection', 'close')
        req.pause()
        finish(tooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => finish(undefined)
    const onError = (err: Error): void => finish(new HttpProblem(400, 400, `request body could not be read: ${err.message}`))
    const onAborted = (): void => finish(new HttpProblem(400, 400, 'request aborted'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('aborted', onAborted)
  })
}

function tooLarge (maxBytes: number, what = ''): HttpProblem {
  return new HttpProblem(413, 41300, `request body ${what === '' ? '' : `${what} `}larger than ${maxBytes} bytes`)
}

/** Sends a JSON answer (or an empty 204) unless the response is already gone. */
export function sendJson (res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  if (status === 204 || body === undefined) {
    res.statusCode = status
    res.end()
    return
  }
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('content-type', contentType)
  res.setHeader('content-length', Buffer.byteLength(text))
  res.end(text)
}

export function sendText (res: ServerResponse, status: number, text: string, contentType: string): void {
  if (res.headersSent || res.destroyed) return
  res.statusCode = status
  res.setHeader('content-type', contentType)
  res.setHeader('content-length', Buffer.byteLength(text))
  res.end(text)
}
