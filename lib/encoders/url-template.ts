import { InvalidOptionError, InvalidRecordError } from '../errors.js'

/**
 * A compiled `'{field}'` / `'{a.b}'` template: literal text between placeholders, each
 * placeholder a path into the record. `{{` and `}}` stand for literal braces.
 */
export interface Template {
  /** Literal text: `literals[i]` comes before placeholder `i`, the last one after the last. */
  readonly literals: string[]
  /** Each placeholder's path, e.g. `['meta', 'region']`, and its text `meta.region`. */
  readonly fields: Array<{ path: string[], name: string }>
}

/**
 * Parses `text`; `fields` is empty when it names no field (then `literals[0]` is the text with
 * `{{`/`}}` unescaped). Throws InvalidOptionError naming `option` for `{}`, an unclosed `{` or a lone `}`.
 */
export function compileTemplate (text: string, option: string): Template {
  const literals: string[] = []
  const fields: Template['fields'] = []
  let literal = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '{' && text[i + 1] === '{') { literal += '{'; i++; continue }
    if (c === '}' && text[i + 1] === '}') { literal += '}'; i++; continue }
    if (c === '}') throw new InvalidOptionError(option, `has a lone '}' at ${i} (write '}}' for a literal brace)`)
    if (c !== '{') { literal += c; continue }
    const end = text.indexOf('}', i + 1)
    if (end < 0) throw new InvalidOptionError(option, `has an unclosed '{' at ${i} (write '{{' for a literal brace)`)
    const name = text.slice(i + 1, end).trim()
    const path = name.split('.')
    if (name === '' || path.some((p) => p === '' || p.includes('{'))) throw new InvalidOptionError(option, `placeholder '{${text.slice(i + 1, end)}}' names no field`)
    literals.push(literal)
    fields.push({ path, name })
    literal = ''
    i = end
  }
  literals.push(literal)
  return { literals, fields }
}

/**
 * The template with each field's value from `record` (through `escape`). Throws InvalidRecordError
 * naming the field when the record lacks it or its value is not a string, number or boolean.
 */
export function renderTemplate (template: Template, record: unknown, escape: (value: string) => string): string {
  const { literals, fields } = template
  let out = literals[0]!
  for (let i = 0; i < fields.length; i++) {
    out += escape(fieldValue(record, fields[i]!)) + literals[i + 1]!
  }
  return out
}

/** The template with every placeholder replaced by `sample` (to check the rest at construction). */
export function sampleTemplate (template: Template, sample: string): string {
  return template.literals.join(sample)
}

function fieldValue (record: unknown, field: Template['fields'][number]): string {
  let value = record
  for (const key of field.path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) {
      throw new InvalidRecordError(`record has no field '${field.name}' for the template`)
    }
    value = (value as Record<string, unknown>)[key]
  }
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  throw new InvalidRecordError(`record field '${field.name}' must be a string, number or boolean for the template (got ${value === null ? 'null' : typeof value})`)
}
