import { WRITABLE_FLAGS_HELP } from './writable-flags.js'
import { METRICS_FLAGS_HELP } from './metrics-flags.js'

/** Kept apart from bridge.ts so `http-stream help` does not load kafkajs. */
export const BRIDGE_HELP = `http-stream bridge kafka://host:9092[,host2:9092]/topic[,topic2] <url> --group G [flags]
  Consumes the topics in consumer group G and delivers each message's value to <url> (as JSON when
  it parses, else as a string). Offsets are committed only past messages delivered or stored in
  failover; run more bridges in the same group to split the partitions.
  SIGINT/SIGTERM: stop consuming, deliver what is inside for --settle-timeout-ms, store the rest,
  commit, exit 130/143 (1 if some record was neither delivered nor stored).
  --group G                consumer group (required)
  --commit-interval-ms MS  between offset commits (default 5000)
  --settle-timeout-ms MS   on revoke or stop, wait this long for delivery (default 30000)
  --value V                json (default, string when not JSON), string or buffer
  --session-timeout MS     consumer group session timeout (default 30000)
  --idempotency-key on     each request's Idempotency-Key is its messages' Kafka coordinates
                           (topic-partition-first-last per partition); a header name: that header
                           with the writable's key (a hash of target and body)
${METRICS_FLAGS_HELP}
                           (the writable's metrics, then http_stream_bridge_*: consumed, commits,
                           lag / high watermark / position / committed offset per partition)
${WRITABLE_FLAGS_HELP.slice(0, WRITABLE_FLAGS_HELP.indexOf('\n  --grace-ms'))}`
