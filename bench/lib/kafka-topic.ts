/**
 * The Kafka side of the bridge bench (librdkafka's mock cluster): a topic pre-filled with the bench
 * records, and kafkajs consuming all of it with no HTTP (the ceiling a bridge can reach).
 */
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs'
import { makeRecord } from './records.js'

const kafka = (brokers: string[]): Kafka => new Kafka({ clientId: 'bench-bridge', brokers, logLevel: logLevel.NOTHING })

/** Produces records 0..n-1 (JSON, about 110 bytes each) round-robin over `partitions`. */
export async function fillTopic (brokers: string[], topic: string, partitions: number, n: number): Promise<void> {
  const producer = kafka(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  try {
    for (let start = 0; start < n; start += 5000) {
      const messages = []
      for (let i = start; i < Math.min(n, start + 5000); i++) messages.push({ partition: i % partitions, value: JSON.stringify(makeRecord(i)) })
      await producer.send({ topic, acks: -1, messages })
    }
  } finally {
    await producer.disconnect()
  }
}

/** Resolves once `done()` holds (checked every 10 ms), or rejects after `withinMs`. */
export async function until (done: () => boolean, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * kafkajs alone: a fresh group consumes the whole topic (`n` messages), parsing each value as the
 * bridge does. Seconds from the group join to the last message.
 */
export async function consumeWithKafkajs (brokers: string[], topic: string, groupId: string, n: number): Promise<number> {
  const consumer: Consumer = kafka(brokers).consumer({ groupId, maxWaitTimeInMs: 250, sessionTimeout: 10_000 })
  let count = 0
  let joined: bigint | undefined
  consumer.on(consumer.events.GROUP_JOIN, () => { joined ??= process.hrtime.bigint() })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (m.value !== null && JSON.parse(m.value.toString('utf8')) !== undefined) count++
      }
    })
    await until(() => count >= n, 120_000, 'kafkajs consuming the topic')
    return Number(process.hrtime.bigint() - joined!) / 1e9
  } finally {
    await consumer.disconnect()
  }
}
