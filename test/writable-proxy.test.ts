/**
 * `proxy` through a real forward proxy (Debian's tinyproxy, started by the test with its own
 * config): an http target gets absolute-form requests (tinyproxy's log shows `POST http://…`, the
 * receiver sees its Via header), an https target goes through a CONNECT tunnel (the log shows
 * `CONNECT 127.0.0.1:P`, the TLS server its keep-alive handshakes), a proxy that demands Basic auth
 * takes the URL's credentials, and the password shows nowhere: not in envelopes, stats, errors, or
 * the option's own rendering. `proxy: 'env'` follows HTTP_PROXY/HTTPS_PROXY and NO_PROXY.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { createHttpWritable } from '../lib/index.js'
import { ProxySetting } from '../lib/transports/proxy.js'
import { assertNothingLost } from './helpers/ledger.js'
import { hasTinyproxy, startTinyproxy, type Tinyproxy, type TinyproxyOptions } from './helpers/tinyproxy.js'
import { makeTestCerts, type TestCerts } from './helpers/tls-certs.js'
import { startTlsServer, type TlsServer } from './helpers/tls-server.js'
import { deliver, feed, FAST, LIMIT, records, rig } from './helpers/writable-harness.js'

const skip = hasTinyproxy() ? false : 'tinyproxy is not installed (.ci/run installs it)'
const SECRET = 's3cr3t-pw'

let certs: TestCerts
before(() => { certs = makeTestCerts() })
after(() => certs.remove())

async function proxy (t: TestContext, options: TinyproxyOptions = {}): Promise<Tinyproxy> {
  const p = await startTinyproxy(options)
  t.after(() => p.stop())
  return p
}

async function tlsServer (t: TestContext): Promise<TlsServer> {
  const s = await startTlsServer({ key: certs.server.key, cert: certs.server.cert })
  t.after(() => s.close())
  return s
}

/** Every file of the failover directory, as text. */
function failoverText (dir: string): string {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => readFileSync(join(e.parentPath, e.name), 'utf8')).join('\n')
  } catch {
    return ''
  }
}

