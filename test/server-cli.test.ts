/**
 * The CLI commands `http-stream serve` and `http-stream read`: serve starts a server with the given
 * flags and stops on a signal; read prints a topic's records as NDJSON, resumes its group, and
 * refuses bad usage.
 */
import assert from 'node:assert/strict'
import { PassThrough, Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import { run as read } from '../lib/cli/read.js'
import { run as serve } from '../lib/cli/serve.js'
import { UsageError } from '../lib/cli/io.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'

function io (signal?: AbortSignal): { stdin: Readable, stdout: PassThrough, stderr: PassThrough, signal?: AbortSignal, out: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let text = ''
  stdout.on('data', (d: Buffer) => { text += d.toString() })
  stderr.resume()
  return { stdin: Readable.from([]), stdout, stderr, signal, out: () => text }
}

describe('CLI serve and read', () => {
  it('serve listens with its flags until stopped; read prints NDJSON and resumes its group', async (t) => {
    const stop = new AbortController()
    const s = io(stop.signal)
    const serving = serve(['--port', '0', '--retention-records', '5', '--auth-token', 'tok'], s)
    t.after(async () => { stop.abort(); await serving.catch(() => {}) })
    while (!s.out().includes('listening on')) await delay(10)
    const url = /listening on (\S+)/.exec(s.out())?.[1] as string
    assert.match(s.out(), /receiver memory/)
    const client = new HttpStreamClient(url, { auth: { token: 'tok' } })
    t.after(() => client.close())
    await client.produce('cli', [{ n: 1 }, { n: 2 }, 'three'])
    await assert.rejects(client.produce('cli', [4, 5, 6]), { status: 429 }, '--retention-records applies')
    const first = io()
    assert.equal(await read([url, '--topic', 'cli', '--group', 'g', '--max', '2', '--auth-token', 'tok'], first), 0)
    assert.equal(first.out(), '{"n":1}\n{"n":2}\n')
    const second = io()
    assert.equal(await read([url, '--topic', 'cli', '--group', 'g', '--max', '1', '--metadata', '--auth-token', 'tok'], second), 0)
    const record = JSON.parse(second.out()) as { offset: number, value: unknown }
    assert.deepEqual([record.offset, record.value], [2, 'three'])
    stop.abort()
    assert.equal(await serving, 0)
  })

  it('read stops on its signal and exits 0', async (t) => {
    const stop = new AbortController()
    const s = io(stop.signal)
    const serving = serve(['--port', '0'], s)
    t.after(async () => { stop.abort(); await serving.catch(() => {}) })
    while (!s.out().includes('listening on')) await delay(10)
    const url = /listening on (\S+)/.exec(s.out())?.[1] as string
    const quit = new AbortController()
    const r = io(quit.signal)
    const reading = read([url, '--topic', 'empty', '--poll-timeout', '100'], r)
    await delay(200)
    quit.abort()
    assert.equal(await reading, 0)
    assert.equal(r.out(), '')
  })

  it('refuses bad usage', async () => {
    await assert.rejects(read(['--topic', 't'], io()), UsageError)
    await assert.rejects(read(['http://127.0.0.1:1'], io()), /--topic is required/)
    await assert.rejects(read(['http://127.0.0.1:1', '--topic', 't', '--max', 'x'], io()), UsageError)
    await assert.rejects(read(['http://127.0.0.1:1', '--topic', 't', '--from', 'yesterday'], io()), UsageError)
    await assert.rejects(serve(['extra'], io()), UsageError)
    await assert.rejects(serve(['--port=-1'], io()), UsageError)
    await assert.rejects(serve(['--port', '0', '--receiver', 'redis://x'], io()), { code: 'ERR_INVALID_OPTION', field: 'receiver' })
  })
})
