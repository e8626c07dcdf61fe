import zlib from 'node:zlib'
import { promisify } from 'node:util'
import { HttpProblem } from './http-problem.js'

type Inflate = (body: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>

const z = zlib as unknown as Record<string, (buf: Buffer, options: object, cb: (err: Error | null, out: Buffer) => void) => void>

/** The Content-Encodings the server reads, by name; zstd only where this Node has it (>= 22.15). */
const DECODERS: Record<string, Inflate> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
  ...(typeof z.zstdDecompress === 'function' ? { zstd: promisify(z.zstdDecompress) as Inflate } : {})
}

export const SUPPORTED_ENCODINGS = Object.keys(DECODERS).filter((e) => e !== 'x-gzip')

/**
 * The decoder for a request's Content-Encoding: undefined for none (or identity); a 415 for any
 * other, a list of several included (with `connection: close`, the body is never read).
 */
export function decoderFor (header: string | undefined): Inflate | undefined {
  if (header === undefined) return undefined
  const name = header.trim().toLowerCase()
  if (name === '' || name === 'identity') return undefined
  const decoder = DECODERS[name]
  if (decoder !== undefined) return decoder
  throw new HttpProblem(415, 41500, `unsupported Content-Encoding ${JSON.stringify(header.slice(0, 40))}; supported: ${SUPPORTED_ENCODINGS.join(', ')}`, { 'accept-encoding': SUPPORTED_ENCODINGS.join(', ') })
}

/**
 * Decompresses on the thread pool with zlib's `maxOutputLength`: a body that inflates past
 * `maxBytes` stops there (a zip bomb costs at most `maxBytes` of memory) and is refused as 413.
 */
export async function decompress (body: Buffer, decoder: Inflate, maxBytes: number, tooLarge: () => HttpProblem): Promise<Buffer> {
  try {
    return await decoder(body, { maxOutputLength: maxBytes })
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw tooLarge()
    throw new HttpProblem(400, 400, `request body could not be decompressed: ${(err as Error).message}`)
  }
}
