import { parseArgs } from 'node:util'
import { createHttpStreamServer, type HttpStreamServerOptions } from '../server/server.js'
import { type CliIo, EXIT, UsageError, int, port } from './io.js'
import { StopRequest, aborted } from './stop-request.js'

export const SERVE_HELP = `http-stream serve [flags]   run a stream server until SIGINT/SIGTERM
  --port P                 port (default 8082; 0 picks a free one)
  --host H                 address to bind (default 127.0.0.1)
  --receiver R             memory (default) | null | kafka://host:port[,host:port]
  --auth-token T           require "Authorization: Bearer T" (all routes but /healthz)
  --max-body-bytes N       request body limit (default 16 MiB)
  --retention-records N    memory: records kept per topic (default 100000)
  --retention-bytes N      memory: value bytes kept per topic (default 64 MiB)
  --on-full reject|drop-oldest   memory: answer 429 (default) or evict with counted drops
  --instance-timeout-ms N  idle consumer instances expire (default 300000)
  --advertised-url URL     this node's URL as clients reach it, named in consumer instances' base_uri
                           (several nodes on one kafka:// receiver; default: the request's Host)
  --dedup-window-ms N      Idempotency-Key: ms an applied key is remembered (default 300000)
  --dedup-max-keys N       Idempotency-Key: keys remembered at most (default 100000)
  --no-dedup               apply every produce request, Idempotency-Key or not
  --grace-ms MS            at SIGINT/SIGTERM, wait this long for the server to close (default 10000)
Prints "listening on <url>" once ready. SIGINT/SIGTERM: stop accepting, close, exit 130/143.`

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  receiver: { type: 'string' },
  'auth-token': { type: 'string' },
  'max-body-bytes': { type: 'string' },
  'retention-records': { type: 'string' },
  'retention-bytes': { type: 'string' },
  'on-full': { type: 'string' },
  'instance-timeout-ms': { type: 'string' },
  'advertised-url': { type: 'string' },
  'dedup-window-ms': { type: 'string' },
  'dedup-max-keys': { type: 'string' },
  'no-dedup': { type: 'boolean' },
  'grace-ms': { type: 'string' }
} as const

export async function run (argv: string[], io: CliIo & { signal?: AbortSignal }): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true })
  if (positionals.length > 0) throw new UsageError(`serve takes no positional arguments (got ${positionals.join(' ')})`)
  const options: HttpStreamServerOptions = { receiver: v.receiver ?? 'memory' }
  if (v['auth-token'] !== undefined) options.auth = { token: v['auth-token'] }
  if (v['max-body-bytes'] !== undefined) options.maxBodyBytes = int(v['max-body-bytes'], '--max-body-bytes')
  if (v['instance-timeout-ms'] !== undefined) options.instanceTimeoutMs = int(v['instance-timeout-ms'], '--instance-timeout-ms')
  if (v['advertised-url'] !== undefined) options.advertisedUrl = v['advertised-url']
  if (v['retention-records'] !== undefined || v['retention-bytes'] !== undefined) {
    options.retention = {}
    if (v['retention-records'] !== undefined) options.retention.records = int(v['retention-records'], '--retention-records')
    if (v['retention-bytes'] !== undefined) options.retention.bytes = int(v['retention-bytes'], '--retention-bytes')
  }
  if (v['on-full'] !== undefined) options.onFull = v['on-full'] as 'reject'
  if (v['no-dedup'] === true) {
    if (v['dedup-window-ms'] !== undefined || v['dedup-max-keys'] !== undefined) throw new UsageError('--no-dedup cannot be combined with --dedup-window-ms or --dedup-max-keys')
    options.dedup = false
  } else if (v['dedup-window-ms'] !== undefined || v['dedup-max-keys'] !== undefined) {
    const dedup: { windowMs?: number, maxKeys?: number } = {}
    if (v['dedup-window-ms'] !== undefined) dedup.windowMs = int(v['dedup-window-ms'], '--dedup-window-ms')
    if (v['dedup-max-keys'] !== undefined) dedup.maxKeys = int(v['dedup-max-keys'], '--dedup-max-keys')
    options.dedup = dedup
  }
  const listenPort = port(v.port ?? '8082', '--port')
  const server = createHttpStreamServer(options)
  const stop = new StopRequest(io, v['grace-ms'] === undefined ? 10_000 : int(v['grace-ms'], '--grace-ms'))
  try {
    await server.listen(listenPort, v.host ?? '127.0.0.1')
    io.stdout.write(`listening on ${server.url} (receiver ${server.receiver.kind})\n`)
    await aborted(stop.requested)
    io.stderr.write('closing\n')
    // The server stops accepting at once; a close that outlasts the grace period is left behind.
    const closing = server.close()
    closing.catch(() => {})
    await Promise.race([closing, aborted(stop.now)])
  } finally {
    stop.dispose()
  }
  return stop.exitCode ?? EXIT.ok
}
