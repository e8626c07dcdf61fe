/**
 * `createHttpReadable(url, { urls })`: several server nodes. `urls` is checked at construction
 * (ERR_INVALID_OPTION naming the field); a node that gives no answer (nothing listens: connection
 * refused) is left for the next one, where the reader creates its instance and reads, and
 * `'reconnect'` names the node the next attempt goes to. `http-stream read` takes more <url>s or
 * `--urls` for the same.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { run as read } from '../lib/cli/read.js'
import { createHttpReadable, type ReconnectEvent } from '../lib/source/http-readable.js'
import { HttpStreamClient } from '../lib/source/http-stream-client.js'
import { cliIo } from './helpers/cli-io.js'
import { startServer } from './helpers/server-fixture.js'
import { freePort } from './services/free-port.js'

describe('createHttpReadable with several server nodes (urls)', () => {
  it('checks urls at construction and names the bad field', () => {
    const make = (urls: unknown): unknown => createHttpReadable('http://127.0.0.1:1', { topic: 't', urls } as never)
    assert.throws(() => make('http://127.0.0.1:2'), { code: 'ERR_INVALID_OPTION', field: 'urls' })
    assert.throws(() => make(['http://127.0.0.1:2', 'ftp://x']), { code: 'ERR_INVALID_OPTION', field: 'urls[1]' })
    assert.throws(() => make(['not a url']), { code: 'ERR_INVALID_OPTION', field: 'urls[0]' })
    assert.throws(() => make(['http://127.0.0.1:2/?q=1']), { code: 'ERR_INVALID_OPTION', field: 'urls[0]' })
    assert.throws(() => make([3]), { code: 'ERR_INVALID_OPTION' })
    const ok = createHttpReadable('http://127.0.0.1:1', { topic: 't', urls: ['http://127.0.0.1:1/', 'http://127.0.0.1:2'], reconnectMs: 0 })
    ok.on('error', () => {})
    ok.destroy()
  })

  it('moves from a node that refuses connections to the next one and reads there', { timeout: 30_000 }, async (t) => {
    const live = await startServer(t)
    const dead = `http://127.0.0.1:${await freePort()}`
    const client = new HttpStreamClient(live.url)
    t.after(() => client.close())
    await client.produce('nodes', [{ n: 0 }, { n: 1 }, { n: 2 }])
    const reader = createHttpReadable(dead, { topic: 'nodes', groupId: 'g', urls: [live.url], pollTimeout: 100 })
    const reconnects: ReconnectEvent[] = []
    reader.on('reconnect', (e: ReconnectEvent) => { reconnects.push(e) })
    const got: unknown[] = []
    for await (const v of reader) {
      got.push(v)
      if (got.length === 3) break
    }
    t.diagnostic(`${reconnects.length} retries before reading on the live node: ${reconnects.map(e => `${e.error.message.slice(0, 60)} → ${e.url}`).join('; ')}`)
    assert.deepEqual(got, [{ n: 0 }, { n: 1 }, { n: 2 }])
    assert.equal(reconnects[0]?.url, live.url, 'the first retry goes to the next node')
    assert.equal(reader.client.url, live.url)
  })

  it('http-stream read takes more <url>s and --urls', { timeout: 30_000 }, async (t) => {
    const live = await startServer(t)
    const client = new HttpStreamClient(live.url)
    t.after(() => client.close())
    await client.produce('cli-nodes', ['a', 'b'])
    const dead = `http://127.0.0.1:${await freePort()}`
    const first = cliIo()
    assert.equal(await read([dead, live.url, '--topic', 'cli-nodes', '--group', 'g1', '--max', '2'], first.io), 0)
    assert.equal(first.out(), '"a"\n"b"\n')
    const second = cliIo()
    assert.equal(await read([dead, '--urls', `${dead},${live.url}`, '--topic', 'cli-nodes', '--group', 'g2', '--max', '1'], second.io), 0)
    assert.equal(second.out(), '"a"\n')
  })
})
