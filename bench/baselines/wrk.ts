import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const WRK_PATH = '/usr/bin/wrk'

export interface WrkResult {
  /** requests/s as wrk reports it; NaN when wrk is missing or failed */
  requestsPerSecond: number
  /** why there is no number, or what went wrong besides it (non-2xx, socket errors) */
  note?: string
}

/** Lua string literal of `text` (wrk scripts are Lua). */
function luaString (text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

/** `wrk -t<threads> -c<connections> -d<seconds>s -s post.lua <url>` POSTing `body` as JSON. */
export async function runWrk (url: string, body: string, opts: { threads: number, connections: number, seconds: number }): Promise<WrkResult> {
  if (!existsSync(WRK_PATH)) return { requestsPerSecond: NaN, note: `wrk not installed (${WRK_PATH}; apt-get install wrk)` }
  const dir = await mkdtemp(join(tmpdir(), 'bench-wrk-'))
  try {
    const script = join(dir, 'post.lua')
    await writeFile(script, [
      'wrk.method = "POST"',
      `wrk.body = ${luaString(body)}`,
      'wrk.headers["Content-Type"] = "application/json"',
      ''
    ].join('\n'))
    const args = [`-t${opts.threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, '-s', script, url]
    const { stdout } = await promisify(execFile)(WRK_PATH, args, { timeout: (opts.seconds + 30) * 1000 })
    return parseWrk(stdout)
  } catch (err) {
    return { requestsPerSecond: NaN, note: `wrk failed: ${(err as Error).message.split('\n')[0]}` }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export function parseWrk (stdout: string): WrkResult {
  const rate = /Requests\/sec:\s*([\d.]+)/.exec(stdout)
  if (rate === null) return { requestsPerSecond: NaN, note: 'wrk printed no Requests/sec' }
  const problems = [/Non-2xx or 3xx responses: \d+/.exec(stdout)?.[0], /Socket errors:[^\n]*/.exec(stdout)?.[0]]
    .filter((p): p is string => p !== undefined)
  return { requestsPerSecond: Number(rate[1]), note: problems.length > 0 ? problems.join('; ') : undefined }
}
