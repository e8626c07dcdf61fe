/**
 * A real HTTPS endpoint on 127.0.0.1 (port 0) for the TLS, proxy and HTTP/2 tests: `node:https`,
 * or `node:http2`'s secure server with `allowHTTP1` when `http2` is set. It keeps what arrived:
 * each request's HTTP version, the client certificate's CN (mTLS), its headers and its records
 * (JSON, or NDJSON lines), and answers 200.
 */
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { IncomingHttpHeaders } from 'node:http'

export interface TlsArrival {
  httpVersion: string
  path: string
  headers: IncomingHttpHeaders
  /** CN of the client certificate, when one was presented and verified. */
  clientCN: string | undefined
  records: unknown[]
}

export interface TlsServerOptions {
  key: string
  cert: string
  /** Set with `requestCert`: the CA client certificates must chain to. */
  ca?: string
  /** Demand a client certificate (mTLS). */
  requestCert?: boolean
  /** Offer h2 by ALPN (http/1.1 too). */
  http2?: boolean
}

export interface TlsServer {
  port: number
  url: string
  arrivals: TlsArrival[]
  /** Connections the server accepted a TLS handshake on. */
  secureConnections: number
  close: () => Promise<void>
}

type AnyRequest = { httpVersion: string, url?: string, headers: IncomingHttpHeaders, socket: unknown, on: (e: string, f: (c?: Buffer) => void) => void }
type AnyResponse = { writeHead: (status: number, headers?: Record<string, string>) => void, end: (body?: string) => void }

export async function startTlsServer (options: TlsServerOptions): Promise<TlsServer> {
  const arrivals: TlsArrival[] = []
  const handle = (req: AnyRequest, res: AnyResponse): void => {
    const chunks: Buffer[] = []
    req.on('data', (c) => { if (c !== undefined) chunks.push(c) })
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const peer = (req.socket as TLSSocket).getPeerCertificate?.()
      arrivals.push({ httpVersion: req.httpVersion, path: req.url ?? '', headers: req.headers, clientCN: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : undefined, records: parseRecords(text) })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"ok":true}')
    })
  }
  const tls = { key: options.key, cert: options.cert, ca: options.ca, requestCert: options.requestCert ?? false, rejectUnauthorized: options.requestCert ?? false }
  const server = options.http2 === true
    ? http2.createSecureServer({ ...tls, allowHTTP1: true }, handle as never)
    : https.createServer(tls, handle as never)
  const state = { secureConnections: 0 }
  const sockets = new Set<{ destroy: () => void }>()
  server.on('secureConnection', (socket: TLSSocket) => {
    state.secureConnections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    arrivals,
    get secureConnections () { return state.secureConnections },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    }
  }
}

function parseRecords (text: string): unknown[] {
  if (text === '') return []
  try {
    const value: unknown = JSON.parse(text)
    return Array.isArray(value) ? value : [value]
  } catch {
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
  }
}
