import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors.js'
import type { EncodingName, HttpWritableOptions } from '../sink/options.js'
import { UsageError } from './io.js'

type Values = Record<string, string | boolean | string[] | undefined>

/** `--config FILE`'s text; a file that cannot be read is an ERR_INVALID_OPTION naming the flag (exit 2). */
export function readConfigFile (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const why = (err as { code?: string }).code === 'ENOENT' ? 'no such file' : ((err as { code?: string }).code ?? (err as Error).message)
    throw new InvalidOptionError('--config', `cannot read ${JSON.stringify(path)} (${why})`)
  }
}

/** `--success-code`: `2xx`, a status code, or a comma-separated list of them. */
export function successCodeFlag (text: string): NonNullable<HttpWritableOptions['successCode']> {
  if (text === '2xx') return '2xx'
  const codes = text.split(',').map((c) => c.trim())
  if (codes.some((c) => !/^[1-5]\d\d$/.test(c))) throw new UsageError(`--success-code takes 2xx, a status code (200) or a list of them (200,201) (got ${JSON.stringify(text)})`)
  return codes.length === 1 ? Number(codes[0]) : codes.map(Number)
}

/**
 * `--encoding` (its name is checked by createHttpWritable) and, for `--encoding inlong`, the inlong
 * options from `--inlong-group`, `--inlong-stream` and `--inlong-manager` (unless `--config` gave them).
 */
export function encodingFlags (values: Values, configured: HttpWritableOptions): Pick<HttpWritableOptions, 'encoding' | 'inlong'> {
  const out: Pick<HttpWritableOptions, 'encoding' | 'inlong'> = {}
  if (typeof values.encoding === 'string') out.encoding = values.encoding as EncodingName
  const [group, stream, manager] = [values['inlong-group'], values['inlong-stream'], values['inlong-manager']]
  const encoding = out.encoding ?? configured.encoding
  if (encoding !== 'inlong') {
    if ([group, stream, manager].some((v) => v !== undefined)) throw new UsageError('--inlong-group, --inlong-stream and --inlong-manager go with --encoding inlong')
    return out
  }
  if (configured.inlong !== undefined && group === undefined && stream === undefined && manager === undefined) return out
  if (typeof group !== 'string' || typeof stream !== 'string') throw new UsageError('--encoding inlong needs --inlong-group G and --inlong-stream S (and --inlong-manager URL to take DataProxy nodes from an InLong Manager)')
  out.inlong = { groupId: group, streamId: stream, ...(typeof manager === 'string' ? { managerUrl: manager } : {}) }
  return out
}
