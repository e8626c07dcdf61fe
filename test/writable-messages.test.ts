/**
 * Messages that name the fix: an enum option lists its values, a nested unknown key says "unknown
 * option" with the known ones, `failover: true` says what it takes; flush() after destroy() rejects
 * with a StreamDestroyedError; server.listen() with a bad port rejects with a coded error.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHttpWritable, createHttpStreamServer } from '../lib/index.js'
import { HttpStreamError, InvalidOptionError, StreamDestroyedError } from '../lib/errors.js'

const url = 'http://127.0.0.1:9/in'

/** The message createHttpWritable throws for `options` (it must throw ERR_INVALID_OPTION). */
function messageFor (options: Record<string, unknown>): string {
  try {
    createHttpWritable({ url, failover: false, ...options } as Parameters<typeof createHttpWritable>[0])
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, String(err))
    return err.message
  }
  assert.fail(`no error for ${JSON.stringify(options)}`)
}

describe('option messages', () => {
  const CASES: Array<[string, Record<string, unknown>, string]> = [
    ['a misspelt encoding lists the encodings', { encoding: 'ndjsno' }, 'encoding: must be one of json, raw, url, ndjson, json-array, kafka-rest, kafka-rest-v3, inlong, or a function (got "ndjsno")'],
    ['an unknown transport lists the transports', { transport: 'curl' }, 'transport: must be one of undici, got (got "curl")'],
    ['a nested unknown key is an unknown option with the known ones', { batch: { size: 10 } }, 'batch.size: unknown option; did you mean maxBytes? (known: maxRecords, maxBytes, lingerMs, maxGroups)'],
    ['a bad nested value names the nested field', { batch: { maxRecords: 0 } }, 'batch.maxRecords: must be >= 1 (got 0)'],
    ['failover: true says what failover takes', { failover: true }, 'failover: must be a store URI, a Store, or false (got true)'],
    ['successCode NaN shows NaN, not null', { successCode: Number.NaN }, "successCode: must be a status code, a list of them, '2xx' or a function (got NaN)"],
    ['a bad retryOn entry says what retryOn takes', { retryOn: [99] }, "retryOn: must be a list of status codes, '4xx' and '5xx', or a function (got [99])"]
  ]
  for (const [name, options, expected] of CASES) {
    it(name, () => {
      const message = messageFor(options)
      assert.ok(!message.includes('equal to constant') && !message.includes('match a schema'), message)
      // "did you mean" is a hint from edit distance: accept the message with or without it.
      assert.equal(message.replace(/; did you mean [^?]+\?/, ''), expected.replace(/; did you mean [^?]+\?/, ''))
    })
  }
})

describe('coded errors', () => {
  it('flush() after destroy() rejects with a StreamDestroyedError', async () => {
    const sink = createHttpWritable({ url, failover: false })
    sink.on('error', () => {})
    sink.destroy()
    await assert.rejects(sink.flush(), (err: unknown) => {
      assert.ok(err instanceof StreamDestroyedError, String(err))
      assert.ok(err instanceof HttpStreamError)
      assert.equal(err.code, 'ERR_STREAM_DESTROYED')
      assert.deepEqual(err.records, [])
      assert.match(err.message, /flush\(\) after destroy\(\)/)
      return true
    })
  })

  it('server.listen() with a port out of range rejects with ERR_INVALID_OPTION naming port', async () => {
    for (const port of [99999, -1, 1.5]) {
      const server = createHttpStreamServer({})
      await assert.rejects(server.listen(port), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err))
        assert.equal(err.field, 'port')
        assert.match(err.message, new RegExp(`port: must be a whole number from 0 to 65535 \\(got ${String(port).replace('.', '\\.')}\\)`))
        return true
      })
      await server.close().catch(() => {})
    }
  })
})
