import type { Receiver } from './receivers/receiver.js'

/** Counters the routes bump; rendered as Prometheus text by `render`. */
export class ServerMetrics {
  readonly recordsIn = new Map<string, number>()
  readonly recordsOut = new Map<string, number>()
  readonly bytesIn = new Map<string, number>()
  readonly bytesOut = new Map<string, number>()
  readonly throttled = new Map<string, number>()
  /** key: `surface status` */
  readonly requests = new Map<string, number>()

  produced (topic: string, records: number, bytes: number): void {
    add(this.recordsIn, topic, records)
    add(this.bytesIn, topic, bytes)
  }

  consumed (topic: string, records: number, bytes: number): void {
    add(this.recordsOut, topic, records)
    add(this.bytesOut, topic, bytes)
  }

  throttle (topic: string): void {
    add(this.throttled, topic, 1)
  }

  request (surface: string, status: number): void {
    add(this.requests, `${surface} ${status}`, 1)
  }

  async render (receiver: Receiver): Promise<string> {
    const out: string[] = []
    const perTopic = (name: string, help: string, values: Map<string, number>): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
      for (const [topic, n] of values) out.push(`${name}{topic="${label(topic)}"} ${n}`)
    }
    perTopic('http_stream_records_in_total', 'Records accepted by the server.', this.recordsIn)
    perTopic('http_stream_records_out_total', 'Records handed to consumers.', this.recordsOut)
    perTopic('http_stream_bytes_in_total', 'Value bytes accepted by the server.', this.bytesIn)
    perTopic('http_stream_bytes_out_total', 'Value bytes handed to consumers.', this.bytesOut)
    perTopic('http_stream_throttled_total', "Produce requests refused with 429 because the topic or the server's memory budget was full.", this.throttled)
    perTopic('http_stream_records_dropped_total', "Records evicted before every group consumed them (onFull: 'drop-oldest').", new Map(Object.entries(receiver.stats?.().dropped ?? {})))
    out.push('# HELP http_stream_requests_total HTTP requests answered, by surface and status.', '# TYPE http_stream_requests_total counter')
    for (const [key, n] of this.requests) {
      const [surface, status] = key.split(' ')
      out.push(`http_stream_requests_total{surface="${label(surface ?? '')}",status="${status ?? ''}"} ${n}`)
    }
    out.push('# HELP http_stream_consumer_lag Records not yet committed by a consumer group.', '# TYPE http_stream_consumer_lag gauge')
    const lag = receiver.lag !== undefined ? await receiver.lag() : []
    for (const l of lag) out.push(`http_stream_consumer_lag{group="${label(l.group)}",topic="${label(l.topic)}",partition="${l.partition}"} ${l.lag}`)
    return out.join('\n') + '\n'
  }
}

function add (map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n)
}

/** Escapes a Prometheus label value. */
function label (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
