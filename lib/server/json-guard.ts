import { HttpProblem } from './http-problem.js'

/**
 * JSON from strangers: nesting deeper than the limit and keys that could reach a prototype
 * (`__proto__`, `constructor`, `prototype`) are refused with a 400 before anything is stored.
 * V8's JSON.parse is iterative (any depth parses without exhausting the stack), so the text is parsed
 * first and the value walked afterwards, and only when cheap checks on the text say it must be:
 * more '{'/'[' than the depth limit, or a forbidden key's name (or an escape) somewhere in it.
 */

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

/** Parses JSON text from a request, enforcing the depth limit and refusing prototype keys. */
export function parseGuardedJson (text: string, maxDepth: number, what = 'body'): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new HttpProblem(400, 40002, `${what}: not JSON (${(err as Error).message})`)
  }
  const deep = text.length > maxDepth && openers(text, maxDepth) > maxDepth
  const keys = mayHoldForbiddenKey(text)
  if (!deep && !keys) return value
  const problem = inspect(value, deep ? maxDepth : Infinity, keys)
  if (problem === 'depth') throw new HttpProblem(400, 40003, `${what}: JSON nesting deeper than ${maxDepth}`)
  if (problem !== undefined) throw new HttpProblem(400, 40004, `${what}: key ${JSON.stringify(problem)} is not allowed`)
  return value
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
