import { Ajv, type ErrorObject, type AnySchema, type ValidateFunction } from 'ajv'
import { InvalidOptionError } from '../errors.js'
import { didYouMean } from './did-you-mean.js'

/**
 * One ajv instance for every options schema. Adds `isFunction` (functions cannot be described in
 * JSON Schema) and turns the first ajv error into an InvalidOptionError naming the field and the bad
 * value. A schema may give `description` to say what an `anyOf` expects in words.
 */
const ajv = new Ajv({ allErrors: false, verbose: true, strict: false, useDefaults: false })
ajv.addKeyword({ keyword: 'isFunction', schemaType: 'boolean', validate: (want: boolean, data: unknown) => (typeof data === 'function') === want, errors: false })
ajv.addKeyword({ keyword: 'isObjectLike', schemaType: 'boolean', validate: (_: boolean, data: unknown) => data !== null && typeof data === 'object', errors: false })

export function compileOptions<T> (schema: AnySchema): (value: unknown, prefix?: string) => T {
  const validate: ValidateFunction = ajv.compile(schema)
  return (value, prefix = '') => {
    if (validate(value)) return value as T
    throw toOptionError(mostUseful(validate.errors ?? []), prefix)
  }
}

/**
 * ajv lists an `anyOf`'s branch errors before the `anyOf` error itself: the first of them is often
 * "must be equal to constant" from a branch nobody meant. Prefer, in order: an error deeper than
 * the outermost `anyOf` (inside the branch that matched, e.g. `batch.maxRecords`), an unknown or
 * missing key, the outermost `anyOf` when its `description` says what is expected, the first error
 * with a description, the first error. A first error whose schema has a `description` wins over all.
 */
function mostUseful (errors: ErrorObject[]): ErrorObject | undefined {
  const depth = (e: ErrorObject): number => e.instancePath.split('/').length
  const anyOf = errors.filter((e) => e.keyword === 'anyOf')
  if (anyOf.length === 0) return errors.find((e) => e.keyword === 'additionalProperties') ?? errors[0]
  // A schema that describes its first branch wants that branch's words reported.
  if (describedAs(errors[0]!) !== undefined) return errors[0]
  const outer = anyOf[anyOf.length - 1]!
  const deeper = errors.filter((e) => depth(e) > depth(outer))
  if (deeper.length > 0) {
    // Nested alternatives that cannot say what they want: the enclosing anyOf's words are better.
    const nested = deeper.filter((e) => e.keyword === 'anyOf')
    if (nested.length > 0 && nested.every((e) => describedAs(e) === undefined) && describedAs(outer) !== undefined) return outer
    return mostUseful(deeper)
  }
  const level = errors.filter((e) => depth(e) === depth(outer))
  return level.find((e) => e.keyword === 'additionalProperties' || e.keyword === 'required') ??
    (describedAs(outer) !== undefined ? outer : (level.find((e) => describedAs(e) !== undefined) ?? errors[0]))
}

function toOptionError (error: ErrorObject | undefined, prefix: string): InvalidOptionError {
  if (error === undefined) return new InvalidOptionError(prefix || 'options', 'invalid')
  const path = error.instancePath.split('/').slice(1).map(decodePointer)
  if (error.keyword === 'additionalProperties') {
    const key = String((error.params as { additionalProperty: string }).additionalProperty)
    const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {})
    const hint = didYouMean(key, known)
    return new InvalidOptionError(join(prefix, [...path, key]), `unknown option${hint === undefined ? '' : `; did you mean ${hint}?`}${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`)
  }
  if (error.keyword === 'required') {
    const key = String((error.params as { missingProperty: string }).missingProperty)
    return new InvalidOptionError(join(prefix, [...path, key]), 'is required')
  }
  const described = describedAs(error)
  const allowed = error.keyword === 'enum' ? (error.params as { allowedValues?: unknown[] }).allowedValues : undefined
  const what = described !== undefined
    ? `must be ${described}`
    : allowed !== undefined ? `must be one of ${allowed.map(String).join(', ')}` : (error.message ?? 'is invalid')
  return new InvalidOptionError(join(prefix, path), `${what} (got ${show(error.data)})`)
}

function describedAs (error: ErrorObject): string | undefined {
  return (error.parentSchema as { description?: string } | undefined)?.description
}

function join (prefix: string, path: string[]): string {
  const field = path.join('.')
  if (prefix === '') return field === '' ? 'options' : field
  return field === '' ? prefix : `${prefix}.${field}`
}

function decodePointer (part: string): string {
  return part.replace(/~1/g, '/').replace(/~0/g, '~')
}

/** A short rendering of a bad value for messages. */
export function show (value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return String(value)
    return text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return Object.prototype.toString.call(value)
  }
}
