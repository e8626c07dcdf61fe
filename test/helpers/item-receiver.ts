/**
 * A real HTTP receiver on 127.0.0.1 (port 0) that answers batch requests record by record, in the
 * shapes of the real services:
 * - `kafka-rest`: a Kafka REST v2 produce request `{"records":[{"value":…}]}` is answered 200 with
 *   `{"offsets":[{partition, offset, error_code, error}], key_schema_id, value_schema_id}`
 *   (confluentinc/kafka-rest `kafka-rest/src/main/java/io/confluent/kafkarest/entities/v2/ProduceResponse.java`
 *   and `PartitionOffset.java`; the codes of `resources/v2/AbstractProduceAction.java`
 *   `errorCodeFromProducerException`: 40101, 40301, 50003 retriable, 50002).
 * - `es-bulk`: an Elasticsearch `_bulk` NDJSON body (action line, source line) is answered 200 with
 *   `{"took", "errors", "items":[{"index":{_index, _id, status, result | error:{type, reason}}}]}`
 *   (elastic/elasticsearch `server/src/main/java/org/elasticsearch/action/bulk/BulkResponse.java`
 *   and `BulkItemResponse.java`).
 * - `ndjson`: one record per line (or a JSON array of them); the whole request is answered by `request` (a rejected batch).
 * Only records answered ok count as delivered (a multiset keyed like the ledger's).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createHttpWritable, type HttpWritableOptions } from '../../lib/index.js'
import type { FailoverEnvelope } from '../../lib/stores/store.js'
import { assertNothingLost, readFailoverDir, type LedgerReport } from './ledger.js'
import { recordKey } from './receiver.js'
import { countEvents, feed, FAST, settled } from './writable-harness.js'

export type ItemShape = 'kafka-rest' | 'es-bulk' | 'ndjson'

/** A record's fault: a Kafka REST error_code or an Elasticsearch item status, with its message. */
export interface ItemFault { code: number, message: string }

export interface ItemReceiverOptions {
  shape: ItemShape
  /** The fault for a record at its `arrival`-th arrival (1 for the first); undefined accepts it. */
  item?: (record: unknown, arrival: number) => ItemFault | undefined
  /** A whole-request answer (e.g. 400 for a batch holding a poison record); undefined answers per item. */
  request?: (records: unknown[]) => { status: number, body: string } | undefined
}

export interface ItemReceiver {
  url: string
  /** Records answered ok, by recordKey, counting repeats. */
  delivered: Map<string, number>
  /** Records per request, in arrival order, with the status answered. */
  requests: Array<{ records: number, status: number }>
  close: () => Promise<void>
}

export async function startItemReceiver (options: ItemReceiverOptions): Promise<ItemReceiver> {
  const delivered = new Map<string, number>()
  const arrivals = new Map<string, number>()
  const requests: ItemReceiver['requests'] = []
  let offset = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const records = parse(options.shape, Buffer.concat(chunks).toString('utf8'))
      const whole = options.request?.(records)
      if (whole !== undefined) {
        requests.push({ records: records.length, status: whole.status })
        res.writeHead(whole.status, { 'content-type': 'application/json' }).end(whole.body)
        return
      }
      const faults = records.map((record) => {
        const key = recordKey(record)
        const arrival = (arrivals.get(key) ?? 0) + 1
        arrivals.set(key, arrival)
        const fault = options.item?.(record, arrival)
        if (fault === undefined) delivered.set(key, (delivered.get(key) ?? 0) + 1)
        return fault
      })
      requests.push({ records: records.length, status: 200 })
      const body = options.shape === 'es-bulk' ? esAnswer(faults) : kafkaAnswer(faults, () => offset++)
      res.writeHead(200, { 'content-type': options.shape === 'kafka-rest' ? 'application/vnd.kafka.v2+json' : 'application/json' }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function parse (shape: ItemShape, body: string): unknown[] {
  if (shape === 'kafka-rest') return (JSON.parse(body) as { records: Array<{ value: unknown }> }).records.map((r) => r.value)
  if (shape === 'ndjson' && body.startsWith('[')) return JSON.parse(body) as unknown[]
  const lines = body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown)
  // es-bulk: an action line, then the document.
  return shape === 'es-bulk' ? lines.filter((_, i) => i % 2 === 1) : lines
}

function kafkaAnswer (faults: Array<ItemFault | undefined>, next: () => number): string {
  const offsets = faults.map((f) => f === undefined
    ? { partition: 0, offset: next(), error_code: null, error: null }
    : { partition: null, offset: null, error_code: f.code, error: f.message })
  return JSON.stringify({ offsets, key_schema_id: null, value_schema_id: null })
}

function esAnswer (faults: Array<ItemFault | undefined>): string {
  const items = faults.map((f, i) => ({
    index: f === undefined
      ? { _index: 'logs', _id: `id${i}`, _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 }, _seq_no: i, _primary_term: 1, status: 201 }
      : { _index: 'logs', _id: `id${i}`, status: f.code, error: { type: f.code === 429 ? 'es_rejected_execution_exception' : 'document_parsing_exception', reason: f.message } }
  }))
  return JSON.stringify({ took: 3, errors: faults.some((f) => f !== undefined), items })
}

export interface ItemRun {
  /** The failover directory (removed when the test ends). */
  dir: string
  receiver: ItemReceiver
  envelopes: FailoverEnvelope[]
  /** The ledger's counts, or only `duplicates: 0` with `ledger: false`. */
  report: Pick<LedgerReport, 'duplicates'> & Partial<LedgerReport>
  stats: ReturnType<ReturnType<typeof createHttpWritable>['stats']>
  events: Record<string, unknown[]>
}

/**
 * Starts an item receiver, writes `items` through a sink to it (`path`, default `/in`) failing over
 * to a temp file store, and checks the ledger (unless `ledger: false`); all of it goes when the test ends.
 */
export async function runItems (t: TestContext, receiverOptions: ItemReceiverOptions, options: HttpWritableOptions, items: unknown[], how: { path?: string, ledger?: boolean } = {}): Promise<ItemRun> {
  const receiver = await startItemReceiver(receiverOptions)
  const root = await mkdtemp(join(tmpdir(), 'hsc-items-'))
  const dir = join(root, 'failover')
  const sink = createHttpWritable({ url: receiver.url + (how.path ?? '/in'), failover: `file:${dir}`, ...FAST, ...options })
  t.after(async () => {
    sink.destroy()
    await settled(sink)
    await receiver.close()
    await rm(root, { recursive: true, force: true })
  })
  const events = countEvents(sink, 'retry', 'failover')
  const fed = await feed(sink, items)
  assert.equal(fed.error, undefined)
  const envelopes = readFailoverDir(dir)
  const report = how.ledger === false ? { duplicates: 0 } : assertNothingLost({ written: fed.written, delivered: receiver.delivered, stored: envelopes.map((e) => e.record), rejected: fed.rejected })
  t.diagnostic(`ledger ${JSON.stringify(report)}; requests ${receiver.requests.length}`)
  return { dir, receiver, envelopes, report, stats: sink.stats(), events }
}
