/**
 * One replay per Kafka consumer group at a time, decided by the group itself. A replay that finds
 * itself alone in the group (its assignment covers every partition of the topic) holds the claim
 * and keeps it through later rebalances. One that joins a group where another replay is, and has
 * not held the claim yet, is refused with StoreLockedError: at once when it is not the group
 * leader, or after `waitMs` when it is the leader and the others do not leave (two replays that
 * joined together: the non-leaders leave, the leader then gets every partition and goes on).
 * Until it holds the claim, a replay yields nothing and commits nothing, so a refused replay has
 * sent nothing and moved no offset.
 */
import { StoreLockedError } from '../errors.js'

export interface GroupJoin {
  groupId: string
  memberId: string
  leaderId: string
  isLeader: boolean
  memberAssignment: Record<string, number[]>
}

export class GroupClaim {
  readonly #store: string
  readonly #topic: string
  readonly #partitions: readonly number[]
  readonly #waitMs: number
  readonly #refuse: (err: StoreLockedError) => void
  readonly #granted: () => void
  #held = false
  #timer: NodeJS.Timeout | undefined

  constructor (options: { store: string, topic: string, partitions: readonly number[], waitMs: number, refuse: (err: StoreLockedError) => void, granted: () => void }) {
    this.#store = options.store
    this.#topic = options.topic
    this.#partitions = options.partitions
    this.#waitMs = options.waitMs
    this.#refuse = options.refuse
    this.#granted = options.granted
  }

  get held (): boolean { return this.#held }

  /** Called on every group join (kafkajs GROUP_JOIN) with what the group assigned us. */
  joined (join: GroupJoin): void {
    const mine = new Set(join.memberAssignment[this.#topic] ?? [])
    if (this.#partitions.every((p) => mine.has(p))) {
      this.stop()
      if (!this.#held) {
        this.#held = true
        this.#granted()
      }
      return
    }
    if (this.#held) return // a newcomer: it is the one refused
    if (!join.isLeader) {
      this.#refuse(new StoreLockedError(this.#store, `another replay in consumer group ${join.groupId} (leader ${join.leaderId})`))
      return
    }
    this.#timer ??= setTimeout(() => {
      this.#refuse(new StoreLockedError(this.#store, `another replay in consumer group ${join.groupId} (it did not leave within ${this.#waitMs} ms)`))
    }, this.#waitMs)
  }

  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
