/**
 * `compression`: request bodies of at least `minBytes` go out compressed with Content-Encoding
 * (gzip, deflate, br; zstd where Node has it), smaller ones as they are; `batch.maxBytes` counts
 * bytes before compression; a retry resends the body compressed once; the stream server reads
 * them end to end. The receiver here decompresses with node:zlib itself. Both transports.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import zlib from 'node:zlib'
import { createHttpWritable } from '../lib/index.js'
import { hasZstd } from '../lib/transports/compress-options.js'
import { assertNothingLost, readFailoverDir } from './helpers/ledger.js'
import { recordKey } from './helpers/receiver.js'
import { FAST, LIMIT, TRANSPORTS, feed, records } from './helpers/writable-harness.js'
import { consumer, drain, startServer } from './helpers/server-fixture.js'

const z = zlib as unknown as Record<string, (b: Buffer) => Buffer>
const INFLATE: Record<string, (b: Buffer) => Buffer> = {
  gzip: zlib.gunzipSync,
  deflate: zlib.inflateSync,
  br: zlib.brotliDecompressSync,
  ...(hasZstd() ? { zstd: z.zstdDecompressSync! } : {})
}
const ALGORITHMS = Object.keys(INFLATE) as Array<'gzip' | 'deflate' | 'br' | 'zstd'>

interface Arrival { encoding: string | undefined, raw: Buffer, body: string, status: number }

/** A receiver that decompresses by Content-Encoding with node:zlib and tallies NDJSON/JSON records of 2xx answers. */
async function decompressingReceiver (t: TestContext, plan: (n: number) => number = () => 200): Promise<{ url: string, arrivals: Arrival[], delivered: Map<string, number> }> {
  const arrivals: Arrival[] = []
  const delivered = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const encoding = req.headers['content-encoding']
      const body = (encoding === undefined ? raw : INFLATE[encoding]!(raw)).toString('utf8')
      const status = plan(arrivals.length)
      arrivals.push({ encoding, raw, body, status })
      if (status < 300) {
        const parsed: unknown = body.trimStart().startsWith('[') ? JSON.parse(body) : body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
        for (const record of Array.isArray(parsed) ? parsed : [parsed]) delivered.set(recordKey(record), (delivered.get(recordKey(record)) ?? 0) + 1)
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`, arrivals, delivered }
}

async function failoverDir (t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'hsc-compress-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return join(root, 'failover')
}

const padded = (n: number): Array<{ id: number, text: string }> => records(n).map((r) => ({ id: r.id, text: `${r.tag}-${'abc'.repeat(r.id % 40)}` }))

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable compression (${transport})`, () => {
    for (const algorithm of ALGORITHMS) {
      it(`${algorithm}: batches arrive compressed, decompress to what was written, within maxBytes before compression`, LIMIT, async (t) => {
        const receiver = await decompressingReceiver(t)
        const dir = await failoverDir(t)
        const written = padded(1500)
        const maxBytes = 8192
        const sink = createHttpWritable({ url: receiver.url, transport, compression: algorithm, batch: { maxRecords: 200, maxBytes, lingerMs: 5 }, failover: `file:${dir}`, ...FAST })
        const fed = await feed(sink, written)
        assert.equal(fed.error, undefined)
        const report = assertNothingLost({ written: fed.written, delivered: receiver.delivered, stored: readFailoverDir(dir).map((e) => e.record) })
        assert.equal(report.delivered, 1500)
        assert.equal(report.duplicates, 0)
        const raw = receiver.arrivals.reduce((n, a) => n + a.raw.length, 0)
        const plain = receiver.arrivals.reduce((n, a) => n + Buffer.byteLength(a.body), 0)
        t.diagnostic(`${receiver.arrivals.length} requests, ${plain} bytes as ${raw} (${(raw / plain * 100).toFixed(1)}%); ledger ${JSON.stringify(report)}`)
        for (const a of receiver.arrivals) {
          const size = Buffer.byteLength(a.body)
          assert.ok(size <= maxBytes, `a body of ${size} bytes before compression`)
          assert.equal(a.encoding, size >= 1024 ? algorithm : undefined, `a body of ${size} bytes`)
          if (a.encoding !== undefined) assert.ok(a.raw.length < size, 'compressed is smaller')
        }
      })
    }

    it('sends bodies under minBytes as they are, and honours level and minBytes', LIMIT, async (t) => {
      const receiver = await decompressingReceiver(t)
      const dir = await failoverDir(t)
      const small = { id: 1, text: 'short' }
      const big = { id: 2, text: 'y'.repeat(300) }
      const sink = createHttpWritable({ url: receiver.url, transport, compression: { algorithm: 'gzip', level: 9, minBytes: 100 }, failover: `file:${dir}`, ...FAST })
      const fed = await feed(sink, [small, big])
      assert.equal(fed.error, undefined)
      const byId = new Map(receiver.arrivals.map((a) => [(JSON.parse(a.body) as { id: number }).id, a]))
      assert.equal(byId.get(1)?.encoding, undefined)
      assert.equal(byId.get(1)?.body, JSON.stringify(small))
      assert.equal(byId.get(2)?.encoding, 'gzip')
      assert.equal(byId.get(2)?.body, JSON.stringify(big))
    })

    it('compresses once per request: a retry resends the same compressed bytes', LIMIT, async (t) => {
      const receiver = await decompressingReceiver(t, (n) => n < 2 ? 503 : 200)
      const dir = await failoverDir(t)
      const calls = { gzip: 0 }
      const original = zlib.gzip
      // Counted on the module object the sink looks up at construction.
      ;(zlib as { gzip: unknown }).gzip = function (this: unknown, ...args: unknown[]) { calls.gzip++; return (original as (...a: unknown[]) => unknown).apply(this, args) }
      let sink
      try {
        sink = createHttpWritable({ url: receiver.url, transport, compression: 'gzip', batch: { maxRecords: 1000, lingerMs: 5 }, retries: 3, failover: `file:${dir}`, ...FAST })
      } finally {
        ;(zlib as { gzip: unknown }).gzip = original
      }
      const written = padded(300)
      const fed = await feed(sink, written)
      assert.equal(fed.error, undefined)
      t.diagnostic(`${receiver.arrivals.length} requests (${receiver.arrivals.map((a) => a.status).join(', ')}), gzip called ${calls.gzip} time(s)`)
      assert.equal(receiver.arrivals.length, 3)
      assert.equal(calls.gzip, 1)
      assert.ok(receiver.arrivals.every((a) => a.raw.equals(receiver.arrivals[0]!.raw)), 'every attempt sent the same bytes')
      const report = assertNothingLost({ written: fed.written, delivered: receiver.delivered, stored: readFailoverDir(dir).map((e) => e.record) })
      assert.equal(report.delivered, 300)
    })

    it('keeps the uncompressed records in failover envelopes', LIMIT, async (t) => {
      const receiver = await decompressingReceiver(t, () => 400)
      const dir = await failoverDir(t)
      const written = padded(200)
      const sink = createHttpWritable({ url: receiver.url, transport, compression: 'br', encoding: 'ndjson', batch: { maxRecords: 100, lingerMs: 5 }, onReject: 'failover', failover: `file:${dir}`, ...FAST })
      const fed = await feed(sink, written)
      assert.equal(fed.error, undefined)
      const envelopes = readFailoverDir(dir)
      const report = assertNothingLost({ written: fed.written, delivered: receiver.delivered, stored: envelopes.map((e) => e.record) })
      t.diagnostic(`ledger ${JSON.stringify(report)}`)
      assert.equal(report.stored, 200)
      assert.ok(envelopes.every((e) => e.status === 400))
    })

    it('delivers gzip batches to the stream server (kafka-rest), which decompresses them', LIMIT, async (t) => {
      const server = await startServer(t)
      const dir = await failoverDir(t)
      const written = padded(600)
      const sink = createHttpWritable({ url: `${server.url}/topics/zipped`, transport, encoding: 'kafka-rest', compression: 'gzip', batch: { maxRecords: 250, lingerMs: 5 }, failover: `file:${dir}`, ...FAST })
      const fed = await feed(sink, written)
      assert.equal(fed.error, undefined)
      const got = await drain(server.url, await consumer(server.url, 'g', 'c', ['zipped']), 600)
      const report = assertNothingLost({ written: fed.written, delivered: got.map((r) => r.value), stored: readFailoverDir(dir).map((e) => e.record) })
      t.diagnostic(`ledger ${JSON.stringify(report)}`)
      assert.equal(report.delivered, 600)
    })
  })
}

