import zlib from 'node:zlib'
import { InvalidOptionError } from '../errors.js'

export const COMPRESSION_ALGORITHMS = ['gzip', 'deflate', 'br', 'zstd'] as const
export type CompressionAlgorithm = typeof COMPRESSION_ALGORITHMS[number]

export interface CompressionOptions {
  algorithm: CompressionAlgorithm
  /** The algorithm's level (gzip/deflate 0-9, br 0-11, zstd 1-22). Default: the algorithm's own default. */
  level?: number
  /** Bodies smaller than this are sent uncompressed. Default 1024. */
  minBytes?: number
}

export interface ResolvedCompression {
  algorithm: CompressionAlgorithm
  level: number | undefined
  minBytes: number
}

export const DEFAULT_MIN_BYTES = 1024

const LEVELS: Record<CompressionAlgorithm, [number, number]> = { gzip: [0, 9], deflate: [0, 9], br: [0, 11], zstd: [1, 22] }

/** Whether this Node has zstd in zlib (Node >= 22.15). */
export function hasZstd (): boolean {
  return typeof (zlib as { zstdCompress?: unknown }).zstdCompress === 'function'
}

/** Checks the level against the algorithm and that zstd exists here; the shape is checked by the schema. */
export function resolveCompression (value: CompressionAlgorithm | CompressionOptions | undefined): ResolvedCompression | undefined {
  if (value === undefined) return undefined
  const o = typeof value === 'string' ? { algorithm: value } : value
  if (o.algorithm === 'zstd' && !hasZstd()) {
    throw new InvalidOptionError('compression', `zstd needs Node >= 22.15 (zlib.zstdCompress); this is Node ${process.versions.node}: use gzip, deflate or br`)
  }
  const [min, max] = LEVELS[o.algorithm]
  if (o.level !== undefined && (o.level < min || o.level > max)) {
    throw new InvalidOptionError('compression.level', `${o.algorithm} takes ${min} to ${max} (got ${o.level})`)
  }
  return { algorithm: o.algorithm, level: o.level, minBytes: o.minBytes ?? DEFAULT_MIN_BYTES }
}

/** The schema of the `compression` option (levels and zstd are checked by resolveCompression). */
export const COMPRESSION_SCHEMA = {
  description: `one of ${COMPRESSION_ALGORITHMS.join(' ')} or { algorithm, level, minBytes }`,
  anyOf: [
    { enum: [...COMPRESSION_ALGORITHMS] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['algorithm'],
      properties: {
        algorithm: { description: `one of ${COMPRESSION_ALGORITHMS.join(' ')}`, enum: [...COMPRESSION_ALGORITHMS] },
        level: { type: 'integer' },
        minBytes: { type: 'integer', minimum: 0 }
      }
    }
  ]
}
