import type { OutgoingRequest, SendOptions, Transport, TransportResponse } from './transport.js'
import type { ResolvedCompression } from './compress-options.js'
import { compressor } from './compress-body.js'

/**
 * A Transport decorator that compresses request bodies of at least `minBytes` and sets
 * Content-Encoding. Each request object is compressed once: a retry of the same request reuses
 * the compressed body (kept in a WeakMap, so it goes when the engine drops the request).
 */
export class CompressingTransport implements Transport {
  readonly #inner: Transport
  readonly #minBytes: number
  readonly #encoding: string
  readonly #compress: (body: Buffer) => Promise<Buffer>
  readonly #compressed = new WeakMap<OutgoingRequest, Promise<OutgoingRequest>>()

  constructor (inner: Transport, compression: ResolvedCompression) {
    this.#inner = inner
    this.#minBytes = compression.minBytes
    this.#encoding = compression.algorithm
    this.#compress = compressor(compression)
  }

  send (request: OutgoingRequest, options: SendOptions): Promise<TransportResponse> {
    const body = request.body
    if (body === undefined || below(body, this.#minBytes)) {
      return this.#inner.send(request, options)
    }
    let compressed = this.#compressed.get(request)
    if (compressed === undefined) {
      compressed = this.#compress(typeof body === 'string' ? Buffer.from(body) : body).then((bytes) => ({
        ...request,
        headers: { ...request.headers, 'content-encoding': this.#encoding },
        body: bytes
      }))
      this.#compressed.set(request, compressed)
    }
    return compressed.then((r) => this.#inner.send(r, options))
  }

  close (abort?: boolean): Promise<void> {
    return this.#inner.close(abort)
  }
}

/** Whether a body has fewer than `min` bytes; a string is scanned only when its length cannot tell (UTF-8: 1 to 3 bytes per UTF-16 unit). */
function below (body: string | Buffer, min: number): boolean {
  if (typeof body !== 'string' || body.length >= min) return body.length < min
  return body.length * 3 < min || Buffer.byteLength(body) < min
}

/** `inner`, compressing when `compression` is set (no decorator, no cost, when it is not). */
export function withCompression (inner: Transport, compression: ResolvedCompression | undefined): Transport {
  return compression === undefined ? inner : new CompressingTransport(inner, compression)
}
