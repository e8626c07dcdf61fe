import { InvalidOptionError, InvalidRecordError } from '../errors.js'
import { compileTemplate, renderTemplate, sampleTemplate, type Template } from '../encoders/url-template.js'
import { recordUrl, splitUrl } from '../encoders/request-target.js'
import type { OutgoingRequest } from '../transports/transport.js'

/** A `(record) => url` function given as `url`. */
export type UrlFunction = (record: unknown) => string

/** Where one record goes: its request's origin and path, the header values its templates gave, and a key for grouping. */
export interface RecordTarget {
  key: string
  origin: string
  path: string
  /** Templated headers only (lower-cased names); undefined when no header is a template. */
  headers: Record<string, string> | undefined
}

const INVALID_HEADER_VALUE = /[\r\n\0]/

/**
 * Resolves `url` and header templates per record. Built only when `url` is a template or a
 * function or a header value is a template; otherwise the engine keeps its fixed target.
 */
export class RecordTargets {
  readonly #url: Template | UrlFunction | undefined
  readonly #fixed: { origin: string, path: string } | undefined
  readonly #headers: Array<[string, Template]>
  /** How envelopes name the url of a record whose target could not be resolved. */
  readonly description: string

  /** Built by resolveTargets: `fixed` is the URL when only headers are templates. */
  constructor (url: Template | UrlFunction | undefined, fixed: URL | undefined, headers: Array<[string, Template]>, description: string) {
    this.#url = url
    this.#fixed = fixed === undefined ? undefined : splitUrl(fixed)
    this.#headers = headers
    this.description = description
  }

  /** Throws InvalidRecordError naming the field (or the function's failure) for a record it cannot place. */
  resolve (record: unknown): RecordTarget {
    let origin: string
    let path: string
    if (this.#fixed !== undefined) ({ origin, path } = this.#fixed)
    else ({ origin, path } = splitUrl(this.#resolveUrl(record)))
    let key = origin + path
    let headers: Record<string, string> | undefined
    if (this.#headers.length > 0) {
      headers = {}
      for (const [name, t] of this.#headers) {
        const value = renderTemplate(t, record, headerValue)
        headers[name] = value
        key += '\0' + value
      }
    }
    return { key, origin, path, headers }
  }

  #resolveUrl (record: unknown): URL {
    const url = this.#url!
    if (typeof url !== 'function') return recordUrl(renderTemplate(url, record, encodeURIComponent), undefined)
    let text: unknown
    try {
      text = url(record)
    } catch (err) {
      throw new InvalidRecordError(`the url function threw: ${err instanceof Error ? err.message : String(err)}`)
    }
    if (typeof text !== 'string') throw new InvalidRecordError(`the url function must return a string (got ${typeof text})`)
    return recordUrl(text, undefined)
  }
}

/**
 * Compiles `url` and `headers` once, at construction. `targets` is undefined when nothing names a
 * record field (the engine keeps its fixed target); `url` is then the parsed URL, else a stand-in
 * (the template with 'sample' for each field) the encodings are built with. `{{`/`}}` are
 * unescaped in plain values too. Throws InvalidOptionError naming `url` or `headers.<name>`.
 */
export function resolveTargets (url: string | UrlFunction | undefined, headers: Record<string, string>, parseUrl: (text: string) => URL): { url: URL | undefined, headers: Record<string, string>, targets: RecordTargets | undefined } {
  const plainHeaders: Record<string, string> = {}
  const templated: Array<[string, Template]> = []
  for (const [name, value] of Object.entries(headers)) {
    const t = value.includes('{') || value.includes('}') ? compileTemplate(value, `headers.${name}`) : undefined
    if (t !== undefined && t.fields.length > 0) templated.push([name, t])
    plainHeaders[name] = t === undefined ? value : t.fields.length === 0 ? t.literals[0]! : value
  }
  let urlPart: Template | UrlFunction | undefined
  let parsed: URL | undefined
  if (typeof url === 'function') {
    urlPart = url
    parsed = new URL('http://url-function.invalid/')
  } else if (url !== undefined) {
    const t = compileTemplate(url, 'url')
    parsed = parseUrl(t.fields.length === 0 ? t.literals[0]! : sampleTemplate(t, 'sample'))
    if (t.fields.length > 0) urlPart = t
  }
  if (urlPart === undefined && templated.length === 0) return { url: parsed, headers: plainHeaders, targets: undefined }
  if (parsed === undefined) throw new InvalidOptionError('headers', 'templated headers need a url option')
  const description = typeof url === 'function' ? '(url function)' : String(url)
  return { url: parsed, headers: plainHeaders, targets: new RecordTargets(urlPart, urlPart === undefined ? parsed : undefined, templated, description) }
}

/** `request` sent to `target` instead of the fixed one. */
export function toTarget (request: OutgoingRequest, target: RecordTarget): OutgoingRequest {
  return { ...request, origin: target.origin, path: target.path, headers: target.headers === undefined ? request.headers : { ...request.headers, ...target.headers } }
}

function headerValue (value: string): string {
  if (INVALID_HEADER_VALUE.test(value)) throw new InvalidRecordError('a templated header value may not hold CR, LF or NUL')
  return value
}
