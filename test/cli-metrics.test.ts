/**
 * `http-stream send --metrics-port 0`, a real child process: while it runs (stdin still open),
 * GET /metrics serves the sink's Prometheus text, whose counters follow what the receiver got
 * (delivered, failed over, requests by class); other paths are 404, other methods 405; the
 * endpoint is on 127.0.0.1 and gone once the command exits. Bad flags are usage errors (exit 2).
 */
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { main } from '../lib/cli/main.js'
import { serveMetrics } from '../lib/cli/metrics-server.js'
import { spawnCli, storedEnvelopes, summaryNumber, tempDir, whileRunning } from './helpers/cli-child.js'
import { cliIo } from './helpers/cli-io.js'
import { poison, startReceiver } from './helpers/receiver.js'

interface Got { status: number, headers: Record<string, string | string[] | undefined>, body: string }

async function get (url: string, method = 'GET'): Promise<Got> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** A sample's value in Prometheus text (`name{labels} value`), or undefined. */
function sample (text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `))
  return line === undefined ? undefined : Number(line.slice(key.length + 1))
}

const lines = (from: number, to: number): string => Array.from({ length: to - from }, (_, i) => JSON.stringify({ id: from + i, poison: (from + i) % 25 === 0 })).join('\n') + '\n'

test('send --metrics-port 0 serves the running sink on GET /metrics, and stops with it', { timeout: 60_000 }, async (t) => {
  const receiver = await startReceiver({ plan: poison((r) => r.poison === true) })
  t.after(() => receiver.close())
  const dir = tempDir(t)
  const cli = spawnCli(['send', `${receiver.url}/in`, '--metrics-port', '0', '--failover', `file:${join(dir, 'fo')}`, '--backoff-base', '5'])
  t.after(() => { if (cli.child.exitCode === null) cli.child.kill('SIGKILL') })
  await cli.waitForOutput(/send: metrics on (http:\/\/\S+)/)
  const url = /send: metrics on (http:\/\/\S+)/.exec(cli.stderr())![1]!
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'loopback by default')

  cli.child.stdin.write(lines(1, 51))
  await whileRunning(cli, (p) => receiver.waitFor(p), () => receiver.requests.length >= 50)
  // The child counts the last answers a moment after the receiver sent them: scrape until they show.
  let text = ''
  const scrapeUntil = async (done: (text: string) => boolean): Promise<void> => {
    for (let i = 0; i < 400; i++) {
      const res = await get(url)
      assert.equal(res.status, 200)
      assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8')
      text = res.body
      if (done(text)) return
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    assert.fail(`not reached:\n${text}`)
  }
  await scrapeUntil((x) => (sample(x, 'http_stream_sink_records_delivered_total') ?? 0) + (sample(x, 'http_stream_sink_records_failed_over_total') ?? 0) === 50)
  assert.equal(cli.child.exitCode, null, 'still running (stdin open)')
  assert.equal(sample(text, 'http_stream_sink_records_written_total'), 50)
  assert.equal(sample(text, 'http_stream_sink_records_delivered_total'), 48)
  assert.equal(sample(text, 'http_stream_sink_records_failed_over_total'), 2)
  assert.equal(sample(text, 'http_stream_sink_requests_total{class="2xx"}'), 48)
  assert.equal(sample(text, 'http_stream_sink_requests_total{class="4xx"}'), 2)
  assert.equal(sample(text, 'http_stream_sink_request_duration_seconds_count'), 50)
  assert.equal(sample(text, 'http_stream_sink_records_inside'), 0)

  assert.equal((await get(url.replace('/metrics', '/other'))).status, 404)
  const post = await get(url, 'POST')
  assert.equal(post.status, 405)
  assert.equal(post.headers.allow, 'GET, HEAD')
  const head = await get(url, 'HEAD')
  assert.equal(head.status, 200)
  assert.equal(head.body, '')

  cli.child.stdin.write(lines(51, 76))
  await scrapeUntil((x) => sample(x, 'http_stream_sink_records_written_total') === 75 && sample(x, 'http_stream_sink_records_inside') === 0)
  assert.equal(sample(text, 'http_stream_sink_records_delivered_total'), 72)
  cli.child.stdin.end()
  const { code } = await cli.exited
  assert.equal(code, 3, cli.stderr())
  assert.equal(summaryNumber(cli.stdout(), 'delivered'), 72, cli.stdout())
  assert.equal((await storedEnvelopes(join(dir, 'fo'))).length, 3)
  await assert.rejects(get(url), /ECONNREFUSED/, 'the endpoint is gone with the command')
  t.diagnostic(`scraped ${url}: ${text.split('\n').length} lines; receiver got ${receiver.deliveredCount} records`)
})

test('--metrics-port and --metrics-host usage errors exit 2 on one line', async () => {
  const CASES: Array<[string[], RegExp]> = [
    [['send', 'http://127.0.0.1:9/', '--metrics-port', '99999'], /--metrics-port takes a port number from 0 to 65535 \(got "99999"\)/],
    [['send', 'http://127.0.0.1:9/', '--metrics-host', '0.0.0.0'], /--metrics-host goes with --metrics-port P/]
  ]
  for (const [argv, pattern] of CASES) {
    const c = cliIo('')
    const code = await main(argv, c.io)
    assert.equal(code, 2, c.err())
    assert.match(c.err(), pattern)
    assert.equal(c.err().trimEnd().split('\n').length, 1)
  }
  const help = cliIo('')
  await main(['help', 'send'], help.io)
  assert.match(help.out(), /--metrics-port P/)
})

test('serveMetrics: a port in use is an error at start; close() frees the port', async () => {
  const first = await serveMetrics(0, () => 'x 1\n')
  await assert.rejects(serveMetrics(first.port, () => ''), /EADDRINUSE/)
  assert.equal((await get(first.url)).body, 'x 1\n')
  const failing = await serveMetrics(0, () => { throw new Error('boom') })
  const res = await get(failing.url)
  assert.equal(res.status, 500)
  assert.match(res.body, /boom/)
  await failing.close()
  await first.close()
  await first.close()
  const again = await serveMetrics(first.port, () => '')
  await again.close()
})
