import { PartitionAssigners, type PartitionAssigner } from 'kafkajs'

/**
 * kafkajs' round-robin assigner, with the leader waiting `ms` before it assigns: a member whose
 * SyncGroup reaches the coordinator after the leader's is then not refused (librdkafka's mock
 * cluster answers INVALID_REQUEST, which kafkajs treats as fatal).
 */
export function delayedRoundRobin (ms: number): PartitionAssigner {
  return (config) => {
    const inner = PartitionAssigners.roundRobin(config)
    return {
      ...inner,
      assign: async (group) => {
        await new Promise((resolve) => setTimeout(resolve, ms))
        return await inner.assign(group)
      }
    }
  }
}
