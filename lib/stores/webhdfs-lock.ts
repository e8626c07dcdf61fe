/**
 * The WebHDFS store's replay lock (see lease-lock.ts): the file `<root>/replay.lock`. Creating it
 * is a CREATE with `overwrite=false`, which HDFS refuses with FileAlreadyExistsException when the
 * file exists: one replay wins. An expired lock is taken over by RENAMING it to a name of our own
 * (HDFS renames atomically, so one taker wins), then creating ours. Renewal rewrites our own file
 * (`overwrite=true`) after checking it is still ours; release deletes it.
 */
import { randomBytes } from 'node:crypto'
import type { LeaseBackend } from './lease-lock.js'
import { isAlreadyExists, type WebHdfsClient } from './webhdfs-client.js'

export type Retrying = <T>(what: string, operation: () => Promise<T>) => Promise<T>

export const WEBHDFS_LOCK_FILE = 'replay.lock'

export class WebHdfsLockFile implements LeaseBackend {
  readonly where: string
  readonly #client: WebHdfsClient
  readonly #retrying: Retrying

  constructor (client: WebHdfsClient, root: string, retrying: Retrying) {
    this.#client = client
    this.#retrying = retrying
    this.where = `${root}/${WEBHDFS_LOCK_FILE}`
  }

  create (content: string): Promise<boolean> {
    return this.#retrying('take the replay lock', async () => {
      try {
        await this.#client.create(this.where, Buffer.from(content))
        return true
      } catch (err) {
        if (isAlreadyExists(err)) return false
        throw err
      }
    })
  }

  read (): Promise<string | null> {
    return this.#readAt(this.where)
  }

  async #readAt (path: string): Promise<string | null> {
    const data = await this.#retrying('read the replay lock', () => this.#client.open(path, 0, 64 * 1024))
    return data === null ? null : data.toString('utf8')
  }

  async takeOver (expected: string, content: string): Promise<boolean> {
    const aside = `${this.where}.expired-${randomBytes(6).toString('hex')}`
    if (!await this.#retrying('move an expired replay lock aside', () => this.#client.rename(this.where, aside))) return false
    const moved = await this.#readAt(aside)
    if (moved !== expected) {
      // Renewed by its holder between our read and the rename: put it back.
      await this.#retrying('put a replay lock back', () => this.#client.rename(aside, this.where)).catch(() => false)
      return false
    }
    await this.#retrying('delete an expired replay lock', () => this.#client.delete(aside)).catch(() => false)
    return await this.create(content)
  }

  async renew (expected: string, content: string): Promise<boolean> {
    if (await this.read() !== expected) return false
    await this.#retrying('renew the replay lock', () => this.#client.create(this.where, Buffer.from(content), true))
    return true
  }

  async remove (expected: string): Promise<void> {
    if (await this.read() !== expected) return
    await this.#retrying('remove the replay lock', () => this.#client.delete(this.where))
  }
}
