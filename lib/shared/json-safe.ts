/**
 * JSON text of records, with errors that name the path of what JSON cannot hold, and a JSON-safe
 * copy for storing such a record without losing it. The fast path is one JSON.stringify; the value
 * is walked only when that fails (throws, or yields nothing).
 *
 * In the copy: a BigInt becomes its decimal digits as a string (`10n` → `"10"`, lossless at any
 * size); a circular reference becomes `"[Circular $.a]"`, naming the path it points back to; a
 * `toJSON` or a getter that throws becomes `"[toJSON threw: …]"` / `"[getter threw: …]"`; a top-level
 * function or symbol becomes `"[Function f]"` / `"[Symbol(s)]"`, a top-level `undefined` `null`;
 * nesting deeper than 1000 levels becomes `"[Too deep]"`. Everything else is what JSON.stringify
 * makes of it (nested functions, symbols and undefined are left out of objects, null in arrays).
 */
import { InvalidRecordError } from '../errors.js'

/** A value JSON cannot hold: where (`$.a[0].b`) and why. */
export interface JsonProblem {
  path: string
  reason: string
}

/** The first problems found (at most 10), and how many there were in all. */
export interface JsonProblems {
  /** Empty when the value was JSON as it is. */
  problems: readonly JsonProblem[]
  total: number
}

export interface JsonSafeText extends JsonProblems {
  text: string
}

export interface JsonSafeCopy extends JsonProblems {
  value: unknown
}

const NO_PROBLEMS: readonly JsonProblem[] = Object.freeze([])
const MAX_DEPTH = 1000
/** Problems kept per value (the rest are counted). */
const KEPT = 10
/** Problems named in a message. */
const NAMED = 3
const MAX_DETAIL = 200

/** JSON text of `value`; throws InvalidRecordError naming the path of each value JSON cannot hold. */
export function jsonText (value: unknown): string {
  const text = stringifyOrUndefined(value)
  if (text !== undefined) return text
  throw new InvalidRecordError(describeProblems(jsonSafeCopy(value)))
}

/** JSON text that never throws: what JSON cannot hold is replaced as described above, and listed. */
export function jsonSafeText (value: unknown): JsonSafeText {
  const text = stringifyOrUndefined(value)
  if (text !== undefined) return { text, problems: NO_PROBLEMS, total: 0 }
  const { value: copy, problems, total } = jsonSafeCopy(value)
  return { text: JSON.stringify(copy), problems, total }
}

/** One line naming the first problems: `$.n: BigInt cannot be encoded as JSON; $.self: circular reference to $`. */
export function describeProblems ({ problems, total }: JsonProblems): string {
  if (problems.length === 0) return '$: cannot be encoded as JSON'
  const named = problems.slice(0, NAMED).map((p) => `${shortPath(p.path)}: ${p.reason}`).join('; ')
  return total > NAMED ? `${named} (and ${total - NAMED} more)` : named
}

/** A copy of `value` that JSON.stringify always encodes, and where it had to differ from `value`. */
export function jsonSafeCopy (value: unknown): JsonSafeCopy {
  const walker = new Walker()
  let copy = walker.copy(value, '', '$', 0)
  if (copy === undefined) copy = walker.problem('$', `${kindOf(value)} cannot be encoded as JSON`, topLevelMarker(value))
  return { value: copy, problems: walker.problems, total: walker.total }
}

function stringifyOrUndefined (value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

/** Walks a value as JSON.stringify does (toJSON, boxed primitives, own enumerable keys), copying it. */
class Walker {
  readonly problems: JsonProblem[] = []
  total = 0
  readonly #ancestors: object[] = []
  readonly #paths: string[] = []

  problem (path: string, reason: string, replacement: unknown): unknown {
    this.total++
    if (this.problems.length < KEPT) this.problems.push({ path, reason })
    return replacement
  }

  /** The copy of `value` found under `key` at `path`; undefined where JSON leaves the value out. */
  copy (value: unknown, key: string, path: string, depth: number): unknown {
    let v = value
    if ((typeof v === 'object' && v !== null) || typeof v === 'bigint') {
      try {
        const toJSON = (v as { toJSON?: unknown }).toJSON
        if (typeof toJSON === 'function') v = toJSON.call(v, key)
      } catch (err) {
        return this.problem(path, `toJSON threw: ${detail(err)}`, `[toJSON threw: ${detail(err)}]`)
      }
    }
    if (v instanceof Number || v instanceof String || v instanceof Boolean || v instanceof BigInt) v = v.valueOf()
    switch (typeof v) {
      case 'bigint': return this.problem(path, 'BigInt cannot be encoded as JSON', v.toString())
      case 'object': return v === null ? null : this.#copyObject(v, path, depth)
      case 'undefined': case 'function': case 'symbol': return undefined
      default: return v
    }
  }

  #copyObject (v: object, path: string, depth: number): unknown {
    const seen = this.#ancestors.indexOf(v)
    if (seen >= 0) return this.problem(path, `circular reference to ${this.#paths[seen]!}`, `[Circular ${this.#paths[seen]!}]`)
    if (depth >= MAX_DEPTH) return this.problem(path, `nested deeper than ${MAX_DEPTH} levels`, '[Too deep]')
    this.#ancestors.push(v)
    this.#paths.push(path)
    try {
      return Array.isArray(v) ? this.#copyArray(v, path, depth) : this.#copyFields(v, path, depth)
    } finally {
      this.#ancestors.pop()
      this.#paths.pop()
    }
  }

  #copyArray (v: unknown[], path: string, depth: number): unknown[] {
    const out: unknown[] = []
    for (let i = 0; i < v.length; i++) {
      const item = this.#read(v, String(i), `${path}[${i}]`, depth)
      out.push(item === undefined ? null : item)
    }
    return out
  }

  #copyFields (v: object, path: string, depth: number): unknown {
    let keys: string[]
    try {
      keys = Object.keys(v)
    } catch (err) {
      return this.problem(path, `listing its keys threw: ${detail(err)}`, `[keys threw: ${detail(err)}]`)
    }
    // No prototype, so a "__proto__" key is copied as a key.
    const out: Record<string, unknown> = Object.create(null)
    for (const key of keys) {
      const item = this.#read(v, key, `${path}${pathKey(key)}`, depth)
      if (item !== undefined) out[key] = item
    }
    return out
  }

  #read (holder: object, key: string, path: string, depth: number): unknown {
    let item: unknown
    try {
      item = (holder as Record<string, unknown>)[key]
    } catch (err) {
      return this.problem(path, `reading it threw: ${detail(err)}`, `[getter threw: ${detail(err)}]`)
    }
    return this.copy(item, key, path, depth + 1)
  }
}

/** A path of at most 200 characters: its start and its end. */
function shortPath (path: string): string {
  return path.length > MAX_DETAIL ? `${path.slice(0, 97)}...${path.slice(-100)}` : path
}

function pathKey (key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`
}

function kindOf (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  if (value === undefined) return 'undefined'
  // A toJSON that returned undefined, a function or a symbol.
  return 'a value whose toJSON returns undefined, a function or a symbol'
}

function topLevelMarker (value: unknown): unknown {
  if (typeof value === 'function') return `[Function ${value.name === '' ? '(anonymous)' : value.name}]`
  if (typeof value === 'symbol') return `[${value.toString()}]`
  return null
}

/** One short line saying what was thrown (never throws itself). */
function detail (err: unknown): string {
  let text: string
  try {
    text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim()
  } catch {
    text = 'a value that cannot be shown'
  }
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 3)}...` : text
}
