import { HttpProblem } from './http-problem.js'
import type { ConsumedRecord, ReceiverConsumer, EmbeddedFormat } from './receivers/receiver.js'

export interface ConsumerInstance {
  group: string
  name: string
  consumer: ReceiverConsumer
  expiresAt: number
  /** Requests under way; an instance is not expired while one runs (a long poll). */
  busy: number
  /** The instance's default poll wait (consumer.request.timeout.ms), when it gave one. */
  requestTimeoutMs?: number
  /** Kafka REST: the embedded format records are read in (default json). */
  format?: EmbeddedFormat
  /** /actions subscribers: rows fetched and not yet acknowledged. */
  pending?: ConsumedRecord[]
}

/** Confluent's 40403 message; on a node that may be one of many, with where instances live. */
const NOT_FOUND = 'Consumer instance not found.'
const ON_ANOTHER_NODE = `${NOT_FOUND} Instances live on the server node that created them: use the base_uri the create answered with ` +
  '(requests are not forwarded between nodes). An instance of a node that died or restarted is gone: create it again on any node; the group resumes from its committed offsets.'

/**
 * The Kafka REST consumer instances, by group and name. Each request refreshes an instance's
 * expiry; instances idle longer than `timeoutMs` are closed by a sweep (Kafka REST's
 * consumer.instance.timeout.ms).
 */
export class ConsumerInstances {
  private readonly instances = new Map<string, ConsumerInstance>()
  private readonly timer: NodeJS.Timeout

  private readonly notFound: string

  /** `manyNodes`: the receiver is shared by several server nodes (Kafka), so a 40403 says where instances live. */
  constructor (private readonly timeoutMs: number, manyNodes = false) {
    this.notFound = manyNodes ? ON_ANOTHER_NODE : NOT_FOUND
    this.timer = setInterval(() => { void this.sweep(Date.now()) }, Math.max(50, Math.min(1000, Math.floor(timeoutMs / 4))))
    this.timer.unref()
  }

  has (group: string, name: string): boolean {
    return this.instances.has(key(group, name))
  }

  add (group: string, name: string, consumer: ReceiverConsumer): ConsumerInstance {
    const instance: ConsumerInstance = { group, name, consumer, expiresAt: Date.now() + this.timeoutMs, busy: 0 }
    this.instances.set(key(group, name), instance)
    return instance
  }

  /** Runs `fn` with the instance, refreshing its expiry; 404 40403 when there is none. */
  async use<T> (group: string, name: string, fn: (instance: ConsumerInstance) => Promise<T>): Promise<T> {
    const instance = this.instances.get(key(group, name))
    if (instance === undefined) throw new HttpProblem(404, 40403, this.notFound)
    instance.busy++
    try {
      return await fn(instance)
    } finally {
      instance.busy--
      instance.expiresAt = Date.now() + this.timeoutMs
    }
  }

  async remove (group: string, name: string): Promise<void> {
    const instance = this.instances.get(key(group, name))
    if (instance === undefined) throw new HttpProblem(404, 40403, this.notFound)
    this.instances.delete(key(group, name))
    await instance.consumer.close()
  }

  get size (): number {
    return this.instances.size
  }

  async sweep (now: number): Promise<void> {
    const expired = [...this.instances.entries()].filter(([, i]) => i.busy === 0 && i.expiresAt <= now)
    for (const [k] of expired) this.instances.delete(k)
    await Promise.all(expired.map(([, i]) => i.consumer.close().catch(() => {})))
  }

  async closeAll (): Promise<void> {
    clearInterval(this.timer)
    const all = [...this.instances.values()]
    this.instances.clear()
    await Promise.all(all.map(i => i.consumer.close().catch(() => {})))
  }
}

function key (group: string, name: string): string {
  return `${group}\u0000${name}`
}
