/**
 * The bridge's figures as Prometheus families (after the writable's own): messages consumed,
 * commits, and per partition the lag, high watermark, position and committed offset.
 */
import { prometheusRenderer, renderFamily } from '../sink/prometheus-text.js'
import type { MetricFamily, MetricSample } from '../sink/prometheus-families.js'
import type { KafkaBridge, BridgeStats } from './kafka-bridge.js'

export const BRIDGE_PREFIX = 'http_stream_bridge_'

type PartitionFigure = 'lag' | 'highWatermark' | 'position' | 'committed'

function perPartition (s: BridgeStats, figure: PartitionFigure): MetricSample[] {
  const out: MetricSample[] = []
  for (const p of s.partitions) {
    const value = p[figure]
    if (value !== null) out.push({ labels: { topic: p.topic, partition: p.partition }, value })
  }
  return out
}

export function bridgeFamilies (s: BridgeStats, prefix = BRIDGE_PREFIX): MetricFamily[] {
  const counter = (suffix: string, help: string, value: number): MetricFamily => ({ name: prefix + suffix, help, type: 'counter', values: [{ labels: {}, value }] })
  const gauge = (suffix: string, help: string, figure: PartitionFigure): MetricFamily => ({ name: prefix + suffix, help, type: 'gauge', values: perPartition(s, figure) })
  return [
    counter('messages_consumed_total', 'Messages taken from Kafka (tombstones included).', s.consumed),
    counter('commits_total', 'Offset commits the group accepted.', s.commits),
    counter('commits_refused_total', 'Offset commits refused (a rebalance under way); the next one covers them.', s.commitsFailed),
    gauge('partition_lag', 'Messages in the partition not yet taken by this member (high watermark - position).', 'lag'),
    gauge('partition_high_watermark', 'The partition\'s end offset, from the last fetched batch.', 'highWatermark'),
    gauge('partition_position', 'The next offset this member hands to the writable.', 'position'),
    gauge('partition_committed_offset', 'The offset this member last committed.', 'committed')
  ]
}

/** `GET /metrics` of a bridge: the writable's metrics, then the bridge's. */
export function bridgePrometheusRenderer (bridge: KafkaBridge): () => string {
  const sinkText = prometheusRenderer()
  return () => `${sinkText(bridge.sink.metrics())}${bridgeFamilies(bridge.stats()).map(renderFamily).join('\n')}\n`
}
