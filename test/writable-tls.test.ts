/**
 * `tls` against real HTTPS endpoints (node:https) with certificates made by Debian's openssl at
 * test time: an internal CA is trusted, mTLS presents the client certificate (the server checks its
 * CN), and every certificate failure (no CA, wrong host, self-signed, expired, no client
 * certificate) fails over at once with ERR_TLS naming the reason, on both transports, with
 * `retries: 3` (one attempt per record, not four). Bad values fail at construction, naming the field.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import { createHttpWritable, replay } from '../lib/index.js'
import type { HttpWritableOptions } from '../lib/index.js'
import { assertNothingLost } from './helpers/ledger.js'
import { makeTestCerts, type KeyPair, type TestCerts } from './helpers/tls-certs.js'
import { startTlsServer, type TlsServer, type TlsServerOptions } from './helpers/tls-server.js'
import { feed, FAST, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'
import { spawnCli, tempDir } from './helpers/cli-child.js'

let certs: TestCerts
before(() => { certs = makeTestCerts() })
after(() => certs.remove())

async function server (t: TestContext, pair: KeyPair, extra: Partial<TlsServerOptions> = {}): Promise<TlsServer> {
  const s = await startTlsServer({ key: pair.key, cert: pair.cert, ...extra })
  t.after(() => s.close())
  return s
}

/** Feeds `n` records through a sink to `s`, checks the ledger, and gives the envelopes back. */
async function run (t: TestContext, s: TlsServer, options: HttpWritableOptions, n = 20): Promise<{ envelopes: ReturnType<Awaited<ReturnType<typeof rig>>['envelopes']>, delivered: number }> {
  const r = await rig(t)
  const sink = r.sink({ url: `${s.url}/in`, numWriters: 4, retries: 3, ...FAST, ...options })
  const fed = await feed(sink, records(n))
  assert.equal(fed.error, undefined)
  const envelopes = r.envelopes()
  const delivered = s.arrivals.flatMap((a) => a.records)
  const report = assertNothingLost({ written: fed.written, delivered, stored: envelopes.map((e) => e.record) })
  t.diagnostic(`ledger ${JSON.stringify(report)} requests=${s.arrivals.length} handshakes=${s.secureConnections}`)
  return { envelopes, delivered: delivered.length }
}

/** Every envelope: one attempt (not retried), no status, ERR_TLS with `reason`. */
function assertTlsFailover (envelopes: Array<{ attempts: number, status: number | null, error: string | null }>, n: number, reason: RegExp): void {
  assert.equal(envelopes.length, n)
  for (const e of envelopes) {
    assert.equal(e.attempts, 1, 'a certificate error is not retried')
    assert.equal(e.status, null)
    assert.match(e.error ?? '', /^ERR_TLS: /)
    assert.match(e.error ?? '', reason)
  }
}

for (const transport of TRANSPORTS) {
  describe(`tls (${transport})`, () => {
    it('trusts an internal CA given as PEM text (and as a Buffer)', LIMIT, async (t) => {
      const s = await server(t, certs.server)
      const text = await run(t, s, { transport, tls: { ca: certs.ca } })
      const buffer = await run(t, s, { transport, tls: { ca: Buffer.from(certs.ca) } })
      assert.deepEqual([text.delivered, text.envelopes.length, buffer.delivered, buffer.envelopes.length], [20, 0, 40, 0])
    })

    it('without the CA: ERR_TLS "unable to verify the first certificate", failed over at once', LIMIT, async (t) => {
      const s = await server(t, certs.server)
      const { envelopes, delivered } = await run(t, s, { transport })
      assert.equal(delivered, 0)
      assertTlsFailover(envelopes, 20, /unable to verify the first certificate/)
    })

    it('a certificate for another host: ERR_TLS hostname mismatch', LIMIT, async (t) => {
      const s = await server(t, certs.wrongHost)
      const { envelopes } = await run(t, s, { transport, tls: { ca: certs.ca } })
      assertTlsFailover(envelopes, 20, /hostname mismatch: Hostname\/IP does not match/)
    })

    it('a self-signed certificate: ERR_TLS self-signed; rejectUnauthorized: false delivers', LIMIT, async (t) => {
      const s = await server(t, certs.selfSigned)
      const refused = await run(t, s, { transport, tls: { ca: certs.ca } })
      assertTlsFailover(refused.envelopes, 20, /self[- ]signed/)
      const insecure = await run(t, s, { transport, tls: { rejectUnauthorized: false } })
      assert.deepEqual([insecure.delivered, insecure.envelopes.length], [20, 0])
    })

    it('an expired certificate: ERR_TLS certificate has expired', LIMIT, async (t) => {
      const s = await server(t, certs.expired)
      const { envelopes } = await run(t, s, { transport, tls: { ca: certs.ca } })
      assertTlsFailover(envelopes, 20, /expired/)
    })

    it('mTLS: the client certificate reaches the server; without one nothing is delivered', LIMIT, async (t) => {
      const s = await server(t, certs.server, { ca: certs.ca, requestCert: true })
      const ok = await run(t, s, { transport, tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key } })
      assert.deepEqual([ok.delivered, ok.envelopes.length], [20, 0])
      assert.ok(s.arrivals.every((a) => a.clientCN === 'sink-client'), 'every request came with the client certificate')
      const refused = await run(t, s, { transport, tls: { ca: certs.ca }, retries: 0 })
      assert.equal(refused.delivered, 20, 'nothing more arrived')
      assert.equal(refused.envelopes.length, 20)
      t.diagnostic(`without a client certificate: ${refused.envelopes[0]?.error ?? ''}`)
    })

    it('replay takes the same tls option: what failed over for want of the CA is delivered with it', LIMIT, async (t) => {
      const s = await server(t, certs.server)
      const r = await rig(t)
      const fed = await feed(r.sink({ url: `${s.url}/in`, transport, ...FAST }), records(10))
      assert.equal(fed.error, undefined)
      assert.equal(r.envelopes().length, 10)
      const summary = await replay(r.failover, { url: `${s.url}/in`, transport, tls: { ca: certs.ca }, ...FAST })
      t.diagnostic(`replay ${JSON.stringify(summary)}`)
      assert.equal(s.arrivals.flatMap((a) => a.records).length, 10)
    })
  })
}

