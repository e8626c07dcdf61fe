/**
 * A tiny HTTP server for `--metrics-port`: `GET /metrics` answers `render()`'s Prometheus text,
 * anything else 404 (405 for other methods on /metrics). It listens on 127.0.0.1 unless told
 * otherwise, and does not keep the process alive (unref'd): the command's own work does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PROMETHEUS_CONTENT_TYPE } from '../sink/prometheus-text.js'

export interface MetricsServer {
  /** `http://host:port/metrics` */
  url: string
  port: number
  close: () => Promise<void>
}

export async function serveMetrics (port: number, render: () => string, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = createServer((req, res) => answer(req, res, render))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.unref()
  const bound = (server.address() as AddressInfo).port
  const shown = host.includes(':') ? `[${host}]` : host
  let closing: Promise<void> | undefined
  return {
    url: `http://${shown}:${bound}/metrics`,
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    }
  }
}

function answer (req: IncomingMessage, res: ServerResponse, render: () => string): void {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/metrics') return plain(res, 404, 'not found: the metrics are at /metrics\n')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return plain(res, 405, 'method not allowed\n')
  }
  let text: string
  try {
    text = render()
  } catch (err) {
    return plain(res, 500, `could not render the metrics: ${(err as Error).message}\n`)
  }
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(req.method === 'HEAD' ? undefined : text)
}

function plain (res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(text)
}
