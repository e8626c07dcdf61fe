/**
 * A WebHDFS protocol server for tests, written from the Hadoop WebHDFS REST API document: a
 * "namenode" and a "datanode" (two node:http servers on 127.0.0.1, port 0) over an in-memory file
 * tree. CREATE (PUT) and APPEND (POST) answer 307 with the datanode Location; the data goes there
 * (201 Created with a Location / 200 OK). OPEN redirects too; LISTSTATUS, GETFILESTATUS, DELETE,
 * RENAME and MKDIRS answer JSON. Errors are `{"RemoteException":{exception, javaClassName, message}}`
 * with the statuses Hadoop uses (404 FileNotFound, 403 other IOExceptions, 400 bad arguments).
 * Fault switches: answer the next N writes with lease errors, tear the next write, go down.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

interface Node { type: 'FILE' | 'DIRECTORY', data: Buffer, modificationTime: number }

export interface WebHdfsOp { node: 'namenode' | 'datanode', method: string, op: string, path: string, user: string | null, status: number }

const JAVA: Record<string, string> = {
  FileNotFoundException: 'java.io.FileNotFoundException',
  FileAlreadyExistsException: 'org.apache.hadoop.fs.FileAlreadyExistsException',
  AlreadyBeingCreatedException: 'org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException',
  RecoveryInProgressException: 'org.apache.hadoop.hdfs.protocol.RecoveryInProgressException',
  LeaseExpiredException: 'org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException',
  AccessControlException: 'org.apache.hadoop.security.AccessControlException',
  IllegalArgumentException: 'java.lang.IllegalArgumentException',
  UnsupportedOperationException: 'java.lang.UnsupportedOperationException'
}

class Remote extends Error {
  constructor (readonly status: number, readonly exception: string, message: string) { super(message) }
}

export class WebHdfsServer {
  /** Every file and directory, by absolute path. */
  readonly nodes = new Map<string, Node>([['/', { type: 'DIRECTORY', data: Buffer.alloc(0), modificationTime: Date.now() }]])
  readonly ops: WebHdfsOp[] = []
  /** Next write operations (CREATE/APPEND on the datanode) to refuse with these exceptions, in order. */
  leaseFaults: string[] = []
  /** The next datanode write stores only half its data, then drops the connection. */
  tearNextWrite = false
  #namenode = http.createServer((req, res) => this.#handle('namenode', req, res))
  #datanode = http.createServer((req, res) => this.#handle('datanode', req, res))
  readonly #sockets = new Set<Socket>()
  namenodePort = 0
  datanodePort = 0

  async listen (): Promise<void> {
    for (const server of [this.#namenode, this.#datanode]) {
      server.on('connection', (s: Socket) => { this.#sockets.add(s); s.once('close', () => this.#sockets.delete(s)) })
    }
    this.namenodePort = await listenOn(this.#namenode, 0)
    this.datanodePort = await listenOn(this.#datanode, 0)
  }

  get address (): string {
    return `127.0.0.1:${this.namenodePort}`
  }

  /** Refuses lease errors for the next `n` writes (AlreadyBeingCreated, RecoveryInProgress, LeaseExpired in turn). */
  failWrites (n: number): void {
    const kinds = ['AlreadyBeingCreatedException', 'RecoveryInProgressException', 'LeaseExpiredException']
    for (let i = 0; i < n; i++) this.leaseFaults.push(kinds[i % kinds.length]!)
  }

  /** Both nodes stop listening and drop their connections. */
  async down (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await Promise.all([this.#namenode, this.#datanode].map((s) => new Promise((resolve) => s.close(resolve))))
  }

  async up (): Promise<void> {
    await listenOn(this.#namenode, this.namenodePort)
    await listenOn(this.#datanode, this.datanodePort)
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await Promise.all([this.#namenode, this.#datanode].map((s) => s.listening ? new Promise((resolve) => s.close(resolve)) : undefined))
  }

  /** Files (not directories) whose path starts with `prefix`. */
  files (prefix = '/'): Map<string, Buffer> {
    const out = new Map<string, Buffer>()
    for (const [path, node] of this.nodes) if (node.type === 'FILE' && path.startsWith(prefix)) out.set(path, node.data)
    return out
  }

  #handle (node: 'namenode' | 'datanode', req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const op = (url.searchParams.get('op') ?? '').toUpperCase()
      const path = decodeURIComponent(url.pathname.replace(/^\/webhdfs\/v1/, '')) || '/'
      const entry: WebHdfsOp = { node, method: req.method ?? '', op, path, user: url.searchParams.get('user.name'), status: 0 }
      this.ops.push(entry)
      try {
        if (!url.pathname.startsWith('/webhdfs/v1/')) throw new Remote(404, 'FileNotFoundException', `no such resource ${url.pathname}`)
        const answer = node === 'namenode' ? this.#namenodeOp(req.method ?? '', op, path, url) : this.#datanodeOp(req.method ?? '', op, path, url, Buffer.concat(chunks), res)
        if (answer === undefined) return
        entry.status = answer.status
        res.writeHead(answer.status, answer.headers ?? { 'content-type': 'application/json' })
        res.end(answer.body ?? '')
      } catch (err) {
        const e = err instanceof Remote ? err : new Remote(500, 'RuntimeException', String(err))
        entry.status = e.status
        res.writeHead(e.status, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ RemoteException: { exception: e.exception, javaClassName: JAVA[e.exception] ?? `java.lang.${e.exception}`, message: e.message } }))
      }
    })
  }

  #namenodeOp (method: string, op: string, path: string, url: URL): Answer {
    if (url.searchParams.get('user.name') === null && method !== 'GET') {
      throw new Remote(403, 'AccessControlException', `Permission denied: user=dr.who, access=WRITE, inode="${path}"`)
    }
    const redirect = (): Answer => {
      const location = new URL(`http://127.0.0.1:${this.datanodePort}${url.pathname}${url.search}`)
      location.searchParams.set('namenoderpcaddress', `127.0.0.1:${this.namenodePort}`)
      return { status: 307, headers: { location: location.toString(), 'content-length': '0' } }
    }
    switch (`${method} ${op}`) {
      case 'PUT CREATE': case 'POST APPEND': case 'GET OPEN': return redirect()
      case 'GET LISTSTATUS': {
        const dir = this.#get(path)
        const statuses = dir.type === 'FILE' ? [status('', dir)] : this.#children(path).map(([name, n]) => status(name, n))
        return json({ FileStatuses: { FileStatus: statuses } })
      }
      case 'GET GETFILESTATUS': return json({ FileStatus: status('', this.#get(path)) })
      case 'PUT MKDIRS': this.#mkdirs(path); return json({ boolean: true })
      case 'DELETE DELETE': {
        const n = this.nodes.get(path)
        if (n === undefined) return json({ boolean: false })
        if (n.type === 'DIRECTORY' && this.#children(path).length > 0 && url.searchParams.get('recursive') !== 'true') {
          throw new Remote(403, 'PathIsNotEmptyDirectoryException', `${path} is non empty`)
        }
        for (const p of [...this.nodes.keys()]) if (p === path || p.startsWith(path + '/')) this.nodes.delete(p)
        return json({ boolean: true })
      }
      case 'PUT RENAME': {
        const to = url.searchParams.get('destination')
        if (to === null) throw new Remote(400, 'IllegalArgumentException', 'destination is missing')
        const n = this.nodes.get(path)
        if (n === undefined || this.nodes.has(to) || n.type !== 'FILE') return json({ boolean: false })
        this.nodes.delete(path)
        this.nodes.set(to, n)
        return json({ boolean: true })
      }
      default: throw new Remote(400, 'IllegalArgumentException', `Invalid value for webhdfs parameter "op": ${method} ${op}`)
    }
  }

  #datanodeOp (method: string, op: string, path: string, url: URL, data: Buffer, res: http.ServerResponse): Answer | undefined {
    if (op === 'OPEN' && method === 'GET') {
      const file = this.#get(path)
      if (file.type !== 'FILE') throw new Remote(404, 'FileNotFoundException', `Path is not a file: ${path}`)
      const offset = Number(url.searchParams.get('offset') ?? 0)
      const length = url.searchParams.has('length') ? Number(url.searchParams.get('length')) : file.data.length
      return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: file.data.subarray(offset, offset + length) }
    }
    if (!((op === 'CREATE' && method === 'PUT') || (op === 'APPEND' && method === 'POST'))) {
      throw new Remote(400, 'IllegalArgumentException', `datanode does not serve ${method} ${op}`)
    }
    const lease = this.leaseFaults.shift()
    if (lease !== undefined) {
      const why = lease === 'RecoveryInProgressException' ? 'lease recovery is in progress. Try again later.' : 'this file lease is currently owned by DFSClient_NONMAPREDUCE_1 on 10.0.0.9'
      throw new Remote(403, lease, `Failed to ${op === 'CREATE' ? 'CREATE_FILE' : 'APPEND_FILE'} ${path} for DFSClient_NONMAPREDUCE_2 on 127.0.0.1 because ${why}`)
    }
    let node = this.nodes.get(path)
    if (op === 'CREATE') {
      if (node !== undefined && url.searchParams.get('overwrite') !== 'true') throw new Remote(403, 'FileAlreadyExistsException', `${path} for client 127.0.0.1 already exists`)
      this.#mkdirs(path.slice(0, path.lastIndexOf('/')) || '/')
      node = { type: 'FILE', data: Buffer.alloc(0), modificationTime: Date.now() }
      this.nodes.set(path, node)
    } else if (node === undefined || node.type !== 'FILE') {
      throw new Remote(404, 'FileNotFoundException', `File ${path} not found`)
    }
    if (this.tearNextWrite) {
      this.tearNextWrite = false
      node.data = Buffer.concat([node.data, data.subarray(0, Math.floor(data.length / 2))])
      res.socket?.destroy()
      return undefined
    }
    node.data = Buffer.concat([node.data, data])
    node.modificationTime = Date.now()
    return op === 'CREATE'
      ? { status: 201, headers: { location: `webhdfs://127.0.0.1:${this.namenodePort}${path}`, 'content-length': '0' } }
      : { status: 200, headers: { 'content-length': '0' } }
  }

  #get (path: string): Node {
    const node = this.nodes.get(path)
    if (node === undefined) throw new Remote(404, 'FileNotFoundException', `File does not exist: ${path}`)
    return node
  }

  #children (dir: string): Array<[string, Node]> {
    const prefix = dir === '/' ? '/' : dir + '/'
    const out: Array<[string, Node]> = []
    for (const [p, n] of this.nodes) if (p !== dir && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push([p.slice(prefix.length), n])
    return out
  }

  #mkdirs (path: string): void {
    let at = ''
    for (const part of path.split('/').filter(Boolean)) {
      at += '/' + part
      const n = this.nodes.get(at)
      if (n?.type === 'FILE') throw new Remote(403, 'ParentNotDirectoryException', `${at} is not a directory`)
      if (n === undefined) this.nodes.set(at, { type: 'DIRECTORY', data: Buffer.alloc(0), modificationTime: Date.now() })
    }
  }
}

interface Answer { status: number, headers?: Record<string, string>, body?: string | Buffer }

const json = (value: unknown): Answer => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })

function status (name: string, n: Node): Record<string, unknown> {
  return {
    accessTime: n.modificationTime, blockSize: 134217728, childrenNum: 0, fileId: 16386, group: 'supergroup', length: n.type === 'FILE' ? n.data.length : 0,
    modificationTime: n.modificationTime, owner: 'hdfs', pathSuffix: name, permission: n.type === 'FILE' ? '644' : '755', replication: n.type === 'FILE' ? 3 : 0, type: n.type
  }
}

async function listenOn (server: http.Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  return (server.address() as AddressInfo).port
}

export async function startWebHdfs (): Promise<WebHdfsServer> {
  const server = new WebHdfsServer()
  await server.listen()
  return server
}
