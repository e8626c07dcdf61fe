import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bulkJsonTexts, jsonTextsOfPlainObjects } from '../lib/shared/json-texts.js'

const each = (records: unknown[]): string[] => records.map((r) => JSON.stringify(r))

test('plain objects: the same texts as one JSON.stringify each', () => {
  const records = [
    { id: 1, user: 'a', nested: { x: [1, 2, { y: null }] } },
    {},
    Object.assign(Object.create(null) as object, { 'null-proto': true }),
    { s: 'quotes " and \\ and \n newline and \u2028', n: -0, big: 1e300, u: undefined, f: () => 1 },
    { date: new Date(0), map: new Map([[1, 2]]) },
    { toJSON: 'not a function' }
  ]
  assert.deepEqual(jsonTextsOfPlainObjects(records), each(records))
  assert.deepEqual(jsonTextsOfPlainObjects([]), [])
  assert.deepEqual(jsonTextsOfPlainObjects([{}]), ['{}'])
})

test('no answer where cutting at "},{" could be wrong or the array text differs', () => {
  class Event { constructor (readonly id: number) {} }
  const cases: unknown[][] = [
    [{ a: 1 }, { s: '},{' }], // a boundary inside a string
    [{ items: [{ a: 1 }, { b: 2 }] }], // a nested array of objects
    [{ a: 1 }, new Event(2)], // not a plain object
    [{ a: 1 }, [{ b: 1 }]], // an array record
    [{ a: 1 }, 'text'], [{ a: 1 }, 5], [{ a: 1 }, null], [{ a: 1 }, undefined],
    [{ toJSON: (key: string) => ({ key }) }], // toJSON would see the index, not ''
    [{ a: 1 }, { n: 10n }], // JSON.stringify throws
    [{ get boom () { throw new Error('getter') } }]
  ]
  cases.forEach((records, i) => assert.equal(jsonTextsOfPlainObjects(records), undefined, `case ${i}`))
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  assert.equal(jsonTextsOfPlainObjects([cyclic]), undefined)
})

test('bulkJsonTexts: wraps each text, and after runs it cannot cut leaves 1, 2, 4 … runs to the caller', () => {
  const texts = bulkJsonTexts((t) => `<${t}>`)
  assert.deepEqual(texts([{ a: 1 }, { b: 2 }]), ['<{"a":1}>', '<{"b":2}>'])
  const bad = [{ s: '},{' }]
  const good = [{ a: 1 }]
  const answered = (run: unknown[]): boolean => texts(run) !== undefined
  assert.equal(answered(bad), false) // miss 1: skips the next run
  assert.equal(answered(good), false)
  assert.equal(answered(bad), false) // miss 2: skips the next 2
  assert.equal(answered(good), false)
  assert.equal(answered(good), false)
  assert.equal(answered(good), true) // a hit resets the backoff
  assert.equal(answered(bad), false)
  assert.equal(answered(good), false)
  assert.equal(answered(good), true)
})
