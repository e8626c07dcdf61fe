import type { ProduceRecord } from '../receivers/receiver.js'

/**
 * One InLong report (one `/dataproxy/message` request) as one record, as the DataProxy forwards it:
 * HttpMessageHandler.processMessage packs the whole `body` into one InLongMsg with `cnt` in its
 * attributes, one event, one MQ message. The record's value is
 *   `{ "cnt": <cnt>, "lines": ["…", …] }`
 * (the lines in order) and its headers carry `groupId`, `streamId`, `dt` and `cnt`.
 */
export interface InlongReport {
  groupId: string
  streamId: string
  dt: string
  /** `cnt` as the DataProxy reads it: NumberUtils.toInt(cnt, 1). */
  cnt: number
  lines: string[]
}

const LF = '\n'
const INT = /^[+-]?\d{1,10}$/

/** The DataProxy's `NumberUtils.toInt(reqAttrs.get("cnt"), 1)`: a bad or missing count is 1. */
export function reportCount (text: string | undefined): number {
  if (text === undefined || !INT.test(text)) return 1
  const n = Number(text)
  return n >= -2147483648 && n <= 2147483647 ? n : 1
}

/**
 * The records of `body`, split at `delimiter` (the SDK's `rcdDlmtr`, "\n" when absent). A trailing
 * LF or CRLF ends the last record and does not make an empty one; a `\r` before an LF is not kept;
 * empty records are dropped (the SDK never sends one: HttpEventInfo skips blank bodies).
 */
export function reportLines (body: string, delimiter: string): string[] {
  let text = body
  if (text.endsWith(LF)) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1)
  const out: string[] = []
  for (let piece of text.split(delimiter)) {
    if (delimiter === LF && piece.endsWith('\r')) piece = piece.slice(0, -1)
    if (piece !== '') out.push(piece)
  }
  return out
}

export function reportRecord (report: InlongReport): ProduceRecord {
  const value = { cnt: report.cnt, lines: report.lines }
  const raw = JSON.stringify(value)
  return {
    value,
    raw,
    bytes: Buffer.byteLength(raw),
    headers: { groupId: report.groupId, streamId: report.streamId, dt: report.dt, cnt: String(report.cnt) }
  }
}
