/**
 * The sink's diagnostics_channel messages, seen by a real subscriber: a success (request, then
 * response 200), a retry (503, retry, then 200), a failover (400) and a connection reset (status null),
 * each with origin, path, method, status, attempt, duration and record count; no header and no query
 * string in any message; a subscriber that comes after the sink was made still hears it.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it, type TestContext } from 'node:test'
import { SINK_CHANNELS, createHttpTransform } from '../lib/index.js'
import { firstRecord, type ReceivedRequest, type Reply } from './helpers/receiver.js'
import { deliver, FAST, LIMIT, records, rig } from './helpers/writable-harness.js'

type Name = keyof typeof SINK_CHANNELS
interface Heard { channel: Name, message: Record<string, unknown> }

/** Subscribes to the four channels for the rest of the test; the messages in the order heard. */
function listen (t: TestContext): Heard[] {
  const heard: Heard[] = []
  for (const channel of Object.keys(SINK_CHANNELS) as Name[]) {
    const onMessage = (message: unknown): void => { heard.push({ channel, message: message as Record<string, unknown> }) }
    diagnostics.subscribe(SINK_CHANNELS[channel], onMessage)
    t.after(() => diagnostics.unsubscribe(SINK_CHANNELS[channel], onMessage))
  }
  return heard
}

/** A message without its changing parts (ids, duration, delay), for deepEqual. */
function shape ({ channel, message }: Heard): Record<string, unknown> {
  const { sinkId: _s, requestId: _r, duration: _d, delay: _l, ...rest } = message
  return { channel, ...rest }
}

/** Answers the first attempt of each record with `first`, later ones 200. */
function firstAttempt (first: Reply): (req: ReceivedRequest) => Reply | undefined {
  const seen = new Set<unknown>()
  return (req) => {
    const id = firstRecord(req)?.id
    if (seen.has(id)) return undefined
    seen.add(id)
    return first
  }
}

const SECRET = 's3cret-token-value'