describe('tls options are checked at construction', () => {
  const bad: Array<[unknown, string]> = [
    [{ ca: 42 }, 'tls.ca'],
    [{ ca: 'not a certificate' }, 'tls.ca'],
    [{ ca: ['-----BEGIN CERTIFICATE-----', 7] }, 'tls.ca'],
    [{ ca: { pem: 'x' } }, 'tls.ca'],
    [{ cert: '-----BEGIN CERTIFICATE-----' }, 'tls.key'],
    [{ rejectUnauthorized: 'no' }, 'tls.rejectUnauthorized'],
    [{ minVersion: 'SSLv3' }, 'tls.minVersion'],
    [{ cafile: 'x' }, 'tls.cafile']
  ]
  for (const [tls, field] of bad) {
    it(`${JSON.stringify(tls).slice(0, 60)} → ERR_INVALID_OPTION naming ${field}`, () => {
      assert.throws(() => createHttpWritable({ url: 'https://127.0.0.1:1/', failover: false, tls } as unknown as HttpWritableOptions),
        (err: Error & { code?: string, field?: string }) => err.code === 'ERR_INVALID_OPTION' && err.field === field)
    })
  }
})

describe('tls on the command line', () => {
  it('send --tls-ca --tls-cert --tls-key delivers over mTLS; --insecure to a self-signed server', { timeout: 60_000 }, async (t) => {
    const mtls = await server(t, certs.server, { ca: certs.ca, requestCert: true })
    const dir = tempDir(t)
    const lines = records(30).map((r) => JSON.stringify(r)).join('\n') + '\n'
    const cli = spawnCli(['send', `${mtls.url}/in`, '--failover', `file:${dir}/fo`, '--tls-ca', certs.caFile, '--tls-cert', certs.client.certFile, '--tls-key', certs.client.keyFile])
    cli.child.stdin.end(lines)
    const { code } = await cli.exited
    assert.equal(code, 0, cli.stdout() + cli.stderr())
    assert.equal(mtls.arrivals.length, 30)
    assert.ok(mtls.arrivals.every((a) => a.clientCN === 'sink-client'))

    const self = await server(t, certs.selfSigned)
    const insecure = spawnCli(['send', `${self.url}/in`, '--failover', `file:${dir}/fo2`, '--insecure'])
    insecure.child.stdin.end(lines)
    assert.equal((await insecure.exited).code, 0, insecure.stdout() + insecure.stderr())
    assert.equal(self.arrivals.length, 30)
  })

  it('a --tls-ca file that does not exist is a usage error naming the flag', { timeout: 30_000 }, async (t) => {
    const cli = spawnCli(['send', 'https://127.0.0.1:1/in', '--failover', 'false', '--tls-ca', `${tempDir(t)}/missing.pem`])
    cli.child.stdin.end()
    const { code } = await cli.exited
    t.diagnostic(`exit ${String(code)}: ${cli.stderr().trim()}`)
    assert.equal(code, 2)
    assert.match(cli.stderr(), /--tls-ca: cannot read .*missing\.pem.*no such file/)
  })
})
