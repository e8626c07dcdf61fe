/**
 * The small HTTP client the REST stores (WebHDFS, HBase REST) share: undici with its own
 * connection pool and timeouts, never following redirects by itself, always reading the body.
 */
import { Agent, request } from 'undici'
import { StoreError } from '../errors.js'

export interface HttpAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export interface HttpSend {
  headers?: Record<string, string>
  body?: string | Buffer
}

/** A connection-level failure (no answer at all): worth a retry. */
export function isNetworkError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('UND_ERR_') || /^E(CONN|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT|AI_AGAIN|NOTFOUND)/.test(code))
}

export class StoreHttp {
  readonly #agent: Agent
  #closed = false

  constructor (timeout: number) {
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout: Math.min(timeout, 10_000) } })
  }

  async send (method: string, url: string, options: HttpSend = {}): Promise<HttpAnswer> {
    if (this.#closed) throw new StoreError(`store HTTP client is closed (${method} ${new URL(url).pathname})`)
    const res = await request(url, { method, headers: options.headers, body: options.body, dispatcher: this.#agent })
    const body = Buffer.from(await res.body.arrayBuffer())
    return { status: res.statusCode, headers: res.headers, body }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#agent.close()
  }
}

export function header (answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name]
  return Array.isArray(value) ? value[0] : value
}