describe('createHttpWritable diagnostics_channel', () => {
  it('a success: request then response, same ids, no headers or query in the messages', LIMIT, async (t) => {
    const r = await rig(t)
    const heard = listen(t)
    await deliver(t, r, { url: `${r.receiver.url}/in/events?api_key=${SECRET}`, headers: { authorization: `Bearer ${SECRET}` }, ...FAST }, records(1))
    const origin = r.receiver.url
    assert.deepEqual(heard.map(shape), [
      { channel: 'request', origin, path: '/in/events', method: 'POST', attempt: 1, records: 1 },
      { channel: 'response', origin, path: '/in/events', method: 'POST', attempt: 1, records: 1, status: 200, error: null }
    ])
    const [request, response] = heard.map((h) => h.message)
    assert.equal(response!.requestId, request!.requestId)
    assert.equal(response!.sinkId, request!.sinkId)
    assert.ok(typeof response!.duration === 'number' && response!.duration >= 0)
    assert.equal(r.receiver.requests[0]!.headers.authorization, `Bearer ${SECRET}`, 'the header was sent')
    const text = JSON.stringify(heard)
    assert.ok(!text.includes(SECRET) && !text.includes('api_key'), text)
    t.diagnostic(`heard ${heard.length} messages; request took ${(response!.duration as number).toFixed(2)} ms`)
  })

  it('a retry: 503 then 200 on a batch of 3 (request, response 503, retry, request, response 200)', LIMIT, async (t) => {
    const r = await rig(t, { plan: firstAttempt({ status: 503 }) })
    const heard = listen(t)
    const { sink } = await deliver(t, r, { encoding: 'ndjson', batch: { maxRecords: 3, lingerMs: 1000 }, ...FAST }, records(3))
    const origin = r.receiver.url
    const base = { origin, path: '/in', method: 'POST', records: 3 }
    assert.deepEqual(heard.map(shape), [
      { channel: 'request', ...base, attempt: 1 },
      { channel: 'response', ...base, attempt: 1, status: 503, error: null },
      { channel: 'retry', ...base, attempt: 2, status: 503, error: 'unexpected status 503: {"error":503}' },
      { channel: 'request', ...base, attempt: 2 },
      { channel: 'response', ...base, attempt: 2, status: 200, error: null }
    ])
    const retry = heard[2]!.message
    assert.ok(typeof retry.delay === 'number' && retry.delay >= 0 && retry.delay <= FAST.backoff.max)
    assert.equal(retry.requestId, heard[0]!.message.requestId, 'the retry names the attempt that failed')
    assert.notEqual(heard[3]!.message.requestId, heard[0]!.message.requestId)
    assert.deepEqual(sink.stats(), { written: 3, delivered: 3, retried: 3, failedOver: 0, inFlight: 0, queued: 0 })
  })

  it('a failover: 400 is given up at once (response 400, failover)', LIMIT, async (t) => {
    const r = await rig(t, { plan: () => ({ status: 400 }) })
    const heard = listen(t)
    await deliver(t, r, FAST, records(1))
    const base = { origin: r.receiver.url, path: '/in', method: 'POST', records: 1, attempt: 1 }
    assert.deepEqual(heard.map(shape), [
      { channel: 'request', ...base },
      { channel: 'response', ...base, status: 400, error: null },
      { channel: 'failover', ...base, status: 400, error: 'unexpected status 400: {"error":400}' }
    ])
    assert.equal(heard[2]!.message.requestId, heard[0]!.message.requestId)
    assert.equal(r.envelopes().length, 1)
  })

  it('a connection reset: status null and the error text, on response, retry and failover', LIMIT, async (t) => {
    const r = await rig(t, { plan: () => ({ reset: true }) })
    const heard = listen(t)
    await deliver(t, r, { retries: 1, ...FAST }, records(1))
    const channels = heard.map((h) => h.channel)
    assert.deepEqual(channels, ['request', 'response', 'retry', 'request', 'response', 'failover'])
    for (const { channel, message } of heard.filter((h) => h.channel !== 'request')) {
      assert.equal(message.status, null, channel)
      assert.match(String(message.error), /reset|closed|socket/i, channel)
      assert.equal(message.origin, r.receiver.url)
    }
    assert.equal(heard[5]!.message.attempt, 2)
    t.diagnostic(`network error text: ${String(heard[1]!.message.error)}`)
  })

  it('a record that never became a request: failover with null origin, path and method', LIMIT, async (t) => {
    const r = await rig(t)
    const heard = listen(t)
    await deliver(t, r, { url: `${r.receiver.url}/t/{tenant}`, ...FAST }, [{ id: 1 }])
    assert.deepEqual(heard.map(shape), [{ channel: 'failover', origin: null, path: null, method: null, attempt: 0, records: 1, status: null, error: heard[0]!.message.error }])
    assert.equal(heard[0]!.message.requestId, null)
    assert.match(String(heard[0]!.message.error), /tenant/)
  })

  it('a subscriber that comes after the sink was made hears it; one that leaves hears no more', LIMIT, async (t) => {
    const r = await rig(t)
    const sink = r.sink(FAST)
    const heard: unknown[] = []
    const onMessage = (m: unknown): void => { heard.push(m) }
    diagnostics.subscribe(SINK_CHANNELS.response, onMessage)
    await new Promise<void>((resolve, reject) => sink.write({ id: 1 }, (err) => err == null ? resolve() : reject(err)))
    await sink.flush()
    assert.equal(heard.length, 1)
    diagnostics.unsubscribe(SINK_CHANNELS.response, onMessage)
    sink.write({ id: 2 })
    await sink.close()
    assert.equal(heard.length, 1)
    assert.equal(r.receiver.deliveredCount, 2)
  })

  it('createHttpTransform publishes on the same channels', LIMIT, async (t) => {
    const r = await rig(t)
    const heard = listen(t)
    const transform = createHttpTransform({ url: `${r.receiver.url}/lookup`, ...FAST })
    const results: unknown[] = []
    transform.on('data', (d) => results.push(d))
    transform.end({ id: 1 })
    await new Promise((resolve) => transform.on('end', resolve))
    assert.deepEqual(heard.map((h) => [h.channel, h.message.path, h.message.status ?? null]), [['request', '/lookup', null], ['response', '/lookup', 200]])
    assert.equal(results.length, 1)
  })
})
