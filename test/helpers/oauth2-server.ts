/**
 * A real OAuth2 authorization server for the auth tests: the `oauth2-mock-server` package (signed
 * JWT access tokens, RFC 6749 token endpoint) on 127.0.0.1:0, closed when the test ends. It issues
 * tokens for the client credentials grant only to the expected client (client_secret_basic, else
 * 401 invalid_client), and lets a test set `expires_in`, make the next fetches fail, and see every
 * token request and every token issued.
 */
import type { TestContext } from 'node:test'
import { OAuth2Server } from 'oauth2-mock-server'

export interface TokenRequest {
  /** The form fields (grant_type, scope, audience, extra params). */
  form: Record<string, string>
  authorization: string | undefined
  status: number
}

export interface OAuth2Fixture {
  tokenUrl: string
  clientId: string
  clientSecret: string
  requests: TokenRequest[]
  /** Access tokens issued, in order. */
  issued: string[]
  /** `expires_in` of the next tokens (seconds); default 3600. */
  expiresIn: number
  /** Answer this many next token requests with `failStatus` instead of a token. */
  failNext: number
  failStatus: number
}

export async function startOAuth2Server (t: TestContext, clientId = 'sink-client', clientSecret = 'S3cr3t-client-Pa55:word'): Promise<OAuth2Fixture> {
  const server = new OAuth2Server()
  await server.issuer.keys.generate('RS256')
  await server.start(0, '127.0.0.1')
  t.after(() => server.stop())
  const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret).replace(/%20/g, '+')}`).toString('base64')}`
  const fixture: OAuth2Fixture = {
    tokenUrl: `http://127.0.0.1:${server.address().port}/token`,
    clientId,
    clientSecret,
    requests: [],
    issued: [],
    expiresIn: 3600,
    failNext: 0,
    failStatus: 503
  }
  server.service.on('beforeResponse', (response: { body: Record<string, unknown>, statusCode: number }, req: { body: Record<string, string>, headers: Record<string, string | undefined> }) => {
    const entry: TokenRequest = { form: { ...req.body }, authorization: req.headers.authorization, status: 200 }
    fixture.requests.push(entry)
    if (fixture.failNext > 0) {
      fixture.failNext--
      entry.status = fixture.failStatus
      response.statusCode = fixture.failStatus
      response.body = { error: 'temporarily_unavailable' }
      return
    }
    if (req.body.grant_type !== 'client_credentials' || req.headers.authorization !== expected) {
      entry.status = 401
      response.statusCode = 401
      response.body = { error: 'invalid_client', error_description: `client ${String(req.headers.authorization)} unknown` }
      return
    }
    response.body.expires_in = fixture.expiresIn
    fixture.issued.push(String(response.body.access_token))
  })
  return fixture
}
