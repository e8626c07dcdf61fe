import type { ChildProcess } from 'node:child_process'
import { forkTs, nextMessage, stopChild, type ChildMessage } from './child.js'
import { pin } from './pin.js'

export interface ReceiverCounts { requests: number, records: number, bytes: number, errors: number }

/** Handle on the receiver child process (bench/receiver-process.ts). */
export interface Receiver {
  /** `http://127.0.0.1:PORT` (`https://` with TLS) */
  readonly origin: string
  /** Endpoint counting one record per request. */
  readonly recordsUrl: string
  /** Endpoint counting NDJSON lines. */
  readonly ndjsonUrl: string
  counts (): Promise<ReceiverCounts>
  close (): Promise<void>
}

/** Where the receiver's HTTPS key and certificate are (PEM files); without them it serves HTTP. */
export interface ReceiverTls { keyFile: string, certFile: string }

export async function startReceiver (tls?: ReceiverTls): Promise<Receiver> {
  const args = tls === undefined ? [] : [tls.keyFile, tls.certFile]
  const child: ChildProcess = forkTs(new URL('../receiver-process.ts', import.meta.url), args)
  pin(child.pid, 'receiver')
  const { port } = await nextMessage<ChildMessage & { port: number }>(child, 'listening')
  const origin = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`
  return {
    origin,
    recordsUrl: `${origin}/records`,
    ndjsonUrl: `${origin}/ndjson`,
    async counts () {
      const reply = nextMessage<ChildMessage & ReceiverCounts>(child, 'counts')
      child.send({ type: 'count' })
      const { requests, records, bytes, errors } = await reply
      return { requests, records, bytes, errors }
    },
    close: () => stopChild(child)
  }
}
