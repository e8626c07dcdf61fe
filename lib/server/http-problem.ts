import { HttpStreamError } from '../errors.js'

/**
 * A request the server refuses: the HTTP status, the `error_code` of the JSON body
 * (`{ "error_code", "message" }`, the Kafka REST shape used on every surface but InLong) and extra
 * headers (Allow, WWW-Authenticate, Retry-After). Internal: it never leaves the server.
 */
export class HttpProblem extends HttpStreamError {
  readonly status: number
  readonly errorCode: number
  readonly headers: Record<string, string>
  constructor (status: number, errorCode: number, message: string, headers: Record<string, string> = {}) {
    super('ERR_HTTP_PROBLEM', message)
    this.status = status
    this.errorCode = errorCode
    this.headers = headers
  }
}

export function notFound (): HttpProblem {
  return new HttpProblem(404, 404, 'HTTP 404 Not Found')
}

export function methodNotAllowed (allowed: string[]): HttpProblem {
  return new HttpProblem(405, 405, 'HTTP 405 Method Not Allowed', { allow: allowed.join(', ') })
}
