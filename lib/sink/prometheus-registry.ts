/**
 * `registerSinkMetrics(registry, sink, options)`: the sink's metrics on a user's prom-client
 * Registry. It implements the registry's metric interface itself (objects with `name`, `help`,
 * `type`, `get()`, `reset()`), so nothing here imports prom-client: it is an optional peer
 * dependency, needed only by whoever passes a Registry. Each scrape reads `sink.metrics()`.
 */
import { familyLayout, type MetricFamily, type PrometheusOptions, type PrometheusType } from './prometheus-families.js'
import type { SinkMetrics } from './sink-metrics.js'
import { InvalidOptionError } from '../errors.js'

/** What is used of a prom-client Registry (any version with `registerMetric`). */
export interface PrometheusRegistry {
  registerMetric (metric: never): void
  removeSingleMetric?: (name: string) => void
}

/** Anything with `metrics()`: an HttpWritable, an HttpTransform. */
export interface MetricsSource {
  metrics (): SinkMetrics
}

/** One family as a prom-client metric. */
interface RegisteredMetric {
  name: string
  help: string
  type: PrometheusType
  aggregator: 'sum'
  get: () => Promise<MetricFamily & { aggregator: 'sum' }>
  reset: () => void
}

/**
 * Registers the sink's metrics (named `prefix` + …, default `http_stream_sink_`, with `labels` on
 * every sample) on `registry`. A name already registered throws (prom-client's own error): give a
 * second sink its own `prefix`. Returns a function that removes them again.
 */
export function registerSinkMetrics (registry: PrometheusRegistry, sink: MetricsSource, options: PrometheusOptions = {}): () => void {
  if (registry === null || typeof registry !== 'object' || typeof registry.registerMetric !== 'function') throw new InvalidOptionError('registry', 'must be a prom-client Registry (an object with registerMetric)')
  if (sink === null || typeof sink !== 'object' || typeof sink.metrics !== 'function') throw new InvalidOptionError('sink', 'must have metrics() (an HttpWritable or HttpTransform)')
  const layout = familyLayout(options)
  const registered: string[] = []
  try {
    layout.names.forEach((name, index) => {
      const first = layout.family(sink.metrics(), index)
      const metric: RegisteredMetric = {
        name,
        help: first.help,
        type: first.type,
        aggregator: 'sum',
        // `metric.name`, not `name`: prom-client renames counters for OpenMetrics output.
        get: async () => ({ ...layout.family(sink.metrics(), index), name: metric.name, aggregator: 'sum' }),
        reset: () => {}
      }
      registry.registerMetric(metric as never)
      registered.push(name)
    })
  } catch (err) {
    for (const name of registered) registry.removeSingleMetric?.(name)
    throw err
  }
  return () => { for (const name of registered) registry.removeSingleMetric?.(name) }
}
