/**
 * A `metrics()` snapshot as Prometheus metric families, in prom-client's `get()` shape
 * (`{ name, help, type, values: [{ metricName?, labels, value }] }`): the text renderer and the
 * registry helper both read them, so the two always say the same.
 */
import { InvalidOptionError } from '../errors.js'
import { compileOptions } from '../shared/validate.js'
import type { SinkMetrics, StatusClass } from './sink-metrics.js'

export type PrometheusType = 'counter' | 'gauge' | 'histogram'
export type Labels = Record<string, string | number>

export interface MetricSample {
  /** The sample's own name (a histogram's `_bucket`, `_sum`, `_count`); the family's when absent. */
  metricName?: string
  labels: Labels
  value: number
}

export interface MetricFamily {
  name: string
  help: string
  type: PrometheusType
  values: MetricSample[]
}

export interface PrometheusOptions {
  /** Prepended to every metric name. Default 'http_stream_sink_'. */
  prefix?: string
  /** Constant labels on every sample, e.g. `{ sink: 'orders' }`. Default none. */
  labels?: Record<string, string>
}

export const DEFAULT_PREFIX = 'http_stream_sink_'

/** One family: its name after the prefix, and its samples from a snapshot. */
interface FamilySpec {
  suffix: string
  help: string
  type: PrometheusType
  samples: (m: SinkMetrics, name: string, labels: Labels) => MetricSample[]
}

const one = (value: (m: SinkMetrics) => number) => (m: SinkMetrics, _name: string, labels: Labels): MetricSample[] => [{ labels, value: value(m) }]
const STATUS_CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx', 'error']

const FAMILIES: readonly FamilySpec[] = [
  { suffix: 'records_written_total', help: 'Records written to the sink.', type: 'counter', samples: one((m) => m.records.written) },
  { suffix: 'records_delivered_total', help: 'Records delivered (answered with success).', type: 'counter', samples: one((m) => m.records.delivered) },
  { suffix: 'records_retried_total', help: 'Record retries (a record sent three times counts 2).', type: 'counter', samples: one((m) => m.records.retried) },
  { suffix: 'records_failed_over_total', help: 'Records durably stored in the failover store.', type: 'counter', samples: one((m) => m.records.failedOver) },
  { suffix: 'records_in_flight', help: 'Records in requests on the wire now.', type: 'gauge', samples: one((m) => m.records.inFlight) },
  { suffix: 'records_inside', help: 'Records written and not yet delivered or stored.', type: 'gauge', samples: one((m) => m.records.inside) },
  {
    suffix: 'requests_total',
    help: 'Attempts answered, by status class (error: no answer, a network error or a timeout).',
    type: 'counter',
    samples: (m, _name, labels) => STATUS_CLASSES.map((c) => ({ labels: { ...labels, class: c }, value: m.requests.byClass[c] }))
  },
  { suffix: 'requests_in_flight', help: 'Attempts sent and not yet answered.', type: 'gauge', samples: one((m) => m.requests.inFlight) },
  {
    suffix: 'request_duration_seconds',
    help: 'Duration of an attempt, from sending to its answer or error.',
    type: 'histogram',
    samples: (m, name, labels) => {
      const h = m.requestDurationSeconds
      return [
        ...h.buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { ...labels, le: b.le }, value: b.count })),
        { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count },
        { metricName: `${name}_sum`, labels, value: h.sum },
        { metricName: `${name}_count`, labels, value: h.count }
      ]
    }
  }
]

const METRIC_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$'
const checkOptions = compileOptions<PrometheusOptions>({
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: { type: 'string', pattern: METRIC_NAME, description: 'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)' },
    labels: {
      type: 'object',
      propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' },
      additionalProperties: { type: 'string' }
    }
  }
})

/** The families of a sink under `options`, ready to be filled from snapshots; options checked once, here. */
export interface FamilyLayout {
  /** The family names, in order. */
  names: string[]
  /** Every family of one snapshot. */
  families: (m: SinkMetrics) => MetricFamily[]
  /** The `index`-th family of one snapshot. */
  family: (m: SinkMetrics, index: number) => MetricFamily
}

export function familyLayout (options: PrometheusOptions = {}): FamilyLayout {
  const o = checkOptions(options ?? {}, 'options')
  const prefix = o.prefix ?? DEFAULT_PREFIX
  const labels: Labels = { ...o.labels }
  for (const reserved of ['le', 'class']) if (reserved in labels) throw new InvalidOptionError(`options.labels.${reserved}`, `is a label the sink's metrics use themselves`)
  const names = FAMILIES.map((f) => prefix + f.suffix)
  const family = (m: SinkMetrics, index: number): MetricFamily => {
    const spec = FAMILIES[index]!
    const name = names[index]!
    return { name, help: spec.help, type: spec.type, values: spec.samples(m, name, labels) }
  }
  return { names, family, families: (m) => FAMILIES.map((_, i) => family(m, i)) }
}
