/**
 * A replay lock kept on a store's server (an HDFS file, an HBase cell): who holds it, a token and
 * an expiry, as JSON. Taken when a replay starts reading, renewed every third of its lifetime while
 * the replay runs, removed at the end. A lock past its expiry belongs to a replayer that died and
 * is taken over; any other makes `acquire` reject at once with StoreLockedError naming the holder.
 * The backend gives the server-side atomic steps; the rules live here, the same for every store.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { StoreLockedError } from '../errors.js'

/** How long a lock lives without renewal: a replayer killed mid-run blocks others at most this long. */
export const REPLAY_LOCK_TTL_MS = 60_000

export interface LeaseBackend {
  /** Where the lock lives, for messages. */
  readonly where: string
  /** Creates the lock holding `content` unless one exists; false when one does. */
  create (content: string): Promise<boolean>
  /** The lock's content, null when there is none. */
  read (): Promise<string | null>
  /** Replaces an expired lock that still holds `expected` with `content`; false when it changed meanwhile. */
  takeOver (expected: string, content: string): Promise<boolean>
  /** Replaces our own lock `expected` with `content` (a later expiry); false when it is not ours any more. */
  renew (expected: string, content: string): Promise<boolean>
  /** Removes the lock if it still holds `expected`. */
  remove (expected: string): Promise<void>
}

interface LockContent { owner: string, token: string, expiresAt: number }

function parse (text: string): LockContent | undefined {
  try {
    const c = JSON.parse(text) as Partial<LockContent>
    if (typeof c.owner === 'string' && typeof c.token === 'string' && typeof c.expiresAt === 'number') return c as LockContent
  } catch {}
  return undefined
}

export class LeaseLock {
  readonly #backend: LeaseBackend
  readonly #ttlMs: number
  readonly #owner: string
  readonly #token: string
  #content: string
  #timer: NodeJS.Timeout | undefined
  #renewing: Promise<void> = Promise.resolve()
  #released: Promise<void> | undefined

  private constructor (backend: LeaseBackend, ttlMs: number, content: LockContent, text: string) {
    this.#backend = backend
    this.#ttlMs = ttlMs
    this.#owner = content.owner
    this.#token = content.token
    this.#content = text
    this.#timer = setInterval(() => { this.#renewing = this.#renewing.then(() => this.#renew()) }, Math.max(50, Math.floor(ttlMs / 3)))
    this.#timer.unref()
  }

  /** Takes the lock or rejects with StoreLockedError (store URI `uri`) naming who holds it. */
  static async acquire (backend: LeaseBackend, uri: string, ttlMs = REPLAY_LOCK_TTL_MS): Promise<LeaseLock> {
    const owner = `pid ${process.pid}@${hostname()}`
    for (let attempt = 0; attempt < 5; attempt++) {
      const content: LockContent = { owner, token: randomUUID(), expiresAt: Date.now() + ttlMs }
      const text = JSON.stringify(content)
      if (await backend.create(text)) return new LeaseLock(backend, ttlMs, content, text)
      const current = await backend.read()
      if (current === null) continue // released meanwhile
      const holder = parse(current)
      if (holder?.token === content.token) return new LeaseLock(backend, ttlMs, content, text) // our create went through after all
      // A lock that is not JSON was torn when written (a crashed writer): as good as expired.
      if (holder !== undefined && holder.expiresAt > Date.now()) {
        throw new StoreLockedError(uri, `${holder.owner} (lock ${backend.where}, expires ${new Date(holder.expiresAt).toISOString()} unless renewed)`)
      }
      if (await backend.takeOver(current, text)) return new LeaseLock(backend, ttlMs, content, text)
    }
    throw new StoreLockedError(uri, `another replay (lock ${backend.where} kept changing hands)`)
  }

  async #renew (): Promise<void> {
    if (this.#released !== undefined) return
    const text = JSON.stringify({ owner: this.#owner, token: this.#token, expiresAt: Date.now() + this.#ttlMs })
    try {
      if (await this.#backend.renew(this.#content, text)) this.#content = text
    } catch {} // the next tick tries again; the lock lives a whole lifetime
  }

  /** Stops renewing and removes the lock if it is still ours. Idempotent; never rejects. */
  release (): Promise<void> {
    this.#released ??= (async () => {
      clearInterval(this.#timer)
      await this.#renewing
      await this.#backend.remove(this.#content).catch(() => {}) // left behind, it expires
    })()
    return this.#released
  }
}
