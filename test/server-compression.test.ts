/**
 * The stream server reads Content-Encoding request bodies (gzip, deflate, br; zstd where Node has
 * it) on every surface, caps the decompressed size by maxBodyBytes (a zip bomb is a 413, the
 * server keeps serving), answers 415 to an encoding it does not know and 400 to a corrupt body.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import zlib from 'node:zlib'
import { FORM, NDJSON, V2_JSON, call, consumer, drain, startServer } from './helpers/server-fixture.js'

const z = zlib as unknown as Record<string, ((b: Buffer) => Buffer) | undefined>
const COMPRESSORS: Record<string, (b: Buffer) => Buffer> = {
  gzip: zlib.gzipSync,
  deflate: zlib.deflateSync,
  br: zlib.brotliCompressSync,
  ...(typeof z.zstdCompressSync === 'function' ? { zstd: z.zstdCompressSync } : {})
}

describe('stream server: compressed request bodies', () => {
  for (const [name, compress] of Object.entries(COMPRESSORS)) {
    it(`produces a ${name} body (JSON and NDJSON) with the records as sent`, async (t) => {
      const server = await startServer(t)
      const values = Array.from({ length: 300 }, (_, i) => ({ i, text: 'x'.repeat(i % 50) }))
      const json = Buffer.from(JSON.stringify({ records: values.slice(0, 150).map((value) => ({ value })) }))
      const ndjson = Buffer.from(values.slice(150).map((v) => JSON.stringify(v)).join('\n') + '\n')
      const a = await call(server.url, 'POST', `/topics/c-${name}`, { body: compress(json), type: V2_JSON, headers: { 'content-encoding': name } })
      const b = await call(server.url, 'POST', `/topics/c-${name}`, { body: compress(ndjson), type: NDJSON, headers: { 'content-encoding': name.toUpperCase() } })
      assert.equal(a.status, 200, a.text)
      assert.equal(b.status, 200, b.text)
      const got = await drain(server.url, await consumer(server.url, 'g', 'c', [`c-${name}`]), 300)
      t.diagnostic(`${name}: ${json.length + ndjson.length} bytes sent as ${compress(json).length + compress(ndjson).length}; ${got.length} records read back`)
      assert.deepEqual(got.map((r) => r.value), values)
    })
  }

  it('refuses a zip bomb with 413 after maxBodyBytes of output, and keeps serving', async (t) => {
    const server = await startServer(t, { maxBodyBytes: 64 * 1024 })
    const bombs = { gzip: zlib.gzipSync(Buffer.alloc(32 * 1024 * 1024, 0x20), { level: 9 }), br: zlib.brotliCompressSync(Buffer.alloc(32 * 1024 * 1024, 0x20)), ...(COMPRESSORS.zstd === undefined ? {} : { zstd: COMPRESSORS.zstd(Buffer.alloc(32 * 1024 * 1024, 0x20)) }) }
    for (const [name, bomb] of Object.entries(bombs)) {
      t.diagnostic(`${name} bomb: ${bomb.length} bytes inflating to 32 MiB, limit 64 KiB`)
      assert.ok(bomb.length < 64 * 1024)
      const before = process.memoryUsage().rss
      const answer = await call(server.url, 'POST', '/topics/bomb', { body: bomb, type: NDJSON, headers: { 'content-encoding': name } })
      assert.equal(answer.status, 413, answer.text)
      assert.match(answer.text, /decompressed larger than 65536 bytes/)
      t.diagnostic(`rss grew by ${Math.round((process.memoryUsage().rss - before) / 1024)} KiB`)
    }
    const ok = await call(server.url, 'POST', '/topics/bomb', { body: zlib.gzipSync('{"value":1}\n'), type: NDJSON, headers: { 'content-encoding': 'gzip' } })
    assert.equal(ok.status, 200, ok.text)
  })

  it('answers 415 to an unknown Content-Encoding and 400 to a corrupt body', async (t) => {
    const server = await startServer(t)
    for (const encoding of ['lz4', 'gzip, br', 'compress']) {
      const answer = await call(server.url, 'POST', '/topics/t', { body: '{"records":[{"value":1}]}', headers: { 'content-encoding': encoding } })
      assert.equal(answer.status, 415, `${encoding}: ${answer.text}`)
      assert.match(answer.json.message, /unsupported Content-Encoding/)
      assert.match(String(answer.headers['accept-encoding']), /gzip, deflate, br/)
    }
    const corrupt = await call(server.url, 'POST', '/topics/t', { body: Buffer.from('not gzip at all'), headers: { 'content-encoding': 'gzip' } })
    assert.equal(corrupt.status, 400, corrupt.text)
    const identity = await call(server.url, 'POST', '/topics/t', { body: '{"records":[{"value":1}]}', headers: { 'content-encoding': 'identity' } })
    assert.equal(identity.status, 200, identity.text)
  })

  it('reads a gzip InLong form body', async (t) => {
    const server = await startServer(t)
    const form = new URLSearchParams({ groupId: 'g', streamId: 's', dt: String(Date.now()), body: 'hello|world' }).toString()
    const answer = await call(server.url, 'POST', '/dataproxy/message', { body: zlib.gzipSync(form), type: FORM, headers: { 'content-encoding': 'gzip' } })
    assert.equal(answer.status, 200, answer.text)
    assert.equal(String(answer.json.code), '0', answer.text)
  })
})
