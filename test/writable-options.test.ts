/**
 * createHttpWritable validates its options once, at construction: a bad option throws at once an
 * ERR_INVALID_OPTION error whose message names the field and the bad value.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createHttpWritable } from '../lib/index.js'
import { HttpStreamError } from '../lib/errors.js'
import { LIMIT, settled } from './helpers/writable-harness.js'

const URL_OK = 'http://127.0.0.1:9/in'

const BAD: Array<{ name: string, options: Record<string, unknown>, field: string, value: string }> = [
  { name: 'numWriters: 0', options: { url: URL_OK, numWriters: 0 }, field: 'numWriters', value: '0' },
  { name: 'a URL that does not parse', options: { url: 'http//nope' }, field: 'url', value: 'http//nope' },
  { name: 'an unknown method', options: { url: URL_OK, method: 'FETCH' }, field: 'method', value: 'FETCH' },
  { name: 'a negative timeout', options: { url: URL_OK, timeout: -5 }, field: 'timeout', value: '-5' },
  { name: 'an unknown key', options: { url: URL_OK, bogusOption: 4 }, field: 'bogusOption', value: 'bogusOption' },
  { name: 'queueCapacity: 0', options: { url: URL_OK, queueCapacity: 0 }, field: 'queueCapacity', value: '0' },
  { name: 'an unknown transport', options: { url: URL_OK, transport: 'curl' }, field: 'transport', value: 'curl' },
  { name: 'an unknown encoding', options: { url: URL_OK, encoding: 'xml' }, field: 'encoding', value: 'xml' },
  { name: 'batch.maxBytes: -1', options: { url: URL_OK, encoding: 'ndjson', batch: { maxBytes: -1 } }, field: 'batch', value: '-1' }
]

describe('createHttpWritable option validation', () => {
  for (const bad of BAD) {
    it(`throws ERR_INVALID_OPTION at construction for ${bad.name}`, LIMIT, () => {
      assert.throws(() => createHttpWritable(bad.options as Parameters<typeof createHttpWritable>[0]), (err: unknown) => {
        assert.ok(err instanceof HttpStreamError, `not an HttpStreamError: ${String(err)}`)
        assert.equal(err.code, 'ERR_INVALID_OPTION')
        assert.ok(err.message.includes(bad.field), `message does not name ${bad.field}: ${err.message}`)
        assert.ok(err.message.includes(bad.value), `message does not show ${bad.value}: ${err.message}`)
        return true
      })
    })
  }

  it('accepts valid options without sending anything', LIMIT, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hsc-options-'))
    t.after(async () => await rm(dir, { recursive: true, force: true }))
    const sink = createHttpWritable({ url: URL_OK, method: 'put', numWriters: 1, queueCapacity: 1, timeout: 1, retries: 0, failover: `file:${join(dir, 'f')}`, transport: 'got' })
    sink.end()
    assert.equal(await settled(sink), undefined)
    assert.deepEqual(sink.stats(), { written: 0, delivered: 0, retried: 0, failedOver: 0, inFlight: 0, queued: 0 })
  })
})
