/**
 * An HBase REST (Stargate) protocol server for tests, written from the HBase REST documentation,
 * JSON representation only: table schema (`GET|PUT /<table>/schema`), cell store (`PUT|POST
 * /<table>/<row>` with a CellSet whose row keys, columns and values are base64), row delete
 * (`DELETE /<table>/<row>`), scanners (`PUT /<table>/scanner` → 201 + Location; `GET` the scanner
 * for up to `batch` cells per answer, 204 when exhausted; `DELETE` it), check-and-put (`PUT
 * /<table>/<row>?check=put`: one row, the cells to put, then the cell to check, whose column must
 * be among those put; 200 when applied, 304 when the current value differs; an empty expected
 * value matches a cell that is absent or empty, as HBase's checkAndMutate does), check-and-delete
 * (`DELETE /<table>/<row>?check=delete`, the cell to check last; alone, its column is what goes;
 * 200 / 304 likewise). A row left without cells is gone. Rows are kept sorted by
 * key bytes, as HBase does. Fault switches: answer the next N requests 503, go down.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

type Row = Map<string, Buffer>
interface Table { families: Set<string>, rows: Map<string, Row> }
interface Scanner { table: string, keys: string[], row: number, cell: number, batch: number }

const fromB64 = (s: string): string => Buffer.from(s, 'base64').toString('latin1')
const toB64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s).toString('base64')

export class HBaseRestServer {
  readonly tables = new Map<string, Table>()
  readonly requests: Array<{ method: string, path: string, status: number }> = []
  /** The next N requests answer 503 (a region server unavailable). */
  unavailable = 0
  /** A server-side cap on cells per scanner answer (splits rows across answers). */
  maxCellsPerAnswer = Infinity
  port = 0
  readonly #server = http.createServer((req, res) => this.#handle(req, res))
  readonly #sockets = new Set<Socket>()
  readonly #scanners = new Map<string, Scanner>()
  #nextScanner = 1

  async listen (port = 0): Promise<void> {
    this.#server.on('connection', (s: Socket) => { this.#sockets.add(s); s.once('close', () => this.#sockets.delete(s)) })
    await new Promise<void>((resolve) => this.#server.listen(port, '127.0.0.1', resolve))
    this.port = (this.#server.address() as AddressInfo).port
  }

  get address (): string {
    return `127.0.0.1:${this.port}`
  }

  async down (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    await new Promise((resolve) => this.#server.close(resolve))
  }

  async up (): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.port, '127.0.0.1', resolve))
  }

  async close (): Promise<void> {
    for (const s of this.#sockets) s.destroy()
    if (this.#server.listening) await new Promise((resolve) => this.#server.close(resolve))
  }

  /** Rows of a table as key → (column → value text). */
  rows (table: string): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>()
    for (const [key, row] of this.tables.get(table)?.rows ?? []) out.set(key, new Map([...row].map(([c, v]) => [c, v.toString('utf8')])))
    return out
  }

  #handle (req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const method = req.method ?? 'GET'
      const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s)
      let answer: Answer
      if (this.unavailable > 0) {
        this.unavailable--
        answer = text(503, 'Unavailable\r\nRegion server is not available\r\n')
      } else {
        try {
          answer = this.#route(method, path.split('/').slice(1).map(decodeURIComponent), Buffer.concat(chunks).toString('utf8'), req.headers, new URLSearchParams(query))
        } catch (err) {
          answer = text(400, `Bad request\r\n${(err as Error).message}\r\n`)
        }
      }
      this.requests.push({ method, path, status: answer.status })
      res.writeHead(answer.status, answer.headers)
      res.end(answer.body)
    })
  }

  #route (method: string, parts: string[], body: string, headers: http.IncomingHttpHeaders, query: URLSearchParams): Answer {
    const [tableName = '', second, third] = parts
    if (method === 'GET' && !(headers.accept ?? '').includes('application/json')) return text(406, 'Not Acceptable (this test server speaks JSON only)\r\n')
    if (second === 'schema') return this.#schema(method, tableName, body)
    const table = this.tables.get(tableName)
    if (table === undefined) return text(404, `Not found\r\nTableNotFoundException: ${tableName}\r\n`)
    if (second === 'scanner') return this.#scanner(method, tableName, table, third, body)
    if (second === undefined || second === '') return text(405, 'Method not allowed\r\n')
    if ((method === 'PUT' || method === 'POST') && query.get('check') === 'put') return this.#checkAndPut(table, second, body)
    if (method === 'PUT' || method === 'POST') return this.#store(table, body)
    if (method === 'DELETE' && query.get('check') === 'delete') return this.#checkAndDelete(table, second, body)
    if (method === 'DELETE') {
      table.rows.delete(second)
      return text(200, '')
    }
    if (method === 'GET') {
      const row = table.rows.get(second)
      return row === undefined ? text(404, 'Not found\r\n') : json(200, { Row: [cellRow(second, row, 0, row.size)] })
    }
    return text(405, 'Method not allowed\r\n')
  }

  #schema (method: string, name: string, body: string): Answer {
    const table = this.tables.get(name)
    if (method === 'GET') {
      if (table === undefined) return text(404, `Not found\r\nTableNotFoundException: ${name}\r\n`)
      return json(200, { name, ColumnSchema: [...table.families].map((f) => ({ name: f, VERSIONS: '1', BLOCKCACHE: 'true' })) })
    }
    if (method === 'PUT' || method === 'POST') {
      const schema = JSON.parse(body) as { ColumnSchema?: Array<{ name: string }> }
      const families = (schema.ColumnSchema ?? []).map((c) => c.name)
      if (families.length === 0) throw new Error('a table needs a column family')
      if (table === undefined) {
        this.tables.set(name, { families: new Set(families), rows: new Map() })
        return text(201, '')
      }
      for (const f of families) table.families.add(f)
      return text(200, '')
    }
    if (method === 'DELETE') {
      this.tables.delete(name)
      return text(200, '')
    }
    return text(405, 'Method not allowed\r\n')
  }

  #store (table: Table, body: string): Answer {
    const cellSet = JSON.parse(body) as { Row?: Array<{ key: string, Cell?: Array<{ column: string, $: string }> }> }
    const updates: Array<[string, string, Buffer]> = []
    for (const row of cellSet.Row ?? []) {
      for (const cell of row.Cell ?? []) {
        const column = fromB64(cell.column)
        const family = column.split(':')[0]!
        if (!table.families.has(family)) return text(404, `Not found\r\nNoSuchColumnFamilyException: ${family}\r\n`)
        updates.push([fromB64(row.key), column, Buffer.from(cell.$, 'base64')])
      }
    }
    for (const [key, column, value] of updates) {
      let row = table.rows.get(key)
      if (row === undefined) table.rows.set(key, row = new Map())
      row.set(column, value)
    }
    return text(200, '')
  }

  /** The one row of a check-and-put/delete body: its key (from the body, else the URL) and cells. */
  #checkedRow (urlKey: string, body: string): { key: string, cells: Array<{ column: string, $: string }> } | Answer {
    const cellSet = JSON.parse(body) as { Row?: Array<{ key?: string, Cell?: Array<{ column: string, $: string }> }> }
    const rows = cellSet.Row ?? []
    if (rows.length !== 1) return text(400, 'Bad request: Number of rows specified is not 1.\r\n')
    return { key: rows[0]!.key === undefined ? urlKey : fromB64(rows[0]!.key), cells: rows[0]!.Cell ?? [] }
  }

  #matches (table: Table, key: string, column: string, expectedB64: string): boolean {
    const expected = Buffer.from(expectedB64, 'base64')
    const current = table.rows.get(key)?.get(column)
    return expected.length === 0 ? current === undefined || current.length === 0 : current !== undefined && current.equals(expected)
  }

  #checkAndDelete (table: Table, urlKey: string, body: string): Answer {
    const found = this.#checkedRow(urlKey, body)
    if ('status' in found) return found
    const { key, cells } = found
    if (cells.length === 0) return text(400, 'Bad request: Column not specified for check.\r\n')
    const check = cells[cells.length - 1]!
    const checkColumn = fromB64(check.column)
    if (!checkColumn.includes(':')) return text(400, 'Bad request: Column to check incorrectly specified.\r\n')
    if (!this.#matches(table, key, checkColumn, check.$)) return text(304, ' Delete check failed.\r\n')
    const row = table.rows.get(key)
    const doomed = cells.length === 1 ? [checkColumn] : cells.slice(0, -1).map((c) => fromB64(c.column))
    for (const column of doomed) {
      for (const existing of [...(row?.keys() ?? [])]) if (existing === column || (!column.includes(':') && existing.startsWith(`${column}:`))) row!.delete(existing)
    }
    if (row !== undefined && row.size === 0) table.rows.delete(key)
    return text(200, '')
  }

  #checkAndPut (table: Table, urlKey: string, body: string): Answer {
    const found = this.#checkedRow(urlKey, body)
    if ('status' in found) return found
    const { key, cells } = found
    if (cells.length <= 1) return text(400, 'Bad request: Either row key is null or no data found for columns specified.\r\n')
    const check = cells[cells.length - 1]!
    const checkColumn = fromB64(check.column)
    const puts = cells.slice(0, -1).map((c) => [fromB64(c.column), Buffer.from(c.$, 'base64')] as const)
    if (!checkColumn.includes(':') || checkColumn.endsWith(':')) return text(400, 'Bad request: Column incorrectly specified.\r\n')
    if (!puts.some(([column]) => column === checkColumn)) return text(400, 'Bad request: The column to put and check do not match.\r\n')
    for (const [column] of puts) {
      const family = column.split(':')[0]!
      if (!table.families.has(family)) return text(404, `Not found\r\nNoSuchColumnFamilyException: ${family}\r\n`)
    }
    if (!this.#matches(table, key, checkColumn, check.$)) return text(304, 'Value not Modified\r\n')
    let row = table.rows.get(key)
    if (row === undefined) table.rows.set(key, row = new Map())
    for (const [column, value] of puts) row.set(column, value)
    return text(200, '')
  }

  #scanner (method: string, tableName: string, table: Table, id: string | undefined, body: string): Answer {
    if (id === undefined && (method === 'PUT' || method === 'POST')) {
      const model = body === '' ? {} : JSON.parse(body) as { batch?: number }
      const scannerId = `${Date.now()}${this.#nextScanner++}`
      const keys = [...table.rows.keys()].sort(compareBytes)
      this.#scanners.set(scannerId, { table: tableName, keys, row: 0, cell: 0, batch: Math.max(1, model.batch ?? 1) })
      return { status: 201, headers: { location: `http://127.0.0.1:${this.port}/${encodeURIComponent(tableName)}/scanner/${scannerId}`, 'content-length': '0' }, body: '' }
    }
    const scanner = id === undefined ? undefined : this.#scanners.get(id)
    if (scanner === undefined) return text(404, 'Not found\r\n')
    if (method === 'DELETE') {
      this.#scanners.delete(id!)
      return text(200, '')
    }
    if (method !== 'GET') return text(405, 'Method not allowed\r\n')
    // Up to `batch` cells per answer; a row may be split across answers.
    const rows: unknown[] = []
    let budget = Math.min(scanner.batch, this.maxCellsPerAnswer)
    while (budget > 0 && scanner.row < scanner.keys.length) {
      const key = scanner.keys[scanner.row]!
      const row = table.rows.get(key)
      if (row === undefined) { scanner.row++; scanner.cell = 0; continue } // deleted since the scan began
      const take = Math.min(budget, row.size - scanner.cell)
      rows.push(cellRow(key, row, scanner.cell, take))
      budget -= take
      scanner.cell += take
      if (scanner.cell >= row.size) { scanner.row++; scanner.cell = 0 }
    }
    if (rows.length === 0) return { status: 204, headers: {}, body: '' }
    return json(200, { Row: rows })
  }
}

interface Answer { status: number, headers: Record<string, string>, body: string }
const text = (status: number, body: string): Answer => ({ status, headers: { 'content-type': 'text/plain' }, body })
const json = (status: number, value: unknown): Answer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })

function cellRow (key: string, row: Row, from: number, count: number): unknown {
  const cells = [...row].sort(([a], [b]) => compareBytes(a, b)).slice(from, from + count)
  return { key: toB64(key), Cell: cells.map(([column, value]) => ({ column: toB64(column), timestamp: Date.now(), $: toB64(value) })) }
}

function compareBytes (a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))
}

export async function startHBaseRest (): Promise<HBaseRestServer> {
  const server = new HBaseRestServer()
  await server.listen()
  return server
}
