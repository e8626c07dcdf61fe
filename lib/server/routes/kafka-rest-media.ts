import { HttpProblem } from '../http-problem.js'
import { mediaType } from '../http-io.js'
import type { EmbeddedFormat } from '../receivers/receiver.js'

/**
 * Kafka REST Proxy v2 content types and content negotiation, as Confluent's kafka-rest declares them
 * (`Versions.java`, the `@Consumes`/`@Produces` of `ProduceToTopicAction`, `ConsumersResource`,
 * `TopicsResource`): a produce's Content-Type picks the embedded format; a records call's Accept picks
 * the format it reads, which must be the consumer's (406 / 40601 otherwise).
 */
export const V2 = 'application/vnd.kafka.v2+json'
export const V2_JSON = 'application/vnd.kafka.json.v2+json'
export const V2_BINARY = 'application/vnd.kafka.binary.v2+json'
export const NDJSON = 'application/x-ndjson'

/** The embedded formats we serve, and the ones Confluent serves only with a schema registry. */
const FORMAT_TYPES: Record<EmbeddedFormat, string> = { json: V2_JSON, binary: V2_BINARY }
const SCHEMA_FORMATS = new Set(['avro', 'protobuf', 'jsonschema'])
const KAFKA_FORMAT = /^application\/vnd\.kafka\.([a-z]+)\.v2\+json$/

export type ProduceBodyFormat = EmbeddedFormat | 'ndjson'

/** The media type of a record answer in this format. */
export function formatType (format: EmbeddedFormat): string {
  return FORMAT_TYPES[format]
}

const SUPPORTED = `${V2_BINARY} (binary), ${V2_JSON} (json) or ${NDJSON} (our bulk extension)`

/** A produce's Content-Type → the body's format; 415 naming what we serve otherwise. */
export function produceFormat (contentType: string | undefined): ProduceBodyFormat {
  const type = mediaType(contentType)
  if (type === V2_JSON || type === 'application/json') return 'json'
  if (type === V2_BINARY) return 'binary'
  if (type === NDJSON) return 'ndjson'
  const named = KAFKA_FORMAT.exec(type)?.[1]
  if (named !== undefined && SCHEMA_FORMATS.has(named)) {
    throw new HttpProblem(415, 415, `HTTP 415 Unsupported Media Type: the ${named} embedded format needs a schema registry, which this server does not have; produce takes ${SUPPORTED}`)
  }
  throw new HttpProblem(415, 415, `HTTP 415 Unsupported Media Type: produce takes ${SUPPORTED}, not ${JSON.stringify(type)}`)
}

/** The media types of an Accept header, without those weighted q=0; undefined when there is no Accept (anything goes). */
function acceptedTypes (accept: string | undefined): string[] | undefined {
  if (accept === undefined || accept.trim() === '') return undefined
  const out: string[] = []
  for (const item of accept.split(',')) {
    if (/;\s*q\s*=\s*0(?:\.0*)?\s*(?:;|$)/i.test(item)) continue
    const type = mediaType(item)
    if (type !== '') out.push(type)
  }
  return out
}

function anyType (t: string): boolean {
  return t === '*/*' || t === 'application/*' || t === 'application/json'
}

/**
 * Checks an answer in `V2` is acceptable (406 otherwise); `formats` also takes the embedded-format
 * types (Confluent's consumers resource produces them all).
 */
export function checkAccept (accept: string | undefined, formats = false): void {
  const types = acceptedTypes(accept)
  if (types === undefined) return
  if (types.some(t => anyType(t) || t === V2 || (formats && KAFKA_FORMAT.test(t)))) return
  throw new HttpProblem(406, 406, `HTTP 406 Not Acceptable: this resource answers ${V2} (or application/json), not ${types.join(', ') || accept}`)
}

/**
 * A records call: Accept names the format read (as Confluent routes it: the binary type and `V2`
 * go to the binary reader, the json type to the json reader); a wildcard, application/json or no
 * Accept reads the consumer's own format. 406 / 40601 when it is not the consumer's.
 */
export function checkRecordsAccept (accept: string | undefined, format: EmbeddedFormat): void {
  const types = acceptedTypes(accept)
  if (types === undefined || types.some(anyType)) return
  const wanted = new Set<string>()
  for (const t of types) {
    if (t === V2) wanted.add('binary')
    const named = KAFKA_FORMAT.exec(t)?.[1]
    if (named !== undefined) wanted.add(named)
  }
  if (wanted.has(format)) return
  if (wanted.size > 0) {
    throw new HttpProblem(406, 40601, `The requested embedded data format does not match the deserializer for this consumer instance (it reads ${format}: Accept ${formatType(format)})`)
  }
  throw new HttpProblem(406, 406, `HTTP 406 Not Acceptable: records are served as ${formatType(format)}, not ${types.join(', ') || accept}`)
}

/** Kafka REST v3 (`@Produces(MediaType.APPLICATION_JSON)` on every v3 resource): 406 when Accept allows no JSON. */
export function checkV3Accept (accept: string | undefined): void {
  const types = acceptedTypes(accept)
  if (types === undefined || types.some(anyType)) return
  throw new HttpProblem(406, 406, `HTTP 406 Not Acceptable: Kafka REST v3 answers application/json, not ${types.join(', ') || accept}`)
}

/**
 * A v3 produce's Content-Type, as Confluent's `ProduceAction` (`@Consumes(APPLICATION_JSON)`) and
 * `JsonStreamMessageBodyReader` take it: application/json (415 otherwise), with no charset or
 * UTF-8 (400 for another; ISO-8859-1, which Confluent also reads, is not read here).
 */
export function checkV3ContentType (contentType: string | undefined): void {
  const type = mediaType(contentType)
  if (type !== 'application/json') throw new HttpProblem(415, 415, `HTTP 415 Unsupported Media Type: Kafka REST v3 produce takes application/json (concatenated JSON records), not ${JSON.stringify(type)}`)
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') throw new HttpProblem(400, 400, 'Unsupported charset in Content-Type header. Supports "UTF-8".')
}