describe('proxy (undici)', { skip }, () => {
  it('an http target: absolute-form requests through the proxy', LIMIT, async (t) => {
    const p = await proxy(t)
    const r = await rig(t)
    const { report, sink } = await deliver(t, r, { proxy: p.url, numWriters: 4, ...FAST }, records(40))
    const lines = p.requests()
    t.diagnostic(`proxy request lines: ${lines.length}, e.g. ${lines[0] ?? ''}; via: ${String(r.receiver.requests[0]?.headers.via)}`)
    assert.equal(report.delivered, 40)
    assert.equal(lines.filter((l) => l.startsWith(`POST ${r.receiver.url}/in `)).length, 40, 'each request went through the proxy')
    assert.ok(r.receiver.requests.every((q) => /tinyproxy/.test(String(q.headers.via))), 'the receiver saw the proxy')
    assert.equal(sink.stats().delivered, 40)
  })

  it('an https target: a CONNECT tunnel, TLS end to end, connections kept alive', LIMIT, async (t) => {
    const s = await tlsServer(t)
    const p = await proxy(t, { connectPorts: [s.port] })
    const r = await rig(t)
    const fed = await feed(r.sink({ url: `${s.url}/in`, proxy: p.url, tls: { ca: certs.ca }, numWriters: 4, ...FAST }), records(40))
    assert.equal(fed.error, undefined)
    const report = assertNothingLost({ written: fed.written, delivered: s.arrivals.flatMap((a) => a.records), stored: r.envelopes().map((e) => e.record) })
    const tunnels = p.requests().filter((l) => l.startsWith(`CONNECT 127.0.0.1:${s.port} `))
    t.diagnostic(`ledger ${JSON.stringify(report)} tunnels=${tunnels.length} handshakes=${s.secureConnections}`)
    assert.equal(report.delivered, 40)
    assert.ok(tunnels.length >= 1 && tunnels.length <= 4, 'at most numWriters tunnels')
    assert.equal(s.secureConnections, tunnels.length, 'every TLS connection came through a tunnel')
  })

  it('a proxy that demands Basic auth: delivered with the URL\'s credentials; a wrong password fails over and never shows', LIMIT, async (t) => {
    const s = await tlsServer(t)
    const p = await proxy(t, { connectPorts: [s.port], basicAuth: { user: 'sink', pass: SECRET } })
    const authed = `http://sink:${SECRET}@127.0.0.1:${p.port}`
    const ok = await rig(t)
    const http = await deliver(t, ok, { proxy: authed, ...FAST }, records(10, 'http'))
    const https = await feed(ok.sink({ url: `${s.url}/in`, proxy: authed, tls: { ca: certs.ca }, ...FAST }), records(10, 'https'))
    assert.equal(https.error, undefined)
    assert.deepEqual([http.report.delivered, s.arrivals.length], [10, 10])

    const wrong = `http://sink:not-${SECRET}@127.0.0.1:${p.port}`
    const bad = await rig(t)
    const sinks = [bad.sink({ proxy: wrong, retries: 1, ...FAST }), bad.sink({ url: `${s.url}/in`, proxy: wrong, tls: { ca: certs.ca }, retries: 1, ...FAST })]
    const errors: string[] = []
    for (const sink of sinks) {
      sink.on('failover', (e: unknown) => errors.push(inspect(e, { depth: 5 })))
      const fed = await feed(sink, records(5, 'bad'))
      assert.equal(fed.error, undefined)
      errors.push(JSON.stringify(sink.stats()))
    }
    const envelopes = bad.envelopes()
    t.diagnostic(`wrong password: ${envelopes.length} failed over; errors: ${[...new Set(envelopes.map((e) => e.error))].join(' | ')}`)
    assert.equal(envelopes.length, 10)
    const everywhere = [failoverText(bad.dir), ...errors].join('\n')
    assert.ok(!everywhere.includes(SECRET), 'the password is in no envelope, event or stats')
    assert.ok(!everywhere.includes(Buffer.from(`sink:not-${SECRET}`).toString('base64')), 'nor its Basic form')
  })

  it('the option itself never renders its password, nor does a bad value\'s error', () => {
    const setting = ProxySetting.parse(`http://u:${SECRET}@proxy.example:3128`)
    for (const text of [String(setting), JSON.stringify({ proxy: setting }), inspect(setting), inspect({ setting }, { depth: 4 })]) {
      assert.ok(!text.includes(SECRET), text)
    }
    assert.equal(String(setting), 'http://***@proxy.example:3128')
    for (const value of [`ftp://u:${SECRET}@host:21`, `http://u:${SECRET}@[bad`, 'proxy.example:3128']) {
      assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, proxy: value }),
        (err: Error & { code?: string, field?: string }) => err.code === 'ERR_INVALID_OPTION' && err.field === 'proxy' && !err.message.includes(SECRET))
    }
  })

  it("proxy: 'env' follows HTTP_PROXY and HTTPS_PROXY, and NO_PROXY bypasses", LIMIT, async (t) => {
    const s = await tlsServer(t)
    const p = await proxy(t, { connectPorts: [s.port] })
    const names = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']
    const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]))
    t.after(() => { for (const n of names) { if (saved[n] === undefined) delete process.env[n]; else process.env[n] = saved[n] } })
    for (const n of names) delete process.env[n]
    process.env.HTTP_PROXY = p.url
    process.env.HTTPS_PROXY = p.url
    const r = await rig(t)
    const viaEnv = await deliver(t, r, { proxy: 'env', ...FAST }, records(5, 'env-http'))
    const fed = await feed(r.sink({ url: `${s.url}/in`, proxy: 'env', tls: { ca: certs.ca }, ...FAST }), records(5, 'env-https'))
    assert.equal(fed.error, undefined)
    const through = p.requests().length
    process.env.NO_PROXY = '127.0.0.1'
    const bypass = await deliver(t, r, { proxy: 'env', ...FAST }, records(5, 'env-bypass'))
    t.diagnostic(`through the proxy: ${through} request lines; after NO_PROXY: ${p.requests().length}`)
    assert.deepEqual([viaEnv.report.delivered, s.arrivals.length, bypass.report.delivered], [5, 5, 10])
    const lines = p.requests()
    assert.equal(lines.filter((l) => l.startsWith(`POST ${r.receiver.url}/in `)).length, 5, 'five absolute-form requests')
    assert.ok(lines.some((l) => l.startsWith(`CONNECT 127.0.0.1:${s.port} `)), 'and the https target through a tunnel')
    assert.equal(p.requests().length, through, 'NO_PROXY: nothing more went through the proxy')
  })
})

describe('proxy (got)', () => {
  it('the got transport refuses `proxy` at construction: it takes got: { agent }', () => {
    assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, transport: 'got', proxy: 'http://127.0.0.1:3128' }),
      (err: Error & { code?: string, field?: string }) => err.code === 'ERR_INVALID_OPTION' && err.field === 'proxy')
  })
})
