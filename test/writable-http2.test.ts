/**
 * `http2: true` against a real `node:http2` secure server that also speaks HTTP/1.1
 * (`allowHTTP1`): undici negotiates h2 by ALPN (the server sees httpVersion 2.0) with every record
 * delivered, per record and batched, and HTTP/1.1 without the option.
 * got ignores the option (it has its own `got: { http2: true }`), so it stays on HTTP/1.1.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import type { HttpWritableOptions } from '../lib/index.js'
import { assertNothingLost } from './helpers/ledger.js'
import { makeTestCerts, type TestCerts } from './helpers/tls-certs.js'
import { startTlsServer, type TlsServer } from './helpers/tls-server.js'
import { feed, FAST, LIMIT, records, rig } from './helpers/writable-harness.js'

let certs: TestCerts
before(() => { certs = makeTestCerts() })
after(() => certs.remove())

async function h2Server (t: TestContext): Promise<TlsServer> {
  const s = await startTlsServer({ key: certs.server.key, cert: certs.server.cert, http2: true })
  t.after(() => s.close())
  return s
}

async function run (t: TestContext, options: HttpWritableOptions, n: number): Promise<{ s: TlsServer, versions: string[] }> {
  const s = await h2Server(t)
  const r = await rig(t)
  const fed = await feed(r.sink({ url: `${s.url}/in`, tls: { ca: certs.ca }, numWriters: 8, ...FAST, ...options }), records(n))
  assert.equal(fed.error, undefined)
  const report = assertNothingLost({ written: fed.written, delivered: s.arrivals.flatMap((a) => a.records), stored: r.envelopes().map((e) => e.record) })
  const versions = [...new Set(s.arrivals.map((a) => a.httpVersion))]
  t.diagnostic(`ledger ${JSON.stringify(report)} versions=${versions.join(',')} requests=${s.arrivals.length} handshakes=${s.secureConnections}`)
  assert.equal(report.delivered, n)
  assert.equal(report.stored, 0)
  return { s, versions }
}

describe('http2', () => {
  it('undici with http2: true talks h2 (ALPN), per record and batched', LIMIT, async (t) => {
    assert.deepEqual((await run(t, { http2: true }, 50)).versions, ['2.0'])
    assert.deepEqual((await run(t, { http2: true, batch: { maxRecords: 10 } }, 50)).versions, ['2.0'])
  })

  it('undici without it stays on HTTP/1.1', LIMIT, async (t) => {
    assert.deepEqual((await run(t, {}, 20)).versions, ['1.1'])
  })

  it('got ignores http2 (HTTP/1.1)', LIMIT, async (t) => {
    assert.deepEqual((await run(t, { transport: 'got', http2: true }, 20)).versions, ['1.1'])
  })

  it('http2 must be a boolean', () => {
    return import('../lib/index.js').then(({ createHttpWritable }) => {
      assert.throws(() => createHttpWritable({ url: 'https://127.0.0.1:1/', failover: false, http2: 'yes' } as unknown as HttpWritableOptions),
        (err: Error & { code?: string, field?: string }) => err.code === 'ERR_INVALID_OPTION' && err.field === 'http2')
    })
  })
})
