/**
 * createHttpReadable and HttpStreamClient check their options with ajv at construction (unknown
 * options named, with a "did you mean"; wrong types and ranges named; the URL checked), and a reader
 * destroyed without an error never emits 'error', whatever it was doing: run in child processes, so
 * an 'error' after destroy() would be an unhandled one, a crash.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { describe, it, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createHttpReadable } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { call, startServer } from './helpers/server-fixture.js'

const child = fileURLToPath(new URL('./helpers/readable-destroy-child.ts', import.meta.url))

function rejects (options: unknown, field: string, message?: RegExp, url = 'http://127.0.0.1:9'): void {
  assert.throws(() => createHttpReadable(url, options as never), (err: Error & { code?: string, field?: string }) => {
    assert.equal(err.code, 'ERR_INVALID_OPTION', `${JSON.stringify(options)}: ${err.message}`)
    assert.equal(err.field, field, err.message)
    if (message !== undefined) assert.match(err.message, message)
    return true
  })
}

async function runChild (moment: string, url: string): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, moment, url], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const [code] = await once(proc, 'exit') as [number | null]
  return { code, stdout, stderr }
}

/** A server that accepts connections and never answers. */
async function silentServer (t: TestContext): Promise<string> {
  const server: Server = createServer(() => {})
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

describe('createHttpReadable options', () => {
  it('names an unknown option and suggests the known one (groupID → groupId)', () => {
    rejects({ topic: 't', groupID: 'billing' }, 'groupID', /unknown option; did you mean groupId\?/)
    rejects({ topic: 't', pollTimout: 100 }, 'pollTimout', /did you mean pollTimeout\?/)
    rejects({ topic: 't', nonsense: 1 }, 'nonsense', /unknown option \(known: .*groupId/)
  })

  it('names wrong types and ranges', () => {
    rejects({}, 'topic', /is required/)
    rejects({ topic: '' }, 'topic')
    rejects({ topic: 't', groupId: 7 }, 'groupId', /must be string/)
    rejects({ topic: 't', from: 'middle' }, 'from', /'earliest', 'latest', \{ timestamp \} or \{ offset/)
    rejects({ topic: 't', from: { offset: -1 } }, 'from')
    rejects({ topic: 't', from: { timestamp: 'not a date' } }, 'from.timestamp')
    rejects({ topic: 't', maxBytes: 0 }, 'maxBytes', /must be >= 1 \(got 0\)/)
    rejects({ topic: 't', pollTimeout: 1.5 }, 'pollTimeout', /integer/)
    rejects({ topic: 't', highWaterMark: 0 }, 'highWaterMark')
    rejects({ topic: 't', reconnectMs: -1 }, 'reconnectMs')
    rejects({ topic: 't', autoCommit: 'yes' }, 'autoCommit', /boolean/)
    rejects({ topic: 't', withMetadata: 1 }, 'withMetadata')
    rejects({ topic: 't', timeout: 0 }, 'timeout')
    rejects({ topic: 't', connections: 0 }, 'connections')
    rejects({ topic: 't', headers: { 'x-a': 1 } }, 'headers.x-a')
    rejects({ topic: 't', auth: { token: 1 } }, 'auth.token')
    rejects(null, 'options')
    rejects('t', 'options')
  })

  it('checks the url', () => {
    rejects({ topic: 't' }, 'url', /not a URL/, 'nope')
    rejects({ topic: 't' }, 'url', /http or https/, 'ftp://127.0.0.1/')
    rejects({ topic: 't' }, 'url', /query or fragment/, 'http://127.0.0.1:9/?a=1')
    assert.throws(() => createHttpReadable(undefined as never, { topic: 't' }), { code: 'ERR_INVALID_OPTION', field: 'url' })
  })

  it('accepts every documented option', () => {
    const reader = createHttpReadable('http://127.0.0.1:9', {
      topic: 't', groupId: 'g', from: { timestamp: new Date() }, maxBytes: 1, pollTimeout: 0, includeTimestamp: true,
      timestampField: 'ts', autoCommit: false, withMetadata: true, highWaterMark: 1, instanceId: 'i', reconnectMs: 0,
      headers: { 'x-a': 'b' }, timeout: 1, auth: { username: 'u', password: 'p' }, connections: 1
    })
    reader.on('error', () => {})
    reader.destroy()
  })
})

describe('HttpStreamClient options', () => {
  it('names unknown options, wrong types and a bad url', () => {
    const fails = (url: string, options: unknown, field: string, message?: RegExp): void => {
      assert.throws(() => new HttpStreamClient(url, options as never), (err: Error & { code?: string, field?: string }) => {
        assert.deepEqual([err.code, err.field], ['ERR_INVALID_OPTION', field], err.message)
        if (message !== undefined) assert.match(err.message, message)
        return true
      })
    }
    fails('http://x', { timeot: 5 }, 'timeot', /did you mean timeout\?/)
    fails('http://x', { topic: 't' }, 'topic', /unknown option/)
    fails('http://x', { timeout: 0 }, 'timeout')
    fails('http://x', { connections: 'many' }, 'connections')
    fails('http://x', { auth: { user: 'u' } }, 'auth.token', /is required/)
    fails('http://x', null, 'options')
    fails('http://x#frag', {}, 'url')
    fails('mailto:a@b', {}, 'url')
  })
})

describe('destroy() without an error never emits error', () => {
  it('right after creating it, the server unreachable (the reported crash)', async () => {
    const run = await runChild('at-once', 'http://127.0.0.1:1')
    assert.equal(run.code, 0, `the process crashed: ${run.stderr}`)
    assert.match(run.stdout, /^closed/)
  })

  it('while retrying an unreachable server', async () => {
    const run = await runChild('retrying', 'http://127.0.0.1:1')
    assert.equal(run.code, 0, `the process crashed: ${run.stderr}`)
    assert.match(run.stdout, /^closed/)
  })

  it('while the instance create is in flight (the server never answers): aborted, not waited for', async (t) => {
    const run = await runChild('creating', await silentServer(t))
    assert.equal(run.code, 0, `the process crashed or hung: ${run.stderr}`)
    const ms = Number(/^closed (\d+)/.exec(run.stdout)?.[1])
    t.diagnostic(`closed ${ms} ms after creation (request timeout 10000 ms)`)
  })

  it('while a fetch is long-polling: aborted, and the consumer instance deleted', async (t) => {
    const { url } = await startServer(t)
    const run = await runChild('fetching', url)
    assert.equal(run.code, 0, `the process crashed: ${run.stderr}`)
    assert.match(run.stdout, /^closed/)
    assert.equal((await call(url, 'GET', '/healthz')).json.consumers, 0, 'the consumer instance was deleted')
  })
})
