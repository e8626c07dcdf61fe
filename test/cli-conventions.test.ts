/**
 * CLI conventions: `--version`/`-V`, `help <command>`; a usage error exits 2 with one line naming the
 * problem; a runtime failure exits 1; `send` exits 3 when every record is delivered or stored and
 * some went to failover (0 only when all were delivered); `replay --failover` is refused;
 * `--encoding inlong` takes --inlong-group/--inlong-stream and delivers to an InLong DataProxy.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { main } from '../lib/cli/main.js'
import { REPO_ROOT, spawnCli } from './helpers/cli-child.js'
import { startReceiver, firstRecord } from './helpers/receiver.js'
import { cliIo } from './helpers/cli-io.js'

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version

async function run (argv: string[], input = ''): Promise<{ code: number, out: string, err: string }> {
  const c = cliIo(input)
  const code = await main(argv, c.io)
  return { code, out: c.out(), err: c.err() }
}

function tempDir (t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'hsc-cli-conv-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('--version and -V print the package version, exit 0 (a real process)', async () => {
  for (const flag of ['--version', '-V']) {
    const cli = spawnCli([flag])
    const { code } = await cli.exited
    assert.equal(code, 0, cli.stderr())
    assert.equal(cli.stdout(), `${VERSION}\n`)
  }
})

test("'help send' shows send's help; 'help nope' is a usage error", async () => {
  const help = await run(['help', 'send'])
  assert.equal(help.code, 0)
  assert.match(help.out, /^http-stream send <url>/)
  assert.match(help.out, /--num-writers/)
  assert.equal(help.out, (await run(['send', '--help'])).out)
  const nope = await run(['help', 'nope'])
  assert.equal(nope.code, 2)
  assert.match(nope.err, /unknown command 'nope'/)
  assert.match((await run(['help'])).out, /Exit codes:.*\n(.*\n)*.*3 \(send\)/)
})

test('usage errors exit 2 with one line naming the problem', async (t) => {
  const dir = tempDir(t)
  const missing = join(dir, 'missing.yml')
  const CASES: Array<[string[], RegExp]> = [
    [['serve', '--port', '99999'], /--port takes a port number from 0 to 65535 \(got "99999"\)/],
    [['send', 'http://127.0.0.1:9/', '--config', missing], new RegExp(`ERR_INVALID_OPTION: --config: cannot read ".*missing\\.yml" \\(no such file\\)`)],
    [['read', 'http://127.0.0.1:9', '--topic', 'a b'], /--topic takes 1 to 249 of \[a-zA-Z0-9._-\]/],
    [['read', 'http://127.0.0.1:9', '--topic', 't', '--group', '..'], /--group takes 1 to 249/],
    [['send', 'http://127.0.0.1:9/', '--success-code', 'abc'], /--success-code takes 2xx, a status code \(200\) or a list of them \(200,201\) \(got "abc"\)/],
    [['send', 'http://127.0.0.1:9/', '--encoding', 'ndjsno'], /encoding: must be one of json, raw, url, ndjson, json-array, kafka-rest, kafka-rest-v3, inlong, or a function \(got "ndjsno"\)/],
    [['send', 'http://127.0.0.1:9/', '--transport', 'curl'], /transport: must be one of undici, got/],
    [['serve', '--port', '0', '--on-full', 'drop'], /onFull: must be one of reject, drop-oldest \(got "drop"\)/],
    [['replay', `file:${dir}`, 'http://127.0.0.1:9/', '--failover', 'false'], /replay takes no --failover/],
    [['send', 'http://127.0.0.1:9/', '--encoding', 'inlong'], /--encoding inlong needs --inlong-group G and --inlong-stream S/],
    [['send', 'http://127.0.0.1:9/', '--inlong-group', 'g'], /go with --encoding inlong/]
  ]
  for (const [argv, pattern] of CASES) {
    const r = await run(argv)
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`)
    assert.match(r.err, pattern, argv.join(' '))
    assert.equal(r.err.trimEnd().split('\n').length, 1, `one line: ${JSON.stringify(r.err)}`)
    assert.match(r.err, new RegExp(`^http-stream ${argv[0]!}: `))
  }
  t.diagnostic(`${CASES.length} usage errors, each exit 2 on one line`)
})

test('a usage error exits 2 from a real process too (serve --port 99999)', async () => {
  const cli = spawnCli(['serve', '--port', '99999'])
  const { code } = await cli.exited
  assert.equal(code, 2, cli.stderr())
  assert.match(cli.stderr(), /--port/)
})

test('send: 0 when all delivered, 3 when some went to failover, 1 when some are neither', async (t) => {
  const receiver = await startReceiver({ plan: (req) => (firstRecord(req)?.i === 3 ? { status: 400 } : undefined) })
  t.after(() => receiver.close())
  const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, k) => JSON.stringify({ i: from + k })).join('\n') + '\n'
  const dir = tempDir(t)
  const delivered = await run(['send', receiver.url, '--failover', `file:${join(dir, 'a')}`], lines(10, 20))
  const stored = await run(['send', receiver.url, '--failover', `file:${join(dir, 'b')}`], lines(0, 10))
  const lost = await run(['send', receiver.url, '--failover', 'false', '--num-writers', '1'], lines(0, 10))
  t.diagnostic(`exit codes: all delivered ${delivered.code}, one stored ${stored.code}, one lost ${lost.code}`)
  assert.equal(delivered.code, 0, delivered.out + delivered.err)
  assert.equal(stored.code, 3, stored.out + stored.err)
  assert.match(stored.out, /failed over\s+1 -> file:/)
  assert.equal(lost.code, 1, lost.out + lost.err)
})

test('send --encoding inlong --inlong-group --inlong-stream posts InLong forms to a DataProxy', async (t) => {
  // A DataProxy's HTTP report as InLong answers it: a form per batch, {"code":"0"} when taken.
  const forms: URLSearchParams[] = []
  const proxy = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      forms.push(new URLSearchParams(body))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"0","msg":"Ok"}')
    })
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => proxy.close(() => resolve())))
  const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/dataproxy/message`
  const records = Array.from({ length: 30 }, (_, i) => ({ i }))
  const r = await run(['send', url, '--encoding', 'inlong', '--inlong-group', 'app', '--inlong-stream', 'clicks', '--batch-records', '10', '--failover', 'false'], records.map((x) => JSON.stringify(x)).join('\n') + '\n')
  assert.equal(r.code, 0, r.out + r.err)
  const lines = forms.flatMap((f) => (f.get('body') ?? '').split('\n'))
  t.diagnostic(`inlong: sent ${records.length} records in ${forms.length} forms; the DataProxy got ${lines.length} lines`)
  assert.ok(forms.every((f) => f.get('groupId') === 'app' && f.get('streamId') === 'clicks' && Number(f.get('cnt')) === (f.get('body') ?? '').split('\n').length))
  assert.deepEqual(lines.sort(), records.map((x) => JSON.stringify(x)).sort())
})

test('demo without --failover stores in a fresh temporary folder it names, and explains what failed over', async (t) => {
  const r = await run(['demo', '--records', '2000', '--retries', '0'])
  const folder = /failed over\s+\d+ -> file:(\S+)/.exec(r.out)?.[1]
  assert.ok(folder !== undefined, r.out)
  t.after(() => rmSync(folder, { recursive: true, force: true }))
  assert.equal(r.code, 0, r.out + r.err)
  assert.ok(folder.startsWith(tmpdir()) && folder.includes('http-stream-demo-'), folder)
  const poison = Number(/poison\s+(\d+)/.exec(r.out)?.[1] ?? 0)
  const exhausted = [...r.out.matchAll(/last answer (\d+)\s+(\d+) \(not poison: retries exhausted/g)].map((m) => Number(m[2]))
  const failedOver = Number(/failed over\s+(\d+)/.exec(r.out)?.[1])
  t.diagnostic(`demo failed over ${failedOver}: poison ${poison}, retries exhausted ${exhausted.join('+')}, in ${folder}`)
  // ids 997 and 1994 are poison; one whose only attempt met a 503 or 429 counts as retries exhausted.
  assert.ok(poison <= 2, `poison ${poison}`)
  assert.ok(exhausted.length > 0, 'with --retries 0 some 503/429 answers fail over')
  assert.equal(poison + exhausted.reduce((a, b) => a + b, 0), failedOver)
  assert.match(r.out, new RegExp(`replay with\\s+http-stream replay file:${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} <url>`))
})
