import { HttpStreamError } from '../errors.js'

/** Why a reader cannot resume where it was after its server came back. */
export type PositionLostReason = 'topic-gone' | 'offsets-lost'

/**
 * The server a reader reconnected to no longer knows where the reader's group was: the topic is gone,
 * or the group's committed offset is missing or behind what the reader had committed (a restarted
 * memory receiver keeps nothing). Reading on would start over or skip records silently, so the
 * stream errors with this instead (`ERR_POSITION_LOST`).
 */
export class PositionLostError extends HttpStreamError {
  readonly reason: PositionLostReason
  readonly topic: string
  readonly partition: number | undefined
  /** The next offset the reader had committed (undefined for 'topic-gone'). */
  readonly committed: number | undefined
  /** The group's committed offset the server now reports (undefined: none). */
  readonly serverCommitted: number | undefined

  constructor (reason: PositionLostReason, where: { topic: string, partition?: number, committed?: number, serverCommitted?: number }) {
    super('ERR_POSITION_LOST', describe(reason, where))
    this.reason = reason
    this.topic = where.topic
    this.partition = where.partition
    this.committed = where.committed
    this.serverCommitted = where.serverCommitted
  }
}

function describe (reason: PositionLostReason, w: { topic: string, partition?: number, committed?: number, serverCommitted?: number }): string {
  if (reason === 'topic-gone') {
    return `topic ${w.topic} is gone from the server the reader reconnected to (it restarted without its data?): cannot resume`
  }
  const now = w.serverCommitted === undefined ? 'no committed offset' : `committed offset ${w.serverCommitted}`
  return `the server the reader reconnected to has lost the group's position on ${w.topic}/${w.partition ?? 0}: ` +
    `the reader had committed offset ${w.committed ?? 0} (the next to read), the server now has ${now} (it restarted without its offsets?): ` +
    'reading on would start over'
}
