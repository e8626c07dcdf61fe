import { HttpStreamError } from '../errors.js'

/**
 * A stream server (ours or any Kafka REST Proxy v2) refused a request or could not be reached.
 * `status` is the HTTP status (null when no answer came); `errorCode` is the body's Kafka REST
 * `error_code` (e.g. 40403 consumer instance not found), null when it had none.
 */
export class StreamServerError extends HttpStreamError {
  readonly status: number | null
  readonly errorCode: number | null
  constructor (status: number | null, errorCode: number | null, message: string, options?: { cause?: unknown }) {
    super('ERR_STREAM_SERVER', message, options)
    this.status = status
    this.errorCode = errorCode
  }
}
