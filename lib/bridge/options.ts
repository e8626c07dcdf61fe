import { compileOptions } from '../shared/validate.js'
import { InvalidOptionError } from '../errors.js'
import type { HttpWritableOptions } from '../sink/options.js'

/** How a message's value becomes the record handed to the writable. */
export type BridgeValue = 'json' | 'string' | 'buffer'

export interface KafkaBridgeOptions extends HttpWritableOptions {
  /** `host:port` of the brokers. */
  brokers: string[]
  /** Topics to consume. */
  topics: string[]
  /** The consumer group: bridges in one group split the partitions. */
  groupId: string
  /** ms between offset commits (each one after a flush barrier). Default 5000. */
  commitIntervalMs?: number
  /** ms a revoke or a stop waits for what is inside to settle; then it goes to failover (stop) or stays uncommitted (revoke). Default 30000. */
  settleTimeoutMs?: number
  /** `'json'` (default: JSON when the value parses, else the UTF-8 string), `'string'` or `'buffer'`. */
  value?: BridgeValue
  /** Start from the earliest offset when the group has no committed offset (default true). */
  fromBeginning?: boolean
  /** kafkajs consumer session timeout in ms. Default 30000. */
  sessionTimeout?: number
  /** kafkajs client id. Default 'http-stream-bridge'. */
  clientId?: string
}

export interface ResolvedBridgeOptions {
  brokers: string[]
  topics: string[]
  groupId: string
  commitIntervalMs: number
  settleTimeoutMs: number
  value: BridgeValue
  fromBeginning: boolean
  sessionTimeout: number
  clientId: string
  writable: HttpWritableOptions
}

const BRIDGE_KEYS = ['brokers', 'topics', 'groupId', 'commitIntervalMs', 'settleTimeoutMs', 'value', 'fromBeginning', 'sessionTimeout', 'clientId'] as const
const names = { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }

const check = compileOptions<Pick<KafkaBridgeOptions, typeof BRIDGE_KEYS[number]>>({
  type: 'object',
  additionalProperties: false,
  required: ['brokers', 'topics', 'groupId'],
  properties: {
    brokers: names,
    topics: names,
    groupId: { type: 'string', minLength: 1 },
    commitIntervalMs: { type: 'integer', minimum: 1 },
    settleTimeoutMs: { type: 'integer', minimum: 0 },
    value: { enum: ['json', 'string', 'buffer'] },
    fromBeginning: { type: 'boolean' },
    sessionTimeout: { type: 'integer', minimum: 1000 },
    clientId: { type: 'string', minLength: 1 }
  }
})

/** Splits the bridge's own options from the writable's and validates them once (the writable validates the rest). */
export function resolveBridgeOptions (options: KafkaBridgeOptions): ResolvedBridgeOptions {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object')
  const own: Record<string, unknown> = {}
  const writable: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue
    if ((BRIDGE_KEYS as readonly string[]).includes(k)) own[k] = v
    else writable[k] = v
  }
  const o = check(own)
  return {
    brokers: o.brokers,
    topics: o.topics,
    groupId: o.groupId,
    commitIntervalMs: o.commitIntervalMs ?? 5000,
    settleTimeoutMs: o.settleTimeoutMs ?? 30_000,
    value: o.value ?? 'json',
    fromBeginning: o.fromBeginning ?? true,
    sessionTimeout: o.sessionTimeout ?? 30_000,
    clientId: o.clientId ?? 'http-stream-bridge',
    writable: writable as HttpWritableOptions
  }
}

/** The decoder for `value`, chosen once. A null value (a tombstone) yields undefined: it is skipped. */
export function valueDecoder (value: BridgeValue): (buf: Buffer | null) => unknown {
  if (value === 'buffer') return (buf) => buf ?? undefined
  if (value === 'string') return (buf) => buf?.toString('utf8')
  return (buf) => {
    if (buf === null) return undefined
    const text = buf.toString('utf8')
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
}
