/**
 * A `metrics()` snapshot in the Prometheus text exposition format (version 0.0.4), as a `/metrics`
 * endpoint serves it: `# HELP`, `# TYPE`, then one line per sample.
 */
import { familyLayout, type FamilyLayout, type Labels, type MetricFamily, type PrometheusOptions } from './prometheus-families.js'
import type { SinkMetrics } from './sink-metrics.js'

/** The content type of the text it renders. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** A renderer for snapshots under `options` (checked once, here). */
export function prometheusRenderer (options: PrometheusOptions = {}): (metrics: SinkMetrics) => string {
  const layout: FamilyLayout = familyLayout(options)
  return (metrics) => `${layout.families(metrics).map(renderFamily).join('\n')}\n`
}

/** A snapshot as Prometheus text, under `options`. */
export function renderPrometheus (metrics: SinkMetrics, options: PrometheusOptions = {}): string {
  return prometheusRenderer(options)(metrics)
}

export function renderFamily (family: MetricFamily): string {
  const lines = [`# HELP ${family.name} ${escape(family.help)}`, `# TYPE ${family.name} ${family.type}`]
  for (const sample of family.values) lines.push(`${sample.metricName ?? family.name}${labelText(sample.labels)} ${valueText(sample.value)}`)
  return lines.join('\n')
}

function labelText (labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(String(v)).replace(/"/g, '\\"')}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function valueText (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

function escape (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}
