import { HttpProblem } from './http-problem.js'

/** Kafka's rule for topic names: `[a-zA-Z0-9._-]`, 1 to 249 characters, not `.` or `..`. */
const NAME = /^[a-zA-Z0-9._-]{1,249}$/

export function isValidTopicName (name: string): boolean {
  return NAME.test(name) && name !== '.' && name !== '..'
}

/** Throws 400 unless `name` is a valid topic (or group / instance) name. */
export function checkName (name: string, what: 'topic' | 'group' | 'instance'): string {
  if (!isValidTopicName(name)) {
    const shown = JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name)
    throw new HttpProblem(400, 40001, `Invalid ${what} name ${shown}: use 1 to 249 of [a-zA-Z0-9._-], not "." or ".."`)
  }
  return name
}

/** Decodes one path segment, refusing malformed percent-escapes with 400. */
export function decodeSegment (segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpProblem(400, 400, 'malformed percent-escape in the path')
  }
}

/** `table[key]` when `key` is the table's own property: a name from a request never reaches Object.prototype. */
export function ownValue<T> (table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined
}