describe('createHttpWritable compression options', () => {
  it('refuses a bad algorithm, a level out of range, and zstd where Node lacks it', () => {
    const bad = (compression: unknown, field: string, message: RegExp): void => {
      assert.throws(() => createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, compression: compression as 'gzip' }), (err: Error & { code?: string, field?: string }) => {
        assert.equal(err.code, 'ERR_INVALID_OPTION')
        assert.equal(err.field, field)
        assert.match(err.message, message)
        return true
      })
    }
    bad('lz4', 'compression', /gzip deflate br zstd/)
    bad({ algorithm: 'lz4' }, 'compression.algorithm', /gzip deflate br zstd/)
    bad({ algorithm: 'gzip', level: 12 }, 'compression.level', /0 to 9/)
    bad({ algorithm: 'br', level: -1 }, 'compression.level', /0 to 11/)
    bad({ algorithm: 'gzip', minBytes: -1 }, 'compression.minBytes', />= 0/)
    if (hasZstd()) {
      createHttpWritable({ url: 'http://127.0.0.1:1/', failover: false, compression: 'zstd' }).destroy()
    } else {
      bad('zstd', 'compression', /zstd needs Node >= 22\.15/)
      bad({ algorithm: 'zstd', level: 3 }, 'compression', new RegExp(`this is Node ${process.versions.node.replace(/\./g, '\\.')}`))
    }
  })
})
