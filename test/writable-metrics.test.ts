/**
 * sink.metrics() and its Prometheus views: counts agree with stats() and with what the receiver saw
 * over a mixed run (1,000 records, some 503-then-ok, some 400, on both transports); network errors
 * count as class `error`; batches count requests, not records; the snapshot is plain JSON; the
 * transform has metrics() too; registerSinkMetrics on a real prom-client Registry renders the same
 * text as renderPrometheus, in both of its content types; the package loads and renders without
 * prom-client installed.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { createHttpTransform, registerSinkMetrics, renderPrometheus, type SinkMetrics } from '../lib/index.js'
import { DURATION_BUCKETS } from '../lib/sink/sink-metrics.js'
import { REPO_ROOT } from './helpers/cli-child.js'
import { firstRecord, type ReceivedRequest, type Reply } from './helpers/receiver.js'
import { account, deliver, FAST, feed, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'

const N = 1000
const isPoison = (id: number): boolean => id % 50 === 7
const failsFirst = (id: number): boolean => id % 10 === 3
const POISON = Array.from({ length: N }, (_, id) => id).filter(isPoison).length
const FLAKY = Array.from({ length: N }, (_, id) => id).filter(failsFirst).length

/** 400 for poison records (unless `poison: false`); the first attempt of a flaky record gets `first`, later ones 200. */
function mixedPlan (first: Reply = { status: 503 }, { poison = true } = {}): (req: ReceivedRequest) => Reply | undefined {
  const seen = new Set<number>()
  return (req) => {
    const id = firstRecord(req)?.id
    if (typeof id !== 'number') return undefined
    if (poison && isPoison(id)) return { status: 400 }
    if (!failsFirst(id) || seen.has(id)) return undefined
    seen.add(id)
    return first
  }
}

/** The histogram is cumulative, ends at most at count, and its buckets are the fixed ones. */
function assertHistogram (m: SinkMetrics, count: number): void {
  const h = m.requestDurationSeconds
  assert.equal(h.count, count)
  assert.deepEqual(h.buckets.map((b) => b.le), DURATION_BUCKETS)
  for (let i = 1; i < h.buckets.length; i++) assert.ok(h.buckets[i]!.count >= h.buckets[i - 1]!.count, 'cumulative')
  assert.ok(h.buckets[h.buckets.length - 1]!.count <= count)
  assert.ok(h.sum > 0)
}

