import { HttpProblem } from './http-problem.js'

/**
 * JSON from strangers: nesting deeper than the limit, objects with more keys than the limit, strings
 * longer than the limit and keys that could reach a prototype (`__proto__`, `constructor`,
 * `prototype`) are refused with a 400 before anything is stored.
 * V8's JSON.parse is iterative (any depth parses without exhausting the stack), so the text is parsed
 * first and the value walked afterwards, and only when cheap checks on the text say it must be:
 * more '{'/'[' than the depth limit, or a forbidden key's name (or an escape) somewhere in it.
 * Keys and string lengths are checked on the text before parsing (a million keys cost ~90 MB once
 * parsed), and only when the text could break them: more ':' than the key limit, or longer than the
 * string limit.
 */

export interface JsonLimits {
  maxJsonDepth: number
  /** Keys per object at most. */
  maxJsonKeys: number
  /** Characters per string (keys too) at most, as written in the JSON text. */
  maxJsonStringLength: number
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** Counts '{' and '[' (inside strings too, so it can only overcount), stopping past `limit`. */
function openers (text: string, limit: number): number {
  let n = 0
  for (let i = text.indexOf('{'); i !== -1 && n <= limit; i = text.indexOf('{', i + 1)) n++
  for (let i = text.indexOf('['); i !== -1 && n <= limit; i = text.indexOf('[', i + 1)) n++
  return n
}

function mayHoldForbiddenKey (text: string): boolean {
  return text.includes('__proto__') || text.includes('constructor') || text.includes('prototype') || text.includes('\\u')
}

/** One iterative walk: 'depth' past `maxDepth`, or the path of the first forbidden key, or undefined. */
function inspect (value: unknown, maxDepth: number, keys: boolean): 'depth' | string | undefined {
  const stack: Array<[unknown, number, string]> = [[value, 0, '']]
  while (stack.length > 0) {
    const [node, depth, path] = stack.pop() as [unknown, number, string]
    if (node === null || typeof node !== 'object') continue
    if (depth + 1 > maxDepth) return 'depth'
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) stack.push([node[i], depth + 1, keys ? `${path}/${i}` : ''])
      continue
    }
    for (const key in node) {
      if (keys && FORBIDDEN_KEYS.has(key)) return `${path}/${key}`
      stack.push([(node as Record<string, unknown>)[key], depth + 1, keys ? `${path}/${key}` : ''])
    }
  }
  return undefined
}

/** True once `text` holds more than `limit` ':' (inside strings too, so it can only overcount). */
function colonsOver (text: string, limit: number): boolean {
  let n = 0
  for (let i = text.indexOf(':'); i !== -1; i = text.indexOf(':', i + 1)) if (++n > limit) return true
  return false
}

/** Index of the quote closing the string opened at `open` (-1 when unterminated). */
function closingQuote (text: string, open: number): number {
  let i = text.indexOf('"', open + 1)
  while (i !== -1) {
    let slashes = 0
    while (text.charCodeAt(i - 1 - slashes) === 0x5c) slashes++
    if (slashes % 2 === 0) return i
    i = text.indexOf('"', i + 1)
  }
  return -1
}

function tooDeep (what: string, maxDepth: number): HttpProblem {
  return new HttpProblem(400, 40003, `${what}: JSON nesting deeper than ${maxDepth}`)
}

/**
 * One pass over the text (not a validator: JSON.parse judges the syntax afterwards): nesting depth,
 * keys per object and string lengths. Counters are kept per open container, at most maxJsonDepth.
 */
function scan (text: string, limits: JsonLimits, what: string): void {
  const members: number[] = [] // per open container: keys so far for an object, -1 for an array
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      const end = closingQuote(text, i)
      if (end === -1) return
      if (end - i - 1 > limits.maxJsonStringLength) {
        throw new HttpProblem(400, 40006, `${what}: a JSON string longer than ${limits.maxJsonStringLength} characters (maxJsonStringLength)`)
      }
      i = end
    } else if (c === 0x7b || c === 0x5b) {
      if (members.length >= limits.maxJsonDepth) throw tooDeep(what, limits.maxJsonDepth)
      members.push(c === 0x7b ? 0 : -1)
    } else if (c === 0x7d || c === 0x5d) {
      members.pop()
    } else if (c === 0x3a && members.length > 0) {
      const keys = members[members.length - 1] as number
      if (keys < 0) continue
      if (keys + 1 > limits.maxJsonKeys) throw new HttpProblem(400, 40005, `${what}: a JSON object with more than ${limits.maxJsonKeys} keys (maxJsonKeys)`)
      members[members.length - 1] = keys + 1
    }
  }
}

/** Parses JSON text from a request, enforcing the depth, key and string limits and refusing prototype keys. */
export function parseGuardedJson (text: string, limits: JsonLimits, what = 'body'): unknown {
  const maxDepth = limits.maxJsonDepth
  const scanned = text.length > limits.maxJsonStringLength || colonsOver(text, limits.maxJsonKeys)
  if (scanned) scan(text, limits, what)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new HttpProblem(400, 40002, `${what}: not JSON (${(err as Error).message})`)
  }
  const deep = !scanned && text.length > maxDepth && openers(text, maxDepth) > maxDepth
  const keys = mayHoldForbiddenKey(text)
  if (!deep && !keys) return value
  const problem = inspect(value, deep ? maxDepth : Infinity, keys)
  if (problem === 'depth') throw tooDeep(what, maxDepth)
  if (problem !== undefined) throw new HttpProblem(400, 40004, `${what}: key ${JSON.stringify(problem)} is not allowed`)
  return value
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
