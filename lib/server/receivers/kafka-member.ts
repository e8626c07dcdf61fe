import type { Consumer, ConsumerConfig, ConsumerRunConfig, Kafka } from 'kafkajs'

/**
 * A kafkajs consumer in its group that can leave at any time, also while it is still joining.
 * kafkajs' `disconnect()` stops only a member that has joined: one still in its first join goes on,
 * joins, and stays in the group for good, heartbeating and holding partitions nobody reads (and
 * keeping its process alive). Here a member that was told to leave and joins anyway leaves at
 * once, and one that crashes after being told to leave is not restarted.
 */
export class GroupMember {
  readonly consumer: Consumer
  private abandoned = false
  private joining = false
  private settled: (() => void) | undefined
  /** The disconnect of a member that joined after it was told to leave. */
  private late: Promise<void> = Promise.resolve()

  /** `onJoin`: the partitions this member holds after each join (a rebalance may have taken some away). */
  constructor (kafka: Kafka, config: ConsumerConfig, onJoin?: (assignment: Record<string, number[]>) => void) {
    // Restart after a retriable crash as kafkajs does by default (retries 5), unless told to leave.
    this.consumer = kafka.consumer({ ...config, retry: { retries: 5, ...config.retry, restartOnFailure: async () => !this.abandoned } })
    const { GROUP_JOIN, CRASH } = this.consumer.events
    this.consumer.on(GROUP_JOIN, (event) => {
      this.joining = false
      if (!this.abandoned) {
        onJoin?.(event.payload.memberAssignment)
        return
      }
      // kafkajs marks its runner running just after this event: only then does disconnect leave the group.
      this.late = new Promise(resolve => setImmediate(resolve)).then(async () => { await this.consumer.disconnect() }).catch(() => {})
      void this.late.then(() => this.settled?.())
    })
    this.consumer.on(CRASH, () => {
      this.joining = false
      this.settled?.()
    })
  }

  /** Starts consuming; resolves once joined (it may take a rebalance timeout), rejects if it cannot start. */
  async run (config: ConsumerRunConfig): Promise<void> {
    this.joining = true
    try {
      await this.consumer.run(config)
    } catch (err) {
      this.joining = false
      throw err
    }
  }

  /** Leaves the group: at once when joined, else as soon as the join under way ends. Never rejects. */
  async leave (): Promise<void> {
    if (this.abandoned) return
    this.abandoned = true
    const settled = new Promise<void>(resolve => { this.settled = resolve })
    await this.consumer.disconnect().catch(() => {})
    if (this.joining) await settled
    await this.late
  }
}
