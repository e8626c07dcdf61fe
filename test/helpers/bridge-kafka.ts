/**
 * Kafka side of the bridge tests, over the librdkafka mock cluster: produce numbered records to
 * a topic's partitions, read a group's committed offsets and the topic's end offsets.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs'

export interface BridgeRecord { id: number, p: number, poison?: true }

const client = (brokers: string[]): Kafka => new Kafka({ clientId: 'bridge-test', brokers, logLevel: logLevel.NOTHING })

/** Produces records `first`..`first+count-1` round-robin over `partitions`; ids `poisonEvery` apart are marked poison. */
export async function produceRecords (brokers: string[], topic: string, partitions: number, count: number, options: { first?: number, poisonEvery?: number } = {}): Promise<BridgeRecord[]> {
  const { first = 0, poisonEvery } = options
  const producer = client(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const records: BridgeRecord[] = []
  try {
    for (let start = first; start < first + count; start += 1000) {
      const chunk: BridgeRecord[] = []
      for (let id = start; id < Math.min(first + count, start + 1000); id++) {
        const r: BridgeRecord = { id, p: id % partitions }
        if (poisonEvery !== undefined && id % poisonEvery === poisonEvery - 1) r.poison = true
        chunk.push(r)
      }
      await producer.send({ topic, acks: -1, messages: chunk.map((r) => ({ partition: r.p, value: JSON.stringify(r) })) })
      records.push(...chunk)
    }
  } finally {
    await producer.disconnect()
  }
  return records
}

/** `partition → offset` committed by `groupId` (-1 when none), and the topic's end offsets. */
export async function groupOffsets (brokers: string[], topic: string, groupId: string): Promise<{ committed: Record<number, number>, end: Record<number, number> }> {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const end = await admin.fetchTopicOffsets(topic)
    return {
      committed: Object.fromEntries(partitions!.map((p) => [p.partition, Number(p.offset)])),
      end: Object.fromEntries(end.map((p) => [p.partition, Number(p.high)]))
    }
  } finally {
    await admin.disconnect()
  }
}

/** Waits (polling every 250 ms, up to `withinMs`) until `predicate()` resolves true. */
export async function eventually (predicate: () => Promise<boolean> | boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`not within ${withinMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export interface CommitSample { at: number, committed: Record<number, number> }

/**
 * Polls `groupId`'s committed offsets for `topic` every `everyMs` (one admin client, the group
 * coordinator only), each sample stamped with performance.now(): a commit is known to have happened
 * before the first sample that shows it.
 */
export function watchCommits (brokers: string[], topic: string, groupId: string, everyMs = 200): { samples: CommitSample[], stop: () => Promise<void> } {
  const admin = client(brokers).admin()
  const samples: CommitSample[] = []
  let running = true
  const loop = (async () => {
    await admin.connect()
    while (running) {
      try {
        const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [topic] })
        samples.push({ at: performance.now(), committed: Object.fromEntries(partitions!.map((p) => [p.partition, Number(p.offset)])) })
      } catch {
        // The coordinator is busy (a rebalance): the next sample tells.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
    await admin.disconnect()
  })()
  return { samples, stop: async () => { running = false; await loop } }
}

/** The highest offset committed for `partition` in a sample taken before `at` (-1 when none). */
export function committedBefore (samples: readonly CommitSample[], partition: number, at: number): number {
  let best = -1
  for (const s of samples) {
    if (s.at >= at) break
    best = Math.max(best, s.committed[partition] ?? -1)
  }
  return best
}