/** `name{labels} value` lines of a Prometheus text, as a map. */
function samples (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

for (const transport of TRANSPORTS) {
  describe(`sink.metrics() (${transport})`, () => {
    it(`a mixed run of ${N} records: metrics() agrees with stats() and the receiver`, LIMIT, async (t) => {
      const r = await rig(t, { plan: mixedPlan() })
      const { sink, report } = await deliver(t, r, { transport, numWriters: 16, ...FAST }, records(N))
      const m = sink.metrics()
      const s = sink.stats()
      assert.deepEqual(m.records, { written: s.written, delivered: s.delivered, retried: s.retried, failedOver: s.failedOver, inFlight: 0, inside: 0 })
      assert.deepEqual(m.records, { written: N, delivered: N - POISON, retried: FLAKY, failedOver: POISON, inFlight: 0, inside: 0 })
      assert.deepEqual(m.requests, { sent: N + FLAKY, inFlight: 0, byClass: { '2xx': N - POISON, '3xx': 0, '4xx': POISON, '5xx': FLAKY, error: 0 } })
      assert.equal(m.requests.sent, r.receiver.requests.length, 'one count per request the receiver saw')
      assertHistogram(m, N + FLAKY)
      assert.deepEqual(JSON.parse(JSON.stringify(m)), m, 'plain JSON')
      assert.equal(report.lost, 0)
      t.diagnostic(`metrics ${JSON.stringify({ records: m.records, requests: m.requests, seconds: m.requestDurationSeconds.sum.toFixed(3) })}`)
    })

    it('connection resets count as class error, and their retries as records retried', LIMIT, async (t) => {
      const r = await rig(t, { plan: mixedPlan({ reset: true }) })
      const { sink } = await deliver(t, r, { transport, numWriters: 8, ...FAST }, records(100))
      const m = sink.metrics()
      const flaky = 10
      assert.deepEqual(m.requests.byClass, { '2xx': 98, '3xx': 0, '4xx': 2, '5xx': 0, error: flaky })
      assert.equal(m.records.retried, sink.stats().retried)
      assert.equal(m.records.retried, flaky)
      assertHistogram(m, 100 + flaky)
    })
  })
}

describe('sink.metrics() shapes', () => {
  it('batches count requests, not records', LIMIT, async (t) => {
    const r = await rig(t)
    const { sink } = await deliver(t, r, { encoding: 'ndjson', batch: { maxRecords: 10, lingerMs: 1000 }, ...FAST }, records(100))
    const m = sink.metrics()
    assert.equal(m.records.delivered, 100)
    assert.deepEqual(m.requests, { sent: 10, inFlight: 0, byClass: { '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 0, error: 0 } })
    assert.equal(r.receiver.requests.length, 10)
  })

  it('in flight and inside while requests are held', LIMIT, async (t) => {
    let release = (): void => {}
    const held = new Promise<void>((resolve) => { release = resolve })
    const r = await rig(t, { plan: () => ({ status: 200, until: held }) })
    const sink = r.sink({ numWriters: 4, ...FAST })
    for (const record of records(10)) sink.write(record)
    await r.receiver.waitFor(() => r.receiver.requests.length === 4)
    const m = sink.metrics()
    assert.equal(m.requests.inFlight, 4)
    assert.equal(m.records.inFlight, 4)
    assert.equal(m.records.inside, 10)
    assert.equal(m.requestDurationSeconds.count, 0)
    release()
    await sink.close()
    assert.deepEqual({ ...sink.metrics().records, ...sink.metrics().requests }, { written: 10, delivered: 10, retried: 0, failedOver: 0, inFlight: 0, inside: 0, sent: 10, byClass: { '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 0, error: 0 } })
  })

  it('createHttpTransform has metrics() too', LIMIT, async (t) => {
    const r = await rig(t, { plan: mixedPlan({ status: 503 }, { poison: false }) })
    const transform = createHttpTransform({ url: `${r.receiver.url}/lookup`, ...FAST })
    transform.resume()
    for (const record of records(20)) transform.write(record)
    transform.end()
    await once(transform, 'end')
    const m = transform.metrics()
    assert.deepEqual(m.requests.byClass, { '2xx': 20, '3xx': 0, '4xx': 0, '5xx': 2, error: 0 })
    assert.deepEqual(m.records, { written: 20, delivered: 20, retried: 2, failedOver: 0, inFlight: 0, inside: 0 })
  })
})

describe('registerSinkMetrics on a prom-client Registry', () => {
  it('the registry text has the counters with the right values, as renderPrometheus renders them', LIMIT, async (t) => {
    const r = await rig(t, { plan: mixedPlan() })
    const registry = new Registry()
    const sink = r.sink({ numWriters: 16, ...FAST })
    const unregister = registerSinkMetrics(registry, sink, { labels: { sink: 'orders' } })
    const before = samples(await registry.metrics())
    assert.equal(before.get('http_stream_sink_records_written_total{sink="orders"}'), 0)
    const report = await account(t, r, await feed(sink, records(N)))
    assert.equal(report.lost, 0)
    const text = await registry.metrics()
    const got = samples(text)
    const want: Record<string, number> = {
      'http_stream_sink_records_written_total{sink="orders"}': N,
      'http_stream_sink_records_delivered_total{sink="orders"}': N - POISON,
      'http_stream_sink_records_retried_total{sink="orders"}': FLAKY,
      'http_stream_sink_records_failed_over_total{sink="orders"}': POISON,
      'http_stream_sink_records_in_flight{sink="orders"}': 0,
      'http_stream_sink_records_inside{sink="orders"}': 0,
      'http_stream_sink_requests_total{sink="orders",class="2xx"}': N - POISON,
      'http_stream_sink_requests_total{sink="orders",class="4xx"}': POISON,
      'http_stream_sink_requests_total{sink="orders",class="5xx"}': FLAKY,
      'http_stream_sink_requests_total{sink="orders",class="error"}': 0,
      'http_stream_sink_requests_in_flight{sink="orders"}': 0,
      'http_stream_sink_request_duration_seconds_bucket{sink="orders",le="+Inf"}': N + FLAKY,
      'http_stream_sink_request_duration_seconds_count{sink="orders"}': N + FLAKY
    }
    for (const [key, value] of Object.entries(want)) assert.equal(got.get(key), value, key)
    assert.match(text, /^# TYPE http_stream_sink_request_duration_seconds histogram$/m)
    assert.match(text, /^# TYPE http_stream_sink_requests_total counter$/m)
    assert.match(text, /^http_stream_sink_request_duration_seconds_bucket\{sink="orders",le="0.005"\} \d+$/m)
    // Both views say the same, line for line (prom-client puts a blank line between families).
    assert.equal(text.replace(/\n\n/g, '\n'), renderPrometheus(sink.metrics(), { labels: { sink: 'orders' } }))
    const json = await registry.getMetricsAsJSON()
    assert.equal(json.length, 9)
    t.diagnostic(`registry text: ${text.split('\n').length} lines, ${got.size} samples`)
    unregister()
    assert.equal(await registry.metrics(), '\n')
  })

  it('a second sink needs its own prefix; OpenMetrics output names counters once with _total', LIMIT, async (t) => {
    const r = await rig(t)
    const a = r.sink(FAST)
    const b = r.sink(FAST)
    const registry = new Registry()
    registerSinkMetrics(registry, a)
    assert.throws(() => registerSinkMetrics(registry, b), /already been registered/)
    assert.equal(registry.getMetricsAsArray().length, 9, "the failed registration left nothing of b's")
    registerSinkMetrics(registry, b, { prefix: 'orders_sink_' })
    assert.equal(registry.getMetricsAsArray().length, 18)
    a.write({ id: 1 })
    await a.close()
    await b.close()
    const open = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>()
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    registerSinkMetrics(open, a)
    const text = await open.metrics()
    assert.match(text, /^http_stream_sink_records_delivered_total 1$/m)
    assert.match(text, /^# TYPE http_stream_sink_records_delivered counter$/m)
    assert.doesNotMatch(text, /_total_total/)
    assert.match(text, /# EOF\n$/)
  })

  it('bad options name the field', () => {
    const registry = new Registry()
    const sink = { metrics: () => { throw new Error('not called') } }
    assert.throws(() => registerSinkMetrics(registry, sink, { prefix: '1bad' }), { code: 'ERR_INVALID_OPTION', message: /options\.prefix: must be a Prometheus metric name prefix/ })
    assert.throws(() => registerSinkMetrics(registry, sink, { labels: { le: 'x' } }), { code: 'ERR_INVALID_OPTION', message: /options\.labels\.le/ })
    assert.throws(() => registerSinkMetrics(registry, sink, { nope: 1 } as never), { code: 'ERR_INVALID_OPTION', message: /options\.nope: unknown option/ })
    assert.throws(() => registerSinkMetrics({} as never, sink), { code: 'ERR_INVALID_OPTION', message: /registry/ })
  })
})

describe('without prom-client', () => {
  it('the package loads, and renders metrics, when prom-client cannot be resolved', LIMIT, async () => {
    // A resolve hook that makes prom-client missing, as in an install without the optional peer.
    const hook = 'data:text/javascript,' + encodeURIComponent('export async function resolve (s, c, next) { if (s === "prom-client" || s.startsWith("prom-client/")) { const e = new Error("Cannot find package prom-client"); e.code = "ERR_MODULE_NOT_FOUND"; throw e } return next(s, c) }')
    const script = `
      import { register } from 'node:module'
      register(${JSON.stringify(hook)})
      await import('prom-client').then(() => { throw new Error('prom-client still resolves') }, () => {})
      const api = await import('./lib/index.ts')
      const sink = api.createHttpWritable({ url: 'http://127.0.0.1:9/', failover: false })
      const text = api.renderPrometheus(sink.metrics())
      sink.destroy()
      if (!text.includes('http_stream_sink_records_written_total 0')) throw new Error(text)
      console.log('ok')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: 'pipe' })
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { out += c.toString() })
    const [code] = await once(child, 'exit')
    assert.equal(code, 0, out)
    assert.match(out, /^ok$/m)
  })
})
