import { randomUUID } from 'node:crypto'
import { lstat, readlink, rename, symlink, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreError, StoreLockedError } from '../errors.js'
import { describeOwner, mayBeAlive, thisHost, type Owner } from './file-owner.js'

const LOCK = 'replay.lock'

interface LockContent extends Owner {
  token: string
}

/** What the lock says: `pid@host#token`. */
const CONTENT = /^(\d+)@([A-Za-z0-9._-]+)#([0-9a-f-]+)$/

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT'

/**
 * The replay lock of a file store directory: `replay.lock`, a symbolic link whose target says who
 * holds it (`pid@host#token`). Creating a symlink is atomic, fails if one exists, and writes its
 * target with it, so a lock is never seen half-written; it takes no data block, so a full disk can
 * still be replayed. A lock whose holder is gone (same host, `process.kill(pid, 0)` says ESRCH) is
 * stale and taken over; any other holder makes `acquire` reject with StoreLockedError naming it
 * (`pid@host`). Writers look at the lock's mtime to seal the segment they had open before it.
 */
export class ReplayLock {
  readonly #path: string
  readonly #token: string

  private constructor (path: string, token: string) {
    this.#path = path
    this.#token = token
  }

  static async acquire (directory: string, uri: string): Promise<ReplayLock> {
    const path = join(directory, LOCK)
    for (let attempt = 0; attempt < 10; attempt++) {
      const content: LockContent = { pid: process.pid, host: thisHost(), token: randomUUID() }
      if (await create(path, content, directory)) return new ReplayLock(path, content.token)
      const holder = await readLock(path)
      if (holder === undefined) continue
      if (holder === null) throw new StoreLockedError(uri, `unknown (${path} is not a lock this package wrote)`)
      if (mayBeAlive(holder)) throw new StoreLockedError(uri, describeOwner(holder))
      await breakStale(path, holder)
    }
    throw new StoreLockedError(uri, 'another replay (the lock kept changing hands)')
  }

  /** Removes the lock if it is still ours. Idempotent. */
  async release (): Promise<void> {
    const current = await readLock(this.#path)
    if (current?.token === this.#token) await unlink(this.#path).catch((err: unknown) => { if (!isMissing(err)) throw err })
  }
}

/** When the current replay lock of `directory` was taken (its mtime), or undefined when there is none. */
export async function replayLockedSince (directory: string): Promise<number | undefined> {
  try {
    return (await lstat(join(directory, LOCK))).mtimeMs
  } catch (err) {
    if (isMissing(err)) return undefined
    throw err
  }
}

const target = (content: LockContent): string => `${content.pid}@${content.host}#${content.token}`

/** Creates the lock with its content in one step; false when a lock exists. */
async function create (path: string, content: LockContent, directory: string): Promise<boolean> {
  try {
    await symlink(target(content), path)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    if (code === 'ENOENT') throw new StoreError(`${directory}: no such store directory`, { cause: err })
    throw new StoreError(`cannot lock ${path}: ${(err as Error).message}`, { cause: err })
  }
}

/** The lock's content; undefined when there is no lock, null when it cannot be read as one. */
async function readLock (path: string): Promise<LockContent | undefined | null> {
  let text: string
  try {
    text = await readlink(path)
  } catch (err) {
    if (isMissing(err)) return undefined
    if ((err as NodeJS.ErrnoException).code === 'EINVAL') return null
    throw err
  }
  const m = CONTENT.exec(text)
  return m === null ? null : { pid: Number(m[1]), host: m[2]!, token: m[3]! }
}

/**
 * Removes a stale lock, and only that one: it is moved aside first and checked; if another replay
 * replaced it meanwhile, that lock is put back.
 */
async function breakStale (path: string, stale: LockContent): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomUUID()}`
  try {
    await rename(path, aside)
  } catch (err) {
    if (isMissing(err)) return
    throw err
  }
  const moved = await readLock(aside)
  // Put back without overwriting: if a third replay locked meanwhile, it keeps its lock.
  if (moved != null && moved.token !== stale.token) await symlink(target(moved), path).catch(() => {})
  await unlink(aside)
}
