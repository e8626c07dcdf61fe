/**
 * The two transports' limits, against hostile peers on raw sockets: how much of a body is kept
 * (MAX_BODY_BYTES by default, all of it when the transform asks), `timeout` bounding the whole
 * attempt even while the request waits for a connection (it is then never sent), and the transform
 * emitting a body larger than the default cap whole.
 */
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, it, type TestContext } from 'node:test'
import { createHttpTransform } from '../lib/sink/http-transform.js'
import { GotTransport } from '../lib/transports/got.js'
import { MAX_BODY_BYTES, type OutgoingRequest, type SendOptions, type Transport } from '../lib/transports/transport.js'
import { UndiciTransport } from '../lib/transports/undici.js'
import { huge, startHostilePeer, trickle, type AnswerPlan, type HostilePeer } from './helpers/hostile-peer.js'
import { TRANSPORTS, type TransportName } from './helpers/writable-harness.js'

const LIMIT = { timeout: 20_000 } as const
const BODY = 1024 * 1024

function transportOf (name: TransportName, connections: number, timeout: number): Transport {
  return name === 'got' ? new GotTransport(connections) : new UndiciTransport(connections, timeout)
}

async function setup (t: TestContext, name: TransportName, plan: AnswerPlan, connections = 4, timeout = 5000): Promise<{ peer: HostilePeer, transport: Transport, request: (id: number) => OutgoingRequest }> {
  const peer = await startHostilePeer(plan)
  const transport = transportOf(name, connections, timeout)
  t.after(async () => {
    await transport.close(true)
    await peer.close()
  })
  const request = (id: number): OutgoingRequest => ({ origin: peer.url, path: '/in', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) })
  return { peer, transport, request }
}

const reading = (overrides: Partial<SendOptions> = {}): SendOptions => ({ timeout: 5000, readBody: () => true, ...overrides })

for (const name of TRANSPORTS) {
  describe(`transport limits (${name})`, () => {
    it(`keeps the first MAX_BODY_BYTES (${MAX_BODY_BYTES}) of a body, all of it when asked, none when not`, LIMIT, async (t) => {
      const { transport, request } = await setup(t, name, (req) => huge(req, 200, BODY))
      const capped = await transport.send(request(1), reading())
      const whole = await transport.send(request(2), reading({ maxBody: Number.MAX_SAFE_INTEGER }))
      const unread = await transport.send(request(3), reading({ readBody: () => false }))
      t.diagnostic(`kept ${capped.body.length} of ${BODY} bytes by default, ${whole.body.length} when asked, ${unread.body.length} unread`)
      assert.equal(capped.status, 200)
      assert.equal(capped.body, 'x'.repeat(MAX_BODY_BYTES))
      assert.equal(whole.body.length, BODY)
      assert.equal(unread.body, '')
    })

    it('fails a trickling answer as ERR_REQUEST_TIMEOUT, and one that timed out waiting for a connection is never sent', LIMIT, async (t) => {
      const { peer, transport, request } = await setup(t, name, () => trickle(200, 100), 1, 1500)
      const started = performance.now()
      // One connection: the second request waits behind the first, and its deadline passes first.
      const outcomes = await Promise.allSettled([transport.send(request(1), reading({ timeout: 1500 })), transport.send(request(2), reading({ timeout: 300 }))])
      t.diagnostic(`both settled after ${Math.round(performance.now() - started)} ms (timeouts 1500 and 300 ms); the peer saw ${peer.requests.length} request(s)`)
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected')
        assert.equal((outcome.reason as { code?: string }).code, 'ERR_REQUEST_TIMEOUT')
      }
      // The connection is free again once the first is cut: give a late send of the second the chance to show.
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.deepEqual(peer.requests.map((r) => r.body), [JSON.stringify({ id: 1 })], 'the queued request was never sent')
    })

    it('lets the transform emit a response larger than MAX_BODY_BYTES whole', LIMIT, async (t) => {
      const { peer } = await setup(t, name, (req) => huge(req, 200, BODY))
      const out: unknown[] = []
      await pipeline(Readable.from([{ id: 1 }]), createHttpTransform({ url: `${peer.url}/in`, transport: name, response: 'text' }), async function * (source) {
        for await (const item of source) out.push(item)
      })
      assert.equal(out.length, 1)
      assert.equal((out[0] as string).length, BODY)
    })
  })
}
