/**
 * The envelope keeps the cause: `error` is the last attempt's error and, when the first attempt
 * failed otherwise, ` (first: …)`, at most 1000 characters. Against real sockets: an unresolvable
 * host (`.invalid` never resolves), a refused port, a refused port that comes up answering 503,
 * and a 503 followed by answers that never come (timeouts); failover to a real FileStore read back
 * with FileStore.read. With `failover: false`, ERR_DELIVERY_FAILED counts the records it carries
 * and keeps the cause. Both transports.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { envelopeError } from '../lib/sink/delivery-engine.js'
import { feed, LIMIT, records, rig, TRANSPORTS } from './helpers/writable-harness.js'
import type { FeedResult, Rig } from './helpers/writable-harness.js'
import { storedEnvelopes } from './helpers/cli-child.js'
import type { FailoverEnvelope } from '../lib/stores/store.js'

const BACKOFF = { backoff: { base: 5, max: 20 } } as const
const UNRESOLVABLE = 'http://nonexistent.invalid:9/in'
/** What a resolver says of `.invalid`: no such name, or no resolver at all in a sandbox. */
const NOT_RESOLVED = /ENOTFOUND|EAI_AGAIN/

/** Stored envelopes, checked to hold every record written once, and reported. */
async function storedAll (t: { diagnostic: (m: string) => void }, r: Rig, fed: FeedResult, label: string): Promise<FailoverEnvelope[]> {
  assert.equal(fed.error, undefined, `the sink did not error (got ${String(fed.error)})`)
  const stored = await storedEnvelopes(r.dir)
  const ids = stored.map((e) => (e.record as { id: number }).id)
  const lost = fed.written.filter((rec) => !ids.includes((rec as { id: number }).id)).length
  const duplicated = ids.length - new Set(ids).size
  const withFirst = stored.filter((e) => e.error?.includes(' (first: ') === true).length
  t.diagnostic(`${label}: written ${fed.written.length}, delivered ${r.receiver.deliveredCount}, stored ${stored.length}, lost ${lost}, duplicated ${duplicated}; envelopes naming a different first error ${withFirst}; e.g. ${JSON.stringify(stored[0]?.error)}`)
  assert.equal(lost, 0, 'nothing lost')
  assert.ok(stored.every((e) => (e.error ?? '').length <= 1000), 'errors are bounded')
  return stored
}

/** `last (first: first)` split in two; `first` undefined when the envelope names one error. */
function parts (error: string | null): { last: string, first: string | undefined } {
  const m = /^(.*) \(first: (.*)\)$/s.exec(error ?? '')
  return m === null ? { last: error ?? '', first: undefined } : { last: m[1]!, first: m[2]! }
}

