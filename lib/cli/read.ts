import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { createHttpReadable, type HttpReadable, type ReadFrom } from '../source/http-readable.js'
import { HttpStreamClient } from '../source/http-stream-client.js'
import { type CliIo, EXIT, UsageError, int } from './io.js'
import { StopRequest } from './stop-request.js'
import { isValidTopicName } from '../server/names.js'

export const READ_HELP = `http-stream read <url> [<url>…] --topic T [flags]   print a topic's records as NDJSON
  --urls U1,U2         other server nodes of the same cluster (as more <url>s): when a node gives no
                       answer the reader moves to the next and resumes from the group's commits
  --group G            consumer group (default http-stream.<topic>); a restart resumes after its commits
  --from F             earliest (default) | latest | <offset> | <ISO date or epoch ms>, for a group with no commits
  --max N              stop after N records (default: run until SIGINT/SIGTERM)
  --metadata           print { topic, partition, offset, key, value, timestamp } per record
  --include-timestamp  add _TIMESTAMP_ (epoch ms) to each value
  --poll-timeout MS    server-side wait per fetch (default 1000)
  --format F           json (default) | binary: read the bytes of keys and values (any bytes, not only
                       JSON); each is printed as a base64 JSON string (null stays null)
  --auth-token T       send "Authorization: Bearer T"
A topic the server does not have yet is reported on stderr, and read waits for its records.
SIGINT/SIGTERM: stop fetching, commit what was printed, exit 130/143.`

const FLAGS = {
  topic: { type: 'string' },
  group: { type: 'string' },
  from: { type: 'string' },
  max: { type: 'string' },
  metadata: { type: 'boolean' },
  'include-timestamp': { type: 'boolean' },
  'poll-timeout': { type: 'string' },
  'auth-token': { type: 'string' },
  format: { type: 'string' },
  urls: { type: 'string' }
} as const

export async function run (argv: string[], io: CliIo & { signal?: AbortSignal }): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true })
  if (positionals.length === 0) throw new UsageError('read takes a <url> (more <url>s, or --urls, name other nodes of the same cluster)')
  if (v.topic === undefined) throw new UsageError('--topic is required')
  for (const [flag, name] of [['--topic', v.topic], ['--group', v.group]] as const) {
    if (name !== undefined && !isValidTopicName(name)) throw new UsageError(`${flag} takes 1 to 249 of [a-zA-Z0-9._-], not "." or ".." (got ${JSON.stringify(name)})`)
  }
  if (v.format !== undefined && v.format !== 'json' && v.format !== 'binary') throw new UsageError(`--format takes json or binary (got ${JSON.stringify(v.format)})`)
  const max = v.max === undefined ? Infinity : int(v.max, '--max')
  const url = positionals[0] as string
  const auth = v['auth-token'] === undefined ? undefined : { token: v['auth-token'] }
  const options = {
    topic: v.topic,
    groupId: v.group,
    from: parseFrom(v.from),
    withMetadata: v.metadata === true,
    includeTimestamp: v['include-timestamp'] === true,
    pollTimeout: v['poll-timeout'] === undefined ? undefined : int(v['poll-timeout'], '--poll-timeout'),
    auth,
    format: v.format as 'json' | 'binary' | undefined,
    urls: [...positionals.slice(1), ...(v.urls?.split(',').filter(u => u !== '') ?? [])]
  }
  const stop = new StopRequest(io)
  try {
    await warnIfMissing(url, v.topic, auth, io)
    return await print(createHttpReadable(url, options), max, io, stop, v.format === 'binary' ? base64Bytes : undefined)
  } finally {
    stop.dispose()
  }
}

/** Prints records until `max`, the end, or a stop request; the reader commits what was printed as it closes. */
async function print (readable: HttpReadable, max: number, io: CliIo, stop: StopRequest, replacer?: (this: Record<string, unknown>, key: string, value: unknown) => unknown): Promise<number> {
  const quit = (): void => { readable.destroy() }
  stop.requested.addEventListener('abort', quit, { once: true })
  if (stop.requested.aborted) quit()
  let n = 0
  try {
    if (max === 0) return EXIT.ok
    for await (const record of readable) {
      if (!io.stdout.write(`${JSON.stringify(record, replacer)}\n`)) await once(io.stdout, 'drain')
      if (++n >= max) break
    }
    return stop.exitCode ?? EXIT.ok
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') return stop.exitCode ?? EXIT.ok
    throw err
  } finally {
    stop.requested.removeEventListener('abort', quit)
    if (!readable.destroyed) readable.destroy()
    // Leaving the loop early destroys the reader with an AbortError; wait for its cleanup (commit, delete).
    if (!readable.closed) await new Promise(resolve => readable.once('close', resolve))
  }
}

/** A JSON.stringify replacer printing Buffers (binary keys and values) as base64 strings. */
function base64Bytes (this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]
  return Buffer.isBuffer(raw) ? raw.toString('base64') : value
}

/** Reading a topic that does not exist creates it and waits; say so, so a typo does not wait in silence. */
async function warnIfMissing (url: string, topic: string, auth: { token: string } | undefined, io: CliIo): Promise<void> {
  const client = new HttpStreamClient(url, { auth })
  try {
    if (await client.topic(topic) === null) io.stderr.write(`topic '${topic}' does not exist on ${url}; waiting for records\n`)
  } catch {
    // The server could not say; the reader reports its own errors.
  } finally {
    await client.close().catch(() => {})
  }
}

function parseFrom (from: string | undefined): ReadFrom | undefined {
  if (from === undefined || from === 'earliest' || from === 'latest') return from
  if (/^\d{1,15}$/.test(from) && from.length < 12) return { offset: Number(from) }
  const ts = /^\d+$/.test(from) ? Number(from) : Date.parse(from)
  if (Number.isNaN(ts)) throw new UsageError(`--from takes earliest, latest, an offset or a date (got ${JSON.stringify(from)})`)
  return { timestamp: ts }
}
