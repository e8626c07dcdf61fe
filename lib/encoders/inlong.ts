import { request } from 'undici'
import { InvalidOptionError, InvalidRecordError } from '../errors.js'
import type { OutgoingRequest, TransportResponse } from '../transports/transport.js'
import type { BatchEncoding, Target, Verdict } from './encoding.js'
import { requestTo } from './request-target.js'
import { jsonText } from '../shared/json-safe.js'

export interface InlongEncodingOptions {
  groupId: string
  streamId: string
  /** InLong Manager base URL: DataProxy nodes come from its getIpList answer. */
  managerUrl?: string
  /** Static DataProxy nodes (`host:port`), used until (or instead of) the manager's list. */
  nodes?: string[]
  /** ms between node-list refreshes. Default 60000. */
  refreshMs?: number
  /** ms a node that failed is skipped. Default 30000. */
  skipMs?: number
  /**
   * The DataProxy's max-msg-length: a request body is never larger (a larger one is HTTP 413 from
   * its HttpObjectAggregator), whatever `batch.maxBytes` says. Default 65536.
   */
  maxMsgLength?: number
}

/** InLong DataProxy's default max-msg-length (SourceConstants.VAL_DEF_MAX_MSG_LENGTH). */
export const INLONG_MAX_MSG_LENGTH = 64 * 1024

const FORM = 'application/x-www-form-urlencoded'
/** Codes a DataProxy answers for its own trouble: try another node. */
const RETRY_ELSEWHERE = new Set(['1', '2', '114'])
const PATH = '/dataproxy/message'

/**
 * `inlong`: InLong's HTTP report. A batch is one form POST (`groupId, streamId, dt, body, cnt`) whose
 * body joins the records with `\n` (the InLong SDK's framing); strings go as they are, anything else
 * as JSON. Success only when the answer's JSON `code` is "0"; codes 1, 2 and 114 retry on another
 * node, other codes (100–115: bad request, unconfigured topic…) go to failover. Nodes come from
 * `nodes` and/or the manager's `getIpList` answer, shuffled; a node that failed is skipped for
 * `skipMs`. A batch closes before its body would pass `maxMsgLength`; a record that alone would pass
 * it is refused as larger than the batch limit.
 */
export function inlongEncoding (target: Target, options: Record<string, unknown>): BatchEncoding {
  const o = check(options.inlong)
  const nodes = new NodePicker(o)
  const fixed = `groupId=${enc(o.groupId)}&streamId=${enc(o.streamId)}&dt=0000000000000&cnt=&body=`.length
  const headers = { ...target.headers, 'content-type': FORM }
  return {
    batch: true,
    piece: (record) => {
      const line = typeof record === 'string' ? record : jsonText(record)
      if (line.includes('\n')) throw new InvalidRecordError('an inlong record must not contain "\\n" (it separates records in body)')
      return line
    },
    pieceBytes: (piece) => enc(piece).length,
    bodyBytes: (count, piecesBytes) => {
      const bytes = fixed + String(count).length + piecesBytes + 3 * Math.max(0, count - 1)
      return bytes > o.maxMsgLength ? Number.POSITIVE_INFINITY : bytes
    },
    assemble: (pieces) => {
      const body = `groupId=${enc(o.groupId)}&streamId=${enc(o.streamId)}&dt=${Date.now()}&cnt=${pieces.length}&body=${pieces.map(enc).join('%0A')}`
      return requestTo(target, headers, body)
    },
    judge: judgeInlong,
    ready: () => nodes.ready(),
    route: (req, attempt) => nodes.route(req, attempt),
    report: (origin, ok) => nodes.report(origin, ok)
  }
}

/** `{"code":"0"}` is success; 1/2/114 retry (elsewhere); any other code fails over. Non-200 is left to the status policy. */
export function judgeInlong (response: TransportResponse): Verdict | undefined {
  if (response.status !== 200) return undefined
  const m = /"code"\s*:\s*"?(-?\d+)"?/.exec(response.body)
  if (m === null) return 'retry'
  const code = m[1] as string
  if (code === '0') return 'success'
  return RETRY_ELSEWHERE.has(code) ? 'retry' : 'fail'
}

/**
 * The DataProxy nodes: shuffled, failing ones skipped for a while, the list refreshed from the
 * manager in the background (the first load is awaited before the first attempt; later attempts
 * are routed synchronously with whatever list is known).
 */
class NodePicker {
  private nodes: string[]
  private readonly skipped = new Map<string, number>()
  private next = 0
  private loadedAt = 0
  private loading: Promise<void> | undefined

