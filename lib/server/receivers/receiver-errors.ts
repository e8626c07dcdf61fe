import { HttpStreamError } from '../../errors.js'
import type { ReceiverOperation } from './receiver.js'

/**
 * Errors receivers throw. Each carries the HTTP status and the Kafka REST `error_code` the server
 * answers with, so every surface maps them the same way.
 */
export class ReceiverError extends HttpStreamError {
  readonly status: number
  readonly errorCode: number
  constructor (code: string, status: number, errorCode: number, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.status = status
    this.errorCode = errorCode
  }
}

/** The topic is at its retention limit with records some group has not consumed: 429 + Retry-After. */
export class ReceiverFullError extends ReceiverError {
  readonly topic: string
  readonly retryAfterSeconds: number
  constructor (topic: string, retryAfterSeconds: number, what = `Topic ${topic} is full`, errorCode = 42901) {
    super('ERR_RECEIVER_FULL', 429, errorCode, `${what}: retry after ${retryAfterSeconds} s, once consumers have committed.`)
    this.topic = topic
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The memory receiver's server-wide budget (`maxBytes`, all topics) is spent: 429 / 42902 + Retry-After, like a full topic. */
export class MemoryBudgetFullError extends ReceiverFullError {
  readonly budgetBytes: number
  constructor (topic: string, retryAfterSeconds: number, budgetBytes: number) {
    super(topic, retryAfterSeconds, `The server's memory budget (maxBytes ${budgetBytes}) is full`, 42902)
    this.budgetBytes = budgetBytes
  }
}

/** A new topic would pass the memory receiver's `maxTopics`: 422 / 42220, ours (Confluent's 42206 is "payload error"; retrying does not help). */
export class TopicLimitError extends ReceiverError {
  readonly maxTopics: number
  constructor (topic: string, maxTopics: number) {
    super('ERR_TOPIC_LIMIT', 422, 42220, `Topic ${topic} cannot be created: the server holds its maxTopics (${maxTopics}) topics.`)
    this.maxTopics = maxTopics
  }
}

/** The request holds more records or bytes than the topic can ever retain: 413. */
export class PayloadTooLargeError extends ReceiverError {
  constructor (message: string) {
    super('ERR_PAYLOAD_TOO_LARGE', 413, 41301, message)
  }
}

export class TopicNotFoundError extends ReceiverError {
  constructor (topic: string) {
    super('ERR_TOPIC_NOT_FOUND', 404, 40401, `Topic not found: ${topic}`)
  }
}

export class PartitionNotFoundError extends ReceiverError {
  constructor (topic: string, partition: number) {
    super('ERR_PARTITION_NOT_FOUND', 404, 40402, `Partition not found: ${topic}/${partition}`)
  }
}

/** A record does not match the topic's JSON Schema; nothing of the request was stored. */
export class SchemaMismatchError extends ReceiverError {
  readonly index: number
  readonly path: string
  constructor (topic: string, index: number, path: string, detail: string) {
    super('ERR_SCHEMA_MISMATCH', 422, 42203, `Record ${index} does not match the schema of topic ${topic}: ${path === '' ? '(root)' : path} ${detail}`)
    this.index = index
    this.path = path
  }
}

export class InvalidSchemaError extends ReceiverError {
  constructor (detail: string) {
    super('ERR_INVALID_SCHEMA', 422, 42205, `Invalid schema: ${detail}`)
  }
}

/** The receiver does not implement this operation: 501 naming it. */
export class UnsupportedOperationError extends ReceiverError {
  readonly operation: ReceiverOperation
  constructor (kind: string, operation: ReceiverOperation) {
    super('ERR_UNSUPPORTED_OPERATION', 501, 501, `The ${kind} receiver does not support the '${operation}' operation.`)
    this.operation = operation
  }
}

/** The backend (Kafka) failed; `retriable` says whether trying again may work (50003 vs 50002). */
export class BackendError extends ReceiverError {
  constructor (message: string, retriable: boolean, options?: { cause?: unknown }) {
    super('ERR_RECEIVER_BACKEND', 500, retriable ? 50003 : 50002, `${retriable ? 'Retriable Kafka error' : 'Kafka error'}: ${message}`, options)
  }
}

/** The receiver is closed or closing. */
export class ReceiverClosedError extends ReceiverError {
  constructor (kind: string) {
    super('ERR_RECEIVER_CLOSED', 503, 503, `The ${kind} receiver is closed.`)
  }
}

/** Kafka's KafkaConsumer.poll text for a consumer with neither a subscription nor an assignment (Confluent answers it 409 / 40903). */
export const NOT_SUBSCRIBED = 'Consumer is not subscribed to any topics or assigned any partitions'

/** The consumer cannot do this now, e.g. seek a partition it is not subscribed to (409 40903). */
export class IllegalStateError extends ReceiverError {
  constructor (message: string) {
    super('ERR_ILLEGAL_STATE', 409, 40903, `Illegal state: ${message}`)
  }
}

/** Bad offsets or partitions in a commit or seek (422 / 422; Confluent's 42202 means "value schema missing"). */
export class InvalidOffsetError extends ReceiverError {
  constructor (message: string) {
    super('ERR_INVALID_OFFSET', 422, 422, message)
  }
}
