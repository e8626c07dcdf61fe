/**
 * The WebHDFS REST calls the WebHDFS store needs, per the Hadoop WebHDFS REST API:
 * `http://host:port/webhdfs/v1/<path>?op=…&user.name=…`. CREATE and APPEND are two-step: the
 * namenode answers 307 with the Location of a datanode, and the data goes there (201 / 200).
 * Errors come as `{"RemoteException":{"exception","javaClassName","message"}}`.
 */
import { StoreError } from '../errors.js'
import { StoreHttp, header, isNetworkError, type HttpAnswer } from './store-http.js'

/** An HDFS exception reported by the namenode or a datanode. Code ERR_STORE. */
export class WebHdfsError extends StoreError {
  /** The Java exception's simple name, e.g. `AlreadyBeingCreatedException`; '' when the body had none. */
  readonly exception: string
  readonly status: number
  constructor (status: number, exception: string, message: string) {
    super(`WebHDFS ${status}${exception === '' ? '' : ` ${exception}`}: ${message}`)
    this.status = status
    this.exception = exception
  }
}

/** Another writer's lease, lease recovery, a standby or busy namenode: retry after a while. */
const LEASE = new Set(['AlreadyBeingCreatedException', 'RecoveryInProgressException', 'LeaseExpiredException'])
const BUSY = new Set(['StandbyException', 'RetriableException', 'SafeModeException', 'NotReplicatedYetException', 'ServerNotRunningYetException'])

export function isAlreadyExists (err: unknown): boolean {
  return err instanceof WebHdfsError && err.exception === 'FileAlreadyExistsException'
}

export function isLeaseError (err: unknown): boolean {
  return err instanceof WebHdfsError && (LEASE.has(err.exception) || /\blease\b/i.test(err.message))
}

/** Worth another attempt: lease and busy exceptions, 5xx/408/429, no answer at all. */
export function isRetryableHdfsError (err: unknown): boolean {
  if (err instanceof WebHdfsError) {
    return isLeaseError(err) || BUSY.has(err.exception) || err.status >= 500 || err.status === 408 || err.status === 429
  }
  return isNetworkError(err)
}

export interface FileStatus {
  pathSuffix: string
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK'
  length: number
  modificationTime: number
}

export class WebHdfsClient {
  readonly #base: string
  readonly #user: string
  readonly #http: StoreHttp

  constructor (host: string, port: number, user: string, timeout: number) {
    this.#base = `http://${host.includes(':') ? `[${host}]` : host}:${port}/webhdfs/v1`
    this.#user = user
    this.#http = new StoreHttp(timeout)
  }

  #url (path: string, op: string, params: Record<string, string | number> = {}): string {
    const query = new URLSearchParams({ op, 'user.name': this.#user })
    for (const [k, v] of Object.entries(params)) query.set(k, String(v))
    return `${this.#base}${path.split('/').map(encodeURIComponent).join('/')}?${query}`
  }

  /** Creates `path` with `data`; fails with FileAlreadyExistsException if it exists, unless `overwrite`. */
  async create (path: string, data: Buffer, overwrite = false): Promise<void> {
    await this.#twoStep('PUT', this.#url(path, 'CREATE', { overwrite: String(overwrite) }), data)
  }

  async append (path: string, data: Buffer): Promise<void> {
    await this.#twoStep('POST', this.#url(path, 'APPEND'), data)
  }

  async #twoStep (method: 'PUT' | 'POST', url: string, data: Buffer): Promise<void> {
    // Step 1: no data, do not follow the redirect. Step 2: the data to the datanode it names.
    const first = await this.#http.send(method, url)
    const location = header(first, 'location')
    if (first.status !== 307 || location === undefined) throw failure(first)
    const second = await this.#http.send(method, location, { body: data, headers: { 'content-type': 'application/octet-stream' } })
    if (second.status < 200 || second.status >= 300) throw failure(second) // 201 for CREATE, 200 for APPEND
  }

  /** Bytes [offset, offset + length) of a file; null when it does not exist. */
  async open (path: string, offset: number, length: number): Promise<Buffer | null> {
    const first = await this.#http.send('GET', this.#url(path, 'OPEN', { offset, length }))
    if (first.status === 404) return null
    const location = header(first, 'location')
    const answer = first.status === 307 && location !== undefined ? await this.#http.send('GET', location) : first
    if (answer.status === 404) return null
    if (answer.status !== 200) throw failure(answer)
    return answer.body
  }

  /** Entries of a directory; empty when it does not exist. */
  async list (path: string): Promise<FileStatus[]> {
    const answer = await this.#http.send('GET', this.#url(path, 'LISTSTATUS'))
    if (answer.status === 404) return []
    if (answer.status !== 200) throw failure(answer)
    const parsed = JSON.parse(answer.body.toString('utf8')) as { FileStatuses?: { FileStatus?: FileStatus[] } }
    return parsed.FileStatuses?.FileStatus ?? []
  }

  /** true when something was deleted. */
  async delete (path: string): Promise<boolean> {
    const answer = await this.#http.send('DELETE', this.#url(path, 'DELETE', { recursive: 'false' }))
    if (answer.status === 404) return false
    if (answer.status !== 200) throw failure(answer)
    return (JSON.parse(answer.body.toString('utf8')) as { boolean?: boolean }).boolean === true
  }

  async rename (from: string, to: string): Promise<boolean> {
    const answer = await this.#http.send('PUT', this.#url(from, 'RENAME', { destination: to }))
    if (answer.status !== 200) throw failure(answer)
    return (JSON.parse(answer.body.toString('utf8')) as { boolean?: boolean }).boolean === true
  }

  close (): Promise<void> {
    return this.#http.close()
  }
}

function failure (answer: HttpAnswer): WebHdfsError {
  const text = answer.body.toString('utf8')
  try {
    const remote = (JSON.parse(text) as { RemoteException?: { exception?: string, message?: string } }).RemoteException
    if (remote !== undefined) return new WebHdfsError(answer.status, remote.exception ?? '', remote.message ?? '')
  } catch {}
  return new WebHdfsError(answer.status, '', answer.status === 307 ? 'redirect without Location' : text.slice(0, 200))
}
