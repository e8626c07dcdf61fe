/** Settings of the Kafka receiver and of the kafkajs consumers it creates. */
export interface KafkaReceiverOptions {
  clientId?: string
  /** ms. Default 3000. */
  connectionTimeout?: number
  /** ms. Default 30000. */
  requestTimeout?: number
  /** Consumer group session timeout (ms). Default 30000. */
  sessionTimeout?: number
  /** ms a rebalance waits for members to rejoin. Default 60000. */
  rebalanceTimeout?: number
  /** ms. Default 3000. */
  heartbeatInterval?: number
  /** Longest wait of a broker fetch (ms). Default 100. */
  maxWaitTimeInMs?: number
  /** Records a consumer instance buffers before pausing its partitions. Default 10000. */
  maxBufferedRecords?: number
  /** kafkajs retry settings. Default { retries: 5 }. */
  retry?: { retries?: number, initialRetryTime?: number, maxRetryTime?: number }
}
