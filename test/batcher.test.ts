import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Batcher } from '../lib/sink/batcher.js'
import { ndjsonEncoding, jsonArrayEncoding } from '../lib/encoders/batch-encodings.js'

const target = { url: new URL('http://127.0.0.1:1/b'), method: 'POST', headers: {} }

for (const [name, make] of [['ndjson', ndjsonEncoding], ['json-array', jsonArrayEncoding]] as const) {
  test(`${name}: bodies of multi-byte records never exceed maxBytes, and batches are filled`, () => {
    const encoding = make(target)
    const bodies: string[] = []
    const oversize: unknown[] = []
    const maxBytes = 400
    const batcher = new Batcher(encoding, { maxRecords: 1000, maxBytes, lingerMs: 1000 }, (records, pieces) => {
      if (pieces === undefined) oversize.push(...records!)
      else bodies.push(String(encoding.assemble(pieces, [], target).body))
    }, (_record, _tag, err) => { throw err })
    const texts = ['€€€€', 'plain ascii', '😀😀', 'ß', '中文字符', 'x'.repeat(60), '€'.repeat(200)]
    for (let i = 0; i < 300; i++) batcher.add({ i, t: texts[i % texts.length] }, undefined)
    batcher.flush()
    for (const body of bodies) assert.ok(Buffer.byteLength(body) <= maxBytes, `a body of ${Buffer.byteLength(body)} bytes`)
    const decoded = bodies.flatMap((b) => encoding.decode!({ origin: '', path: '', method: 'POST', headers: {}, body: b }))
    assert.equal(decoded.length + oversize.length, 300, 'every record is in a body or refused as too large')
    assert.deepEqual(oversize.map((r) => (r as { t: string }).t), Array(oversize.length).fill('€'.repeat(200)))
    const average = bodies.slice(0, -1).reduce((n, b) => n + Buffer.byteLength(b), 0) / (bodies.length - 1)
    assert.ok(average > maxBytes * 0.6, `batches are filled close to maxBytes (average ${average.toFixed(0)} bytes)`)
  })
}

test('a record the encoding refuses goes to reject with its tag; the records around it keep their order and tags', () => {
  const encoding = ndjsonEncoding(target)
  const batches: Array<{ ids: number[], tags: unknown[] | undefined }> = []
  const rejected: Array<{ record: unknown, tag: unknown, err: unknown }> = []
  const batcher = new Batcher(encoding, { maxRecords: 100, maxBytes: 1 << 20, lingerMs: 60_000 }, (_records, pieces, _count, tags) => {
    batches.push({ ids: pieces!.map((p) => (JSON.parse(p) as { id: number }).id), tags })
  }, (record, tag, err) => rejected.push({ record, tag, err }))
  for (let i = 0; i < 250; i++) batcher.add(i === 42 || i === 142 ? { id: i, bad: 1n } : { id: i }, `tag-${i}`)
  // Two full batches went out (the refused records do not count); the rest waits for flush().
  assert.equal(batches.length, 2)
  batcher.flush()
  assert.deepEqual(rejected.map((r) => r.tag), ['tag-42', 'tag-142'])
  assert.ok(rejected.every((r) => r.err instanceof Error && /BigInt/.test((r.err as Error).message)))
  const ids = batches.flatMap((b) => b.ids)
  assert.deepEqual(ids, Array.from({ length: 250 }, (_, i) => i).filter((i) => i !== 42 && i !== 142))
  assert.deepEqual(batches.flatMap((b) => b.tags), ids.map((i) => `tag-${i}`))
  assert.deepEqual(batches.map((b) => b.ids.length), [100, 100, 48])
})

test('runs encoded in one JSON.stringify give the bodies one JSON.stringify per record gives, whatever the records', () => {
  class Event { constructor (readonly id: number) {} }
  const kinds = [
    (i: number) => ({ id: i, s: `user-${i}` }),
    (i: number) => ({ id: i, s: '},{ inside a string' }),
    (i: number) => ({ id: i, items: [{ a: i }, { b: i }] }),
    (i: number) => new Event(i),
    (i: number) => [i, { i }],
    (i: number) => `text ${i}`
  ]
  for (const [name, make] of [['ndjson', ndjsonEncoding], ['json-array', jsonArrayEncoding]] as const) {
    const encoding = make(target)
    assert.equal(typeof encoding.pieces, 'function', `${name} encodes runs at once`)
    const { pieces: _bulk, ...oneByOne } = encoding
    const bodiesOf = (enc: typeof encoding): string[] => {
      const bodies: string[] = []
      const batcher = new Batcher(enc, { maxRecords: 500, maxBytes: 1 << 20, lingerMs: 60_000 }, (_records, pieces) => {
        bodies.push(String(enc.assemble(pieces!, [], target).body))
      }, (_record, _tag, err) => { throw err })
      // Plain records, then runs of each other kind among plain ones, then plain ones again.
      for (let i = 0; i < 3000; i++) batcher.add(kinds[i < 1000 || i >= 2500 ? 0 : Math.floor(i / 100) % kinds.length]!(i), undefined)
      batcher.flush()
      return bodies
    }
    assert.deepEqual(bodiesOf(encoding), bodiesOf(oneByOne), name)
  }
})
