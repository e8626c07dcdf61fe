import type { ProducedOffset, ProduceRecord, Receiver, ReceiverOperation } from './receiver.js'
import { ReceiverClosedError } from './receiver-errors.js'

/**
 * Accepts every record and keeps none (spark-http-stream's NullActionsHandler): for load tests and
 * for measuring the HTTP side alone. Offsets count records per topic so producers see progress.
 */
export class NullReceiver implements Receiver {
  readonly kind = 'null'
  readonly operations: ReadonlySet<ReceiverOperation> = new Set<ReceiverOperation>(['produce'])
  private readonly counts = new Map<string, number>()
  private closed = false

  async produce (topic: string, records: ProduceRecord[]): Promise<ProducedOffset[]> {
    if (this.closed) throw new ReceiverClosedError(this.kind)
    const first = this.counts.get(topic) ?? 0
    this.counts.set(topic, first + records.length)
    return records.map((_, i) => ({ partition: 0, offset: first + i }))
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
