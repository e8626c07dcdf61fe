/**
 * `--metrics-port P` and `--metrics-host H`: serve the running sink's Prometheus text on
 * `GET http://H:P/metrics` (H 127.0.0.1 by default) for as long as the sink lives.
 */
import type { CliIo } from './io.js'
import { UsageError, port } from './io.js'
import { serveMetrics, type MetricsServer } from './metrics-server.js'
import { prometheusRenderer } from '../sink/prometheus-text.js'
import type { SinkMetrics } from '../sink/sink-metrics.js'

export const METRICS_FLAGS = {
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' }
} as const

export const METRICS_FLAGS_HELP = `  --metrics-port P         serve the sink's Prometheus metrics on GET /metrics while it runs
                           (0: any free port; the URL is printed on stderr)
  --metrics-host H         the address --metrics-port listens on (default 127.0.0.1, this machine
                           only; 0.0.0.0 for every interface)`

type Values = Record<string, unknown>

/** The metrics endpoint of a command: shows the sink given to `watch`, and closes when that sink closes. */
export interface SinkMetricsEndpoint {
  server: MetricsServer
  watch: (sink: { metrics: () => SinkMetrics, once: (event: 'close', listener: () => void) => unknown }) => void
}

/**
 * Serves `render()` when `--metrics-port` is given (a bad port is a usage error, a port in use a
 * runtime error, both before any record is read) and prints its URL as `title: metrics on URL`;
 * undefined otherwise.
 */
export async function serveMetricsFlags (values: Values, io: CliIo, title: string, render: () => string): Promise<MetricsServer | undefined> {
  const portFlag = values['metrics-port']
  if (typeof portFlag !== 'string') {
    if (values['metrics-host'] !== undefined) throw new UsageError('--metrics-host goes with --metrics-port P')
    return undefined
  }
  const host = typeof values['metrics-host'] === 'string' ? values['metrics-host'] : '127.0.0.1'
  const server = await serveMetrics(port(portFlag, '--metrics-port'), render, host)
  io.stderr.write(`${title}: metrics on ${server.url}\n`)
  return server
}

/** serveMetricsFlags for a sink: it answers an empty page until `watch` names the sink. */
export async function startMetricsEndpoint (values: Values, io: CliIo, title: string): Promise<SinkMetricsEndpoint | undefined> {
  const render = prometheusRenderer()
  let source: (() => SinkMetrics) | undefined
  const server = await serveMetricsFlags(values, io, title, () => source === undefined ? '' : render(source()))
  if (server === undefined) return undefined
  return {
    server,
    watch: (sink) => {
      source = () => sink.metrics()
      sink.once('close', () => { server.close().catch(() => {}) })
    }
  }
}