for (const transport of TRANSPORTS) {
  describe(`failover envelopes keep the first error (${transport})`, () => {
    it('100 records to an unresolvable host: each envelope names its last error and, when it differed, its first', { timeout: 60_000 }, async (t) => {
      const r = await rig(t)
      // All at once with a short timeout, as a busy resolver sees it: some lookups answer ENOTFOUND
      // at once, some are dropped and time out. Each record's first error comes from its 'retry' event.
      const sink = r.sink({ transport, url: UNRESOLVABLE, retries: 2, timeout: 1000, numWriters: 100, ...BACKOFF })
      const firstErrors = new Map<number, string | null>()
      sink.on('retry', (event: { records: Array<{ id: number }>, attempt: number, error: string | null }) => {
        if (event.attempt === 2) for (const rec of event.records) firstErrors.set(rec.id, event.error)
      })
      const stored = await storedAll(t, r, await feed(sink, records(100)), `unresolvable (${transport})`)
      assert.equal(stored.length, 100)
      let unresolved = 0
      let causeBehindTimeout = 0
      for (const e of stored) {
        const first = firstErrors.get((e.record as { id: number }).id)
        const { first: named, last } = parts(e.error)
        assert.equal(e.attempts, 3)
        assert.match(first ?? '', new RegExp(`${NOT_RESOLVED.source}|ERR_REQUEST_TIMEOUT`), `the first attempt failed on the name or timed out: ${String(first)}`)
        assert.equal(named ?? last, first, `the first error is named: ${String(e.error)}`)
        assert.notEqual(named, last, 'an error is not repeated')
        if (NOT_RESOLVED.test(first ?? '')) unresolved++
        if (named !== undefined && NOT_RESOLVED.test(named) && !NOT_RESOLVED.test(last)) causeBehindTimeout++
      }
      t.diagnostic(`unresolvable (${transport}): first attempts that said ${NOT_RESOLVED.source}: ${unresolved}/100; envelopes whose last error hides it but which still name it as first: ${causeBehindTimeout}`)
    })

    it('a refused port: the envelope names ECONNREFUSED once', LIMIT, async (t) => {
      const r = await rig(t)
      await r.receiver.down()
      const sink = r.sink({ transport, retries: 2, timeout: 5000, ...BACKOFF })
      const stored = await storedAll(t, r, await feed(sink, records(20)), `refused (${transport})`)
      assert.equal(stored.length, 20)
      for (const e of stored) {
        assert.equal(e.attempts, 3)
        assert.match(e.error ?? '', /ECONNREFUSED/)
        assert.equal(parts(e.error).first, undefined, 'the same error is not repeated')
      }
    })

    it('a refused port that comes up answering 503: the envelope says 503, first ECONNREFUSED', LIMIT, async (t) => {
      const r = await rig(t, { plan: () => ({ status: 503, body: '{"why":"warming up"}' }) })
      await r.receiver.down()
      const n = 20
      // Many short retries, so every record still has attempts left once the port is open.
      const sink = r.sink({ transport, retries: 40, timeout: 5000, numWriters: 4, backoff: { base: 20, max: 20 } })
      const firstFailed = new Set<number>()
      sink.on('retry', (event: { records: Array<{ id: number }>, attempt: number }) => {
        if (event.attempt !== 2) return
        for (const rec of event.records) firstFailed.add(rec.id)
        if (firstFailed.size === n) void r.receiver.up()
      })
      const stored = await storedAll(t, r, await feed(sink, records(n)), `refused then 503 (${transport})`)
      assert.equal(stored.length, n)
      for (const e of stored) {
        const { first, last } = parts(e.error)
        assert.equal(e.status, 503)
        assert.match(last, /^unexpected status 503: \{"why":"warming up"\}$/)
        assert.match(first ?? '', /ECONNREFUSED/, `the first error is kept: ${String(e.error)}`)
      }
    })

    it('a 503, then answers that never come: the envelope says timeout, first 503', LIMIT, async (t) => {
      const seen = new Set<string>()
      const r = await rig(t, {
        plan: (req) => {
          if (seen.has(req.body)) return { hang: true }
          seen.add(req.body)
          return { status: 503, body: '{"why":"database down"}' }
        }
      })
      const sink = r.sink({ transport, retries: 2, timeout: 300, numWriters: 10, ...BACKOFF })
      const stored = await storedAll(t, r, await feed(sink, records(10)), `503 then timeouts (${transport})`)
      assert.equal(stored.length, 10)
      for (const e of stored) {
        const { first, last } = parts(e.error)
        assert.equal(e.attempts, 3)
        assert.equal(e.status, null, 'the last attempt got no answer')
        assert.match(last, /ERR_REQUEST_TIMEOUT/)
        assert.equal(first, 'unexpected status 503: {"why":"database down"}')
      }
    })

    it('failover: false: ERR_DELIVERY_FAILED counts the records it carries and keeps the cause', LIMIT, async (t) => {
      const r = await rig(t)
      await r.receiver.down()
      const sink = r.sink({ transport, failover: false, retries: 1, timeout: 5000, numWriters: 4, ...BACKOFF })
      const fed = await feed(sink, records(100))
      const err = fed.error as (Error & { code?: string, records?: unknown[], cause?: unknown }) | undefined
      assert.equal(err?.code, 'ERR_DELIVERY_FAILED', `got ${String(err)}`)
      const carried = err.records?.length ?? 0
      const ids = new Set((err.records ?? []).map((rec) => (rec as { id: number }).id))
      const lost = fed.written.filter((rec) => !ids.has((rec as { id: number }).id) && !fed.rejected.includes(rec)).length
      t.diagnostic(`failover false (${transport}): written ${fed.written.length}, in err.records ${carried}, refused to the writer ${fed.rejected.length}, lost ${lost}; message ${JSON.stringify(err.message)}`)
      assert.equal(lost, 0, 'nothing lost')
      assert.ok(carried > 1, 'several records were inside when it failed')
      assert.match(err.message, new RegExp(`^${carried} record\\(s\\) not delivered: `))
      assert.match(err.message, /after 2 attempt\(s\): .*ECONNREFUSED/)
      assert.equal((err.cause as { code?: string } | undefined)?.code, 'ECONNREFUSED', `err.cause is the connection error (got ${String(err.cause)})`)
    })
  })
}

describe('envelopeError', () => {
  it('is the last error, with the first appended when it differs, at most 1000 characters', () => {
    assert.equal(envelopeError(null, null), null)
    assert.equal(envelopeError('a', 'a'), 'a')
    assert.equal(envelopeError('getaddrinfo ENOTFOUND x', 'ERR_REQUEST_TIMEOUT: no complete response within 300 ms'),
      'ERR_REQUEST_TIMEOUT: no complete response within 300 ms (first: getaddrinfo ENOTFOUND x)')
    const long = envelopeError('f'.repeat(5000), 'l'.repeat(5000))!
    assert.ok(long.length <= 1000, `${long.length} characters`)
    assert.match(long, /^l+\.\.\. \(first: f+\.\.\.\)$/)
    assert.ok(envelopeError('x'.repeat(5000), 'x'.repeat(5000))!.length <= 1000)
    assert.equal(envelopeError('line one\n  line two', 'last'), 'last (first: line one line two)')
  })
})
