import { parseArgs } from 'node:util'
import { type CliIo, EXIT, UsageError, int } from './io.js'
import { WRITABLE_FLAGS, writableOptions } from './writable-flags.js'
import { ProgressLine, formatRate, summary } from './progress.js'
import { StopRequest, aborted } from './stop-request.js'
import { createKafkaBridge, type BridgeStats } from '../bridge/kafka-bridge.js'
import type { BridgeValue } from '../bridge/options.js'
import { lagText } from '../bridge/lag-text.js'
import { bridgePrometheusRenderer } from '../bridge/bridge-metrics.js'
import { METRICS_FLAGS, serveMetricsFlags } from './metrics-flags.js'
import type { MetricsServer } from './metrics-server.js'
import { describeError } from '../errors.js'

export { BRIDGE_HELP } from './bridge-help.js'

const FLAGS = {
  ...WRITABLE_FLAGS,
  ...METRICS_FLAGS,
  group: { type: 'string' },
  'commit-interval-ms': { type: 'string' },
  'settle-timeout-ms': { type: 'string' },
  value: { type: 'string' },
  'session-timeout': { type: 'string' }
} as const

/** `kafka://b1:9092,b2:9092/t1,t2` → brokers and topics. */
export function parseKafkaSource (text: string): { brokers: string[], topics: string[] } {
  const m = /^kafka:\/\/([^/]+)\/([^/?#]+)$/.exec(text)
  if (m === null) throw new UsageError(`bridge takes kafka://host:port[,host:port]/topic[,topic] (got ${JSON.stringify(text)})`)
  return { brokers: m[1]!.split(',').filter(Boolean), topics: m[2]!.split(',').filter(Boolean).map(decodeURIComponent) }
}

export async function run (argv: string[], io: CliIo & { signal?: AbortSignal }): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true })
  if (values['grace-ms'] !== undefined) throw new UsageError('bridge settles for --settle-timeout-ms MS on SIGINT/SIGTERM and on revoke (--grace-ms is for send, demo and replay)')
  if (positionals.length !== 2) throw new UsageError('bridge takes kafka://brokers/topics and <url>')
  if (typeof values.group !== 'string') throw new UsageError('bridge needs --group G')
  const num = (flag: string): number | undefined => {
    const v = (values as Record<string, unknown>)[flag]
    return typeof v === 'string' ? int(v, `--${flag}`) : undefined
  }
  const bridge = createKafkaBridge({
    ...writableOptions(values),
    ...parseKafkaSource(positionals[0]!),
    url: positionals[1]!,
    groupId: values.group,
    commitIntervalMs: num('commit-interval-ms'),
    settleTimeoutMs: num('settle-timeout-ms'),
    sessionTimeout: num('session-timeout'),
    value: values.value as BridgeValue | undefined
  })
  let metrics: MetricsServer | undefined
  try {
    // --metrics-port P [--metrics-host H]: the writable's and the bridge's metrics on GET /metrics.
    metrics = await serveMetricsFlags(values, io, 'bridge', bridgePrometheusRenderer(bridge))
  } catch (err) {
    await bridge.stop().catch(() => {})
    throw err
  }
  let failure: unknown
  const crashed = new Promise<void>((resolve) => bridge.on('error', (err) => { failure ??= err; resolve() }))
  // One line per assignment on stderr (the summary goes to stdout): who holds which partitions, for the logs.
  bridge.on('assigned', (assignment: Record<string, number[]>) => {
    const held = Object.entries(assignment).map(([topic, ps]) => `${topic} [${ps.join(',')}]`).join(' ')
    io.stderr.write(`${io.stderr.isTTY === true ? '\r\x1b[K' : ''}http-stream bridge: assigned ${held === '' ? 'nothing' : held}\n`)
  })
  const stop = new StopRequest(io, Infinity)
  const progress = new ProgressLine(io, () => bridge.stats(), { tail: (c) => `commits ${c.commits}  ${lagText(c.partitions)}` })
  let s: BridgeStats
  try {
    await bridge.start()
    await Promise.race([aborted(stop.requested), crashed])
  } catch (err) {
    failure ??= err
  } finally {
    s = await bridge.stop({ signal: stop.now }).catch((err: unknown) => { failure ??= err; return bridge.stats() })
    stop.dispose()
    await metrics?.close()
  }
  const ms = progress.stop()
  summary(io, `bridge${stop.reason}${failure === undefined ? '' : ' (failed)'}`, {
    consumed: s.consumed,
    delivered: s.delivered,
    retried: s.retried,
    'failed over': s.failedOver,
    commits: s.commits,
    'commits refused': s.commitsFailed,
    lag: lagText(s.partitions),
    ...(failure === undefined ? {} : { error: describeError(failure) }),
    elapsed: `${(ms / 1000).toFixed(2)} s`,
    rate: `${formatRate((s.written * 1000) / Math.max(1, ms))} records/s`
  })
  if (failure !== undefined || s.delivered + s.failedOver !== s.written) return EXIT.lost
  return stop.exitCode ?? EXIT.ok
}
