import zlib from 'node:zlib'
import { promisify } from 'node:util'
import type { CompressionAlgorithm, ResolvedCompression } from './compress-options.js'

type Compress = (body: Buffer) => Promise<Buffer>

type ZlibAsync = (buf: Buffer, options: object, callback: (err: Error | null, result: Buffer) => void) => void

/**
 * The async (thread-pool) zlib function for an algorithm at its level: a big body never blocks
 * the event loop. zstd is looked up at run time (Node >= 22.15; options refuse it elsewhere).
 */
export function compressor (c: ResolvedCompression): Compress {
  const z = zlib as unknown as Record<string, ZlibAsync> & { constants: Record<string, number> }
  const options = levelOptions(c.algorithm, c.level, z.constants)
  const fn = promisify(z[FUNCTIONS[c.algorithm]]!) as (buf: Buffer, options: object) => Promise<Buffer>
  return (body) => fn(body, options)
}

const FUNCTIONS: Record<CompressionAlgorithm, string> = { gzip: 'gzip', deflate: 'deflate', br: 'brotliCompress', zstd: 'zstdCompress' }

function levelOptions (algorithm: CompressionAlgorithm, level: number | undefined, constants: Record<string, number>): object {
  if (level === undefined) return {}
  if (algorithm === 'br') return { params: { [constants.BROTLI_PARAM_QUALITY!]: level } }
  if (algorithm === 'zstd') return { params: { [constants.ZSTD_c_compressionLevel!]: level } }
  return { level }
}
