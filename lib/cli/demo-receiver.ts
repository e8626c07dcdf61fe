import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * The demo's endpoint: a loopback HTTP server that accepts JSON records but misbehaves on purpose:
 * about 1 request in 25 gets 503, 1 in 50 gets 429 with Retry-After: 0 (both retried), and any
 * record whose `id` is a multiple of 997 is refused with 400 (a poison record: failed over at once).
 */
export interface DemoReceiver {
  url: string
  received: () => number
  close: () => Promise<void>
}

export async function startDemoReceiver (): Promise<DemoReceiver> {
  let requests = 0
  let received = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests++
      if (requests % 25 === 0) return answer(res, 503, { error: 'busy, try again' })
      if (requests % 50 === 1 && requests > 1) return answer(res, 429, { error: 'slow down' }, { 'retry-after': '0' })
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l !== '')
      let records: Array<{ id?: unknown }>
      try {
        records = lines.map((l) => JSON.parse(l) as { id?: unknown })
      } catch {
        return answer(res, 400, { error: 'body is not JSON' })
      }
      if (records.some((r) => typeof r.id === 'number' && r.id % 997 === 0)) return answer(res, 400, { error: 'poison record refused' })
      received += records.length
      answer(res, 200, { ok: records.length })
    })
  })
  server.keepAliveTimeout = 10_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    received: () => received,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

function answer (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}
