/**
 * createHttpWritable against slow and hostile peers on raw sockets: a body that trickles in one
 * byte at a time (cut by `timeout`, which bounds the whole attempt), bytes written past the body
 * (a wrong Content-Length, garbage after the last chunk: the accepted record is delivered, never
 * also failed over), and 300 MB answers (read with a small, bounded memory). Every record written is
 * acknowledged by the peer or in the file store, none both. Runs against both transports.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import type { HttpWritableOptions } from '../lib/index.js'
import { createHttpWritable } from '../lib/index.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'
import { answer, chunkedAnswer, huge, startHostilePeer, trickle, type AnswerPlan, type HostilePeer } from './helpers/hostile-peer.js'
import { assertNothingLost, readFailoverDir, type LedgerReport } from './helpers/ledger.js'
import { feed, records, settled, TRANSPORTS, type FeedResult, type Sink } from './helpers/writable-harness.js'

const LIMIT = { timeout: 30_000 } as const
const BACKOFF = { base: 5, max: 20 } as const
const MB = 1024 * 1024

interface Hostile {
  peer: HostilePeer
  envelopes: () => FailoverEnvelope[]
  sink: (options: HttpWritableOptions) => Sink
  /** Every record written is acknowledged by the peer or stored, and none both. */
  account: (fed: FeedResult) => LedgerReport
}

async function hostile (t: TestContext, plan: AnswerPlan): Promise<Hostile> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-slow-peers-'))
  const peer = await startHostilePeer(plan)
  const dir = join(root, 'failover')
  const sinks: Sink[] = []
  t.after(async () => {
    for (const sink of sinks) sink.destroy()
    await Promise.all(sinks.map(settled))
    await peer.close()
    await rm(root, { recursive: true, force: true })
  })
  return {
    peer,
    envelopes: () => readFailoverDir(dir),
    sink: (options) => {
      const sink = createHttpWritable({ url: `${peer.url}/in`, failover: `file:${dir}`, ...options })
      sinks.push(sink)
      return sink
    },
    account: (fed) => {
      assert.equal(fed.error, undefined)
      const report = assertNothingLost({ written: fed.written, delivered: peer.acknowledged, stored: readFailoverDir(dir).map((e) => e.record) })
      t.diagnostic(`written ${report.written} / delivered ${report.delivered} / stored ${report.stored} / lost ${report.lost} / duplicated ${report.duplicates} / both delivered and stored ${report.deliveredAndStored}`)
      assert.equal(report.deliveredAndStored, 0, 'a record both acknowledged by the peer and stored')
      return report
    }
  }
}

/** Samples the process's resident set size until stopped; returns the peak seen. */
function sampleRss (): { stop: () => number } {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 5)
  return { stop: () => { clearInterval(timer); return Math.max(peak, process.memoryUsage().rss) } }
}

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable slow and hostile peers (${transport})`, () => {
    it('cuts a body that trickles in at `timeout` (ERR_REQUEST_TIMEOUT), retries, then stores; flush() and finish settle', LIMIT, async (t) => {
      const h = await hostile(t, () => trickle(200, 250))
      const sink = h.sink({ transport, timeout: 1500, retries: 1, numWriters: 8, backoff: BACKOFF })
      const written = await feed(sink, records(8), { end: false })
      await sink.flush()
      assert.equal(h.envelopes().length, 8, 'every record is durably stored when flush() resolves')
      const fed = await feed(sink, [])
      const report = h.account({ ...fed, written: written.written })
      assert.equal(report.stored, 8)
      assert.equal(h.peer.requests.length, 16, 'two attempts per record')
      for (const e of h.envelopes()) {
        assert.deepEqual({ attempts: e.attempts, status: e.status }, { attempts: 2, status: null })
        assert.match(e.error ?? '', /ERR_REQUEST_TIMEOUT/)
      }
      assert.deepEqual(sink.stats(), { written: 8, delivered: 0, retried: 8, failedOver: 8, inFlight: 0, queued: 0 })
      t.diagnostic(`${h.peer.bodyBytesWritten} body bytes trickled over ${h.peer.requests.length} attempts`)
    })

    it('delivers a record whose first answer trickles and whose retry answers whole', LIMIT, async (t) => {
      const h = await hostile(t, (req) => req.attempt === 1 ? trickle(200, 250) : answer(req, 200))
      const sink = h.sink({ transport, timeout: 1500, retries: 2, numWriters: 8, backoff: BACKOFF })
      const report = h.account(await feed(sink, records(8)))
      assert.equal(report.stored, 0)
      assert.equal(report.delivered, 8)
      assert.deepEqual(sink.stats(), { written: 8, delivered: 8, retried: 8, failedOver: 0, inFlight: 0, queued: 0 })
    })

    const trailing = {
      'Content-Length: 2 and 10 bytes written': (req: Parameters<AnswerPlan>[0]) => answer(req, 200, 'ok', 'GARBAGE!'),
      'garbage after the chunked terminator': (req: Parameters<AnswerPlan>[0]) => chunkedAnswer(req, 200, '{"ok":true}', 'GARBAGE!')
    }
    for (const [name, plan] of Object.entries(trailing)) {
      it(`counts an accepted record once when bytes follow its body (${name})`, LIMIT, async (t) => {
        const h = await hostile(t, plan)
        const sink = h.sink({ transport, timeout: 5000, retries: 2, numWriters: 4, backoff: BACKOFF })
        const fed = await feed(sink, records(40))
        const report = h.account(fed)
        const stats = sink.stats()
        t.diagnostic(`stats ${JSON.stringify(stats)}`)
        assert.equal(stats.delivered + stats.failedOver, fed.written.length, 'delivered + failedOver == written')
        assert.equal(report.stored, 0, 'a complete 2xx answer is a delivery, whatever follows it')
        assert.equal(stats.delivered, 40)
      })
    }

    it('reads four 300 MB answers with a small, bounded memory and keeps only the head of each', { timeout: 240_000 }, async (t) => {
      const size = 300 * MB
      const h = await hostile(t, (req) => req.attempt === 1 ? huge(req, 503, size) : answer(req, 200))
      const sink = h.sink({ transport, timeout: 200_000, retries: 1, numWriters: 4, backoff: BACKOFF })
      const retries: Array<{ error: string | null }> = []
      sink.on('retry', (event: { error: string | null }) => retries.push(event))
      const baseline = process.memoryUsage().rss
      const rss = sampleRss()
      const fed = await feed(sink, records(4))
      const peak = rss.stop()
      const report = h.account(fed)
      const growth = peak - baseline
      t.diagnostic(`${(h.peer.bodyBytesWritten / MB).toFixed(0)} MB of bodies read; RSS baseline ${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB, growth ${(growth / MB).toFixed(0)} MB`)
      assert.ok(h.peer.bodyBytesWritten >= 4 * size, 'the four bodies went out whole')
      assert.equal(report.delivered, 4)
      assert.equal(retries.length, 4)
      for (const r of retries) assert.match(r.error ?? '', /503.*x{100}/, 'the error text carries the head of the body')
      assert.ok(growth < 256 * MB, `RSS grew by ${(growth / MB).toFixed(0)} MB reading ${4 * size / MB} MB of bodies`)
    })
  })
}
