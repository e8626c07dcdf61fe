/**
 * A fault proxy: a real HTTP server on 127.0.0.1:0 in front of `target` that forwards every request
 * whole to it and, for a fraction of requests, drops the answer once the target has made it: the
 * client's connection is destroyed instead of the answer being relayed. The target applied the
 * request; the client cannot know, and retries it. The choice is a seeded pseudo-random draw per
 * request (in arrival order), so a run drops about `dropResponses` of the requests, every time.
 */
import { Agent, createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'

export interface FaultProxyOptions {
  /** Base URL the requests go to (`http://127.0.0.1:PORT`). */
  target: string
  /** Fraction of requests (0–1) whose answer is dropped after the target answered. */
  dropResponses: number
  /** Seed of the draw. Default 1. */
  seed?: number
}

export interface FaultProxy {
  /** Base URL of the proxy. */
  readonly url: string
  /** Requests forwarded to the target (each was answered there). */
  readonly forwarded: number
  /** Answers dropped (the client's connection destroyed instead). */
  readonly dropped: number
  close: () => Promise<void>
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'host'])

export async function startFaultProxy (options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const draw = mulberry32(options.seed ?? 1)
  const sockets = new Set<Socket>()
  let forwarded = 0
  let dropped = 0
  const server = createServer((req, res) => {
    const drop = draw() < options.dropResponses
    const upstream = request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent
    }, (answer) => {
      const chunks: Buffer[] = []
      answer.on('data', (c: Buffer) => chunks.push(c))
      answer.on('end', () => {
        forwarded++
        if (drop) {
          dropped++
          req.socket.destroy()
          return
        }
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers))
        res.end(Buffer.concat(chunks))
      })
      answer.on('error', () => req.socket.destroy())
    })
    upstream.on('error', () => req.socket.destroy())
    req.pipe(upstream)
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    get forwarded (): number { return forwarded },
    get dropped (): number { return dropped },
    close: async (): Promise<void> => {
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      for (const s of sockets) s.destroy()
      agent.destroy()
      await closed
    }
  }
}

function endToEnd (headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  return out
}

/** A small seeded PRNG (Mulberry32): the same seed gives the same draws. */
function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
