/**
 * `auth`: Bearer (a string or a function), Basic, and OAuth2 client credentials against a real
 * authorization server (oauth2-mock-server) and our own stream server's Bearer/Basic auth. One
 * token fetch shared by concurrent requests, a refresh before expires_in runs out, one more try
 * with a fresh token after a 401, a token endpoint that is down named in envelopes (ERR_AUTH),
 * and no secret in envelopes, errors, stats or events. Both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { createHttpWritable } from '../lib/index.js'
import { writableOptions } from '../lib/cli/writable-flags.js'
import { startOAuth2Server } from './helpers/oauth2-server.js'
import { spawnCli } from './helpers/cli-child.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FAST, LIMIT, TRANSPORTS, account, countEvents, feed, records, rig } from './helpers/writable-harness.js'
import { V2, V2_JSON, call, startServer } from './helpers/server-fixture.js'

/** Fails when any secret (or its Base64 in a Basic header) appears in `text`. */
function assertNoSecret (text: string, secrets: string[]): void {
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `a secret leaked: ${secret}`)
    assert.ok(!text.includes(Buffer.from(secret).toString('base64').slice(0, 12)), 'a Base64 secret leaked')
  }
}

/** Every record of `topic`, read through a consumer instance with the server's credentials. */
async function readBack (base: string, topic: string, headers: Record<string, string>): Promise<any[]> {
  const group = `read-${topic}`
  const created = await call(base, 'POST', `/consumers/${group}`, { body: { name: 'c', format: 'json', 'auto.offset.reset': 'earliest' }, type: V2, headers })
  assert.equal(created.status, 200, created.text)
  const path = `/consumers/${group}/instances/c`
  assert.equal((await call(base, 'POST', `${path}/subscription`, { body: { topics: [topic] }, type: V2, headers })).status, 204)
  const out: any[] = []
  for (;;) {
    const got = await call(base, 'GET', `${path}/records?timeout=200`, { headers: { ...headers, accept: V2_JSON } })
    assert.equal(got.status, 200, got.text)
    if (got.json.length === 0) return out
    out.push(...got.json)
  }
}

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable auth (${transport})`, () => {
    it('delivers to the stream server with Bearer and Basic auth; wrong credentials fail over without showing them', LIMIT, async (t) => {
      const token = 'tok-3f9a-right'
      const bearerServer = await startServer(t, { auth: { token } })
      const basicServer = await startServer(t, { auth: { username: 'alice', password: 'pa55-w0rd' } })
      const r = await rig(t)
      const cases = [
        { server: bearerServer, auth: { bearer: token } },
        { server: bearerServer, auth: { bearer: async () => { await sleep(1); return token } } },
        { server: basicServer, auth: { username: 'alice', password: 'pa55-w0rd' } }
      ]
      for (const [i, { server, auth }] of cases.entries()) {
        const written = records(120, `ok${i}`)
        const sink = r.sink({ url: `${server.url}/topics/auth${i}`, transport, encoding: 'kafka-rest', batch: { maxRecords: 50, lingerMs: 5 }, auth, ...FAST })
        const fed = await feed(sink, written)
        assert.equal(fed.error, undefined)
        const headers = { authorization: 'username' in auth ? `Basic ${Buffer.from('alice:pa55-w0rd').toString('base64')}` : `Bearer ${token}` }
        const got = await readBack(server.url, `auth${i}`, headers)
        t.diagnostic(`case ${i}: ${sink.stats().delivered} delivered, ${got.length} read back`)
        assert.equal(sink.stats().delivered, 120)
        assert.deepEqual(got.map((x) => x.value), written)
      }
      const wrong = r.sink({ url: `${bearerServer.url}/topics/nope`, transport, auth: { bearer: 'tok-WRONG-secret' }, retries: 1, ...FAST })
      const failovers = countEvents(wrong, 'failover')
      const fed = await feed(wrong, records(5, 'wrong'))
      assert.equal(fed.error, undefined)
      const envelopes = r.envelopes().filter((e) => (e.record as { tag: string }).tag === 'wrong')
      assert.equal(envelopes.length, 5)
      assert.ok(envelopes.every((e) => e.status === 401))
      assertNoSecret(JSON.stringify([envelopes, failovers, wrong.stats()]), ['tok-WRONG-secret', token])
    })

    it('OAuth2: one token fetch for concurrent requests, Basic client auth, the token on every request', LIMIT, async (t) => {
      const oauth = await startOAuth2Server(t)
      const r = await rig(t)
      const auth = { oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret, scope: 'events:write', audience: 'https://api.example', extraParams: { resource: 'tenant-7' } } }
      const { receiver } = r
      receiver.plan = (req) => req.headers.authorization === `Bearer ${oauth.issued[0]}` ? undefined : { status: 401 }
      const sink = r.sink({ transport, auth, numWriters: 16, ...FAST })
      const fed = await feed(sink, records(300))
      assert.equal(fed.error, undefined)
      const report = await account(t, r, fed)
      t.diagnostic(`${oauth.requests.length} token request(s) for ${receiver.requests.length} requests (numWriters 16)`)
      assert.equal(report.delivered, 300)
      assert.equal(oauth.requests.length, 1)
      assert.deepEqual(oauth.requests[0]!.form, { grant_type: 'client_credentials', scope: 'events:write', audience: 'https://api.example', resource: 'tenant-7' })
      assert.ok(receiver.requests.every((q) => q.headers.authorization === `Bearer ${oauth.issued[0]}`))
    })

    it('OAuth2: refreshes the token before expires_in runs out', LIMIT, async (t) => {
      const oauth = await startOAuth2Server(t)
      oauth.expiresIn = 1
      const r = await rig(t)
      const sink = r.sink({ transport, auth: { oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret } }, ...FAST })
      const first = await feed(sink, records(20, 'a'), { end: false })
      await sink.flush()
      await sleep(1100)
      const second = await feed(sink, records(20, 'b'))
      assert.equal(second.error, undefined)
      const tokens = new Set(r.receiver.requests.map((q) => q.headers.authorization))
      t.diagnostic(`${oauth.requests.length} token fetches, ${tokens.size} distinct tokens used, 0 requests refused`)
      assert.ok(oauth.requests.length >= 2, 'a second token was fetched')
      assert.ok([...tokens].every((h) => oauth.issued.some((tok) => h === `Bearer ${tok}`)))
      assert.equal((await account(t, r, { written: [...first.written, ...second.written], rejected: [] })).delivered, 40)
    })

    it('OAuth2: a 401 fetches a fresh token and tries once more; a second 401 is a normal failure', LIMIT, async (t) => {
      const oauth = await startOAuth2Server(t)
      const r = await rig(t)
      // The endpoint revokes the first token: it accepts only tokens issued after it.
      r.receiver.plan = (req) => req.headers.authorization === `Bearer ${oauth.issued.at(-1)}` && oauth.issued.length > 1 ? undefined : { status: 401 }
      const auth = { oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret } }
      const sink = r.sink({ transport, auth, numWriters: 1, retries: 0, ...FAST })
      const fed = await feed(sink, records(10))
      assert.equal(fed.error, undefined)
      const report = await account(t, r, fed)
      t.diagnostic(`${oauth.requests.length} token fetches, ${r.receiver.requests.length} requests for 10 records`)
      assert.equal(report.delivered, 10)
      assert.equal(oauth.requests.length, 2)
      assert.equal(r.receiver.requests.length, 11)
      // Always 401: two requests (the token, then a fresh one), then the 401 is judged as any 401: failover at once.
      const r2 = await rig(t)
      r2.receiver.plan = () => ({ status: 401 })
      const sink2 = r2.sink({ transport, auth, retries: 1, ...FAST })
      const fed2 = await feed(sink2, records(1, 'denied'))
      assert.equal(fed2.error, undefined)
      const envelopes = r2.envelopes()
      assert.equal(envelopes.length, 1)
      assert.equal(envelopes[0]!.status, 401)
      assert.equal(envelopes[0]!.attempts, 1)
      assert.equal(r2.receiver.requests.length, 2)
      assertNoSecret(JSON.stringify(envelopes), [oauth.clientSecret, ...oauth.issued])
    })

    it('OAuth2: a token endpoint that fails is retried with the sink backoff; down for good, ERR_AUTH in envelopes and no secret', LIMIT, async (t) => {
      const oauth = await startOAuth2Server(t)
      oauth.failNext = 2
      const r = await rig(t)
      const auth = { oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret } }
      const sink = r.sink({ transport, auth, retries: 3, ...FAST })
      const events = countEvents(sink, 'retry')
      const fed = await feed(sink, records(5, 'later'))
      assert.equal(fed.error, undefined)
      assert.equal((await account(t, r, fed)).delivered, 5)
      t.diagnostic(`token endpoint answered ${oauth.requests.map((q) => q.status).join(', ')}; ${events.retry!.length} retries`)
      assert.ok(events.retry!.length >= 1)
      assert.match(String((events.retry![0] as { error: string }).error), /ERR_AUTH: OAuth2 token endpoint .*\/token answered 503 \(temporarily_unavailable\)/)
      // Wrong secret: the server answers 401 invalid_client, echoing the Basic header in its description.
      const denied = r.sink({ transport, auth: { oauth2: { ...auth.oauth2, clientSecret: 'WRONG-secret-value' } }, retries: 1, ...FAST })
      const fedDenied = await feed(denied, records(3, 'denied'))
      assert.equal(fedDenied.error, undefined)
      // Down: nothing listens.
      const down = r.sink({ transport, auth: { oauth2: { ...auth.oauth2, tokenUrl: 'http://127.0.0.1:1/token' } }, retries: 1, ...FAST })
      const fedDown = await feed(down, records(3, 'down'))
      assert.equal(fedDown.error, undefined)
      const envelopes = r.envelopes()
      const byTag = (tag: string) => envelopes.filter((e) => (e.record as { tag: string }).tag === tag)
      assert.equal(byTag('denied').length, 3)
      assert.equal(byTag('down').length, 3)
      for (const e of byTag('denied')) assert.match(e.error ?? '', /ERR_AUTH: OAuth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/token answered 401 \(invalid_client\)/)
      for (const e of byTag('down')) assert.match(e.error ?? '', /ERR_AUTH: OAuth2 token endpoint http:\/\/127\.0\.0\.1:1\/token failed: .*ECONNREFUSED/)
      t.diagnostic(`envelope errors: ${byTag('denied')[0]!.error} | ${byTag('down')[0]!.error}`)
      assert.ok(byTag('down').every((e) => e.attempts === 2 && e.status === null))
      assertNoSecret(JSON.stringify([envelopes, denied.stats(), down.stats(), events]), [oauth.clientSecret, 'WRONG-secret-value'])
      assert.equal(r.receiver.requests.filter((q) => /denied|down/.test(q.body)).length, 0, 'no request went out without a token')
    })
  })
}

describe('createHttpWritable auth options', () => {
  it('refuses bad auth naming the field, never its value', () => {
    const bad = (auth: unknown, field: string): void => {
      assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, auth: auth as { bearer: string } }), (err: Error & { code?: string, field?: string }) => {
        assert.equal(err.code, 'ERR_INVALID_OPTION')
        assert.equal(err.field, field)
        assertNoSecret(err.message, ['hunter2-SECRET'])
        return true
      })
    }
    bad('hunter2-SECRET', 'auth')
    bad({ bearer: '' }, 'auth.bearer')
    bad({ bearer: 42 }, 'auth.bearer')
    bad({ username: 'u:x', password: 'hunter2-SECRET' }, 'auth.username')
    bad({ username: 'u', password: 123 }, 'auth.password')
    bad({ username: 'u', password: 'hunter2-SECRET', bearer: 'x' }, 'auth.username')
    bad({ oauth2: { tokenUrl: 'ftp://x/hunter2-SECRET', clientId: 'c', clientSecret: 'hunter2-SECRET' } }, 'auth.oauth2.tokenUrl')
    bad({ oauth2: { tokenUrl: 'http://x/token', clientId: 'c' } }, 'auth.oauth2.clientSecret')
    bad({ oauth2: { tokenUrl: 'http://x/token', clientId: 'c', clientSecret: 'hunter2-SECRET', scopes: 'a' } }, 'auth.oauth2.scopes')
    bad({ oauth2: { tokenUrl: 'http://x/token', clientId: 'c', clientSecret: 'hunter2-SECRET', extraParams: { a: 1 } } }, 'auth.oauth2.extraParams.a')
    bad({ token: 'hunter2-SECRET' }, 'auth')
  })

  it('CLI flags and environment variables become auth and compression options', () => {
    const env = process.env
    try {
      process.env = { ...env, HTTP_STREAM_AUTH_TOKEN: undefined, HTTP_STREAM_OAUTH2_CLIENT_SECRET: undefined }
      assert.deepEqual(writableOptions({ 'auth-token': 'T' }).auth, { bearer: 'T' })
      assert.deepEqual(writableOptions({ 'auth-user': 'u', 'auth-password': 'p' }).auth, { username: 'u', password: 'p' })
      assert.deepEqual(writableOptions({ 'oauth2-token-url': 'http://a/t', 'oauth2-client-id': 'id', 'oauth2-client-secret': 's', 'oauth2-scope': 'x y' }).auth, { oauth2: { tokenUrl: 'http://a/t', clientId: 'id', clientSecret: 's', scope: 'x y' } })
      assert.equal(writableOptions({ compression: 'br' }).compression, 'br')
      assert.throws(() => writableOptions({ 'auth-token': 'T', 'auth-user': 'u', 'auth-password': 'p' }), /exclude each other/)
      assert.throws(() => writableOptions({ 'oauth2-token-url': 'http://a/t', 'oauth2-client-id': 'id' }), /--oauth2-client-secret/)
      process.env.HTTP_STREAM_AUTH_TOKEN = 'from-env'
      assert.deepEqual(writableOptions({}).auth, { bearer: 'from-env' })
      process.env.HTTP_STREAM_AUTH_TOKEN = undefined
      delete process.env.HTTP_STREAM_AUTH_TOKEN
      process.env.HTTP_STREAM_OAUTH2_CLIENT_SECRET = 'env-secret'
      assert.deepEqual(writableOptions({ 'oauth2-token-url': 'http://a/t', 'oauth2-client-id': 'id' }).auth, { oauth2: { tokenUrl: 'http://a/t', clientId: 'id', clientSecret: 'env-secret' } })
    } finally {
      process.env = env
    }
  })

  it('http-stream send: secrets from flags or env vars never reach its output', { timeout: 60_000 }, async (t) => {
    const token = 'cli-tok-RIGHT-7c1'
    const server = await startServer(t, { auth: { token } })
    const oauth = await startOAuth2Server(t)
    const root = await mkdtemp(join(tmpdir(), 'hsc-auth-cli-'))
    t.after(() => rm(root, { recursive: true, force: true }))
    const run = async (args: string[], env: Record<string, string>, lines: number): Promise<{ code: number | null, output: string }> => {
      // The child inherits process.env at spawn: the secret travels in its environment, not its argv.
      const saved = { ...process.env }
      Object.assign(process.env, env)
      const cli = spawnCli(['send', `${server.url}/topics/cli`, '--failover', `file:${join(root, 'failover')}`, '--retries', '0', '--encoding', 'kafka-rest', ...args])
      process.env = saved
      for (let i = 0; i < lines; i++) cli.child.stdin.write(`{"n":${i}}\n`)
      cli.child.stdin.end()
      const { code } = await cli.exited
      return { code, output: cli.stdout() + cli.stderr() }
    }
    const ok = await run(['--auth-token', token], {}, 5)
    t.diagnostic(`right token: exit ${ok.code}; ${ok.output.split('\n').length} lines of output`)
    assert.equal(ok.code, 0, ok.output)
    const wrong = await run(['--auth-token', 'cli-tok-WRONG-9z'], {}, 3)
    assert.equal(wrong.code, 3, wrong.output)
    const fromEnv = await run(['--oauth2-token-url', oauth.tokenUrl, '--oauth2-client-id', oauth.clientId], { HTTP_STREAM_OAUTH2_CLIENT_SECRET: oauth.clientSecret }, 2)
    assert.equal(fromEnv.code, 3, fromEnv.output)
    t.diagnostic(`secret from the environment: ${oauth.issued.length} token(s) issued, token endpoint answered ${oauth.requests.map((q) => q.status).join(', ')}`)
    assert.ok(oauth.issued.length >= 1 && oauth.requests.every((q) => q.status === 200), 'the secret from the environment got tokens')
    const denied = await run(['--oauth2-token-url', oauth.tokenUrl, '--oauth2-client-id', oauth.clientId, '--oauth2-client-secret', 'cli-WRONG-client-secret'], {}, 2)
    assert.equal(denied.code, 3, denied.output)
    assert.match(denied.output, /failed over|stored/i)
    assertNoSecret(ok.output + wrong.output + fromEnv.output + denied.output, [token, 'cli-tok-WRONG-9z', 'cli-WRONG-client-secret', oauth.clientSecret, ...oauth.issued])
  })
})