  constructor (private readonly o: Required<Omit<InlongEncodingOptions, 'managerUrl'>> & { managerUrl?: string }) {
    this.nodes = shuffle(o.nodes.map(origin))
    this.refresh()
  }

  route (req: OutgoingRequest, attempt: number): OutgoingRequest {
    this.refresh()
    if (this.nodes.length === 0) return req
    const now = Date.now()
    const usable = this.nodes.filter(n => (this.skipped.get(n) ?? 0) <= now)
    const pool = usable.length > 0 ? usable : this.nodes
    // Each attempt moves on, so a retry goes to another node than the one that just failed.
    const node = pool[(this.next++ + attempt - 1) % pool.length] as string
    return { ...req, origin: node, path: PATH }
  }

  /** The first load of the node list from the manager, if any. */
  ready (): Promise<void> {
    return this.loading ?? Promise.resolve()
  }

  report (node: string, ok: boolean): void {
    if (ok) this.skipped.delete(node)
    else this.skipped.set(node, Date.now() + this.o.skipMs)
  }

  private refresh (): void {
    const { managerUrl } = this.o
    if (managerUrl === undefined || this.loading !== undefined || Date.now() - this.loadedAt < this.o.refreshMs) return
    this.loading = fetchNodes(managerUrl, this.o.groupId).then((list) => {
      if (list.length > 0) this.nodes = shuffle(list)
    }, () => {}).finally(() => {
      this.loadedAt = Date.now()
      this.loading = undefined
    })
  }
}

/** Asks the manager: `POST /inlong/manager/openapi/dataproxy/getIpList/{groupId}?protocolType=HTTP`. */
export async function fetchNodes (managerUrl: string, groupId: string): Promise<string[]> {
  const url = `${managerUrl.replace(/\/+$/, '')}/inlong/manager/openapi/dataproxy/getIpList/${encodeURIComponent(groupId)}?protocolType=HTTP`
  const res = await request(url, { method: 'POST', headersTimeout: 5000, bodyTimeout: 5000 })
  const answer = await res.body.json() as { success?: boolean, data?: { nodeList?: Array<{ ip?: unknown, port?: unknown, protocolType?: unknown }> } }
  if (res.statusCode !== 200 || answer?.success === false) return []
  return (answer?.data?.nodeList ?? [])
    .filter(n => typeof n.ip === 'string' && Number.isInteger(n.port) && (n.protocolType === undefined || n.protocolType === null || String(n.protocolType).toUpperCase() === 'HTTP'))
    .map(n => origin(`${n.ip as string}:${n.port as number}`))
}

function check (value: unknown): Required<Omit<InlongEncodingOptions, 'managerUrl'>> & { managerUrl?: string } {
  if (value === null || typeof value !== 'object') throw new InvalidOptionError('inlong', "encoding 'inlong' needs inlong: { groupId, streamId, managerUrl? | nodes? }")
  const o = value as Partial<InlongEncodingOptions>
  for (const k of ['groupId', 'streamId'] as const) {
    if (typeof o[k] !== 'string' || o[k].trim() === '') throw new InvalidOptionError(`inlong.${k}`, 'is required (a non-blank string)')
  }
  if (o.managerUrl !== undefined && !/^https?:\/\//.test(String(o.managerUrl))) throw new InvalidOptionError('inlong.managerUrl', 'must be an http(s) URL')
  if (o.nodes !== undefined && (!Array.isArray(o.nodes) || o.nodes.some(n => typeof n !== 'string' || !/^[\w.-]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(n)))) {
    throw new InvalidOptionError('inlong.nodes', 'must be a list of "host:port"')
  }
  for (const k of ['refreshMs', 'skipMs'] as const) {
    const v = o[k]
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new InvalidOptionError(`inlong.${k}`, 'must be a non-negative integer (ms)')
  }
  if (o.maxMsgLength !== undefined && (!Number.isSafeInteger(o.maxMsgLength) || o.maxMsgLength < 1)) {
    throw new InvalidOptionError('inlong.maxMsgLength', 'must be a positive integer (bytes)')
  }
  return {
    groupId: o.groupId as string,
    streamId: o.streamId as string,
    managerUrl: o.managerUrl,
    nodes: o.nodes ?? [],
    refreshMs: o.refreshMs ?? 60_000,
    skipMs: o.skipMs ?? 30_000,
    maxMsgLength: o.maxMsgLength ?? INLONG_MAX_MSG_LENGTH
  }
}

const enc = encodeURIComponent

function origin (hostPort: string): string {
  return `http://${hostPort}`
}

function shuffle<T> (list: T[]): T[] {
  const out = [...list]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = out[i] as T
    out[i] = out[j] as T
    out[j] = t
  }
  return out
}
