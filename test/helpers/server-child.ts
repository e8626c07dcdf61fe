/**
 * A stream server in its own process, for the server-restart tests: listens on 127.0.0.1:<port> with
 * the options given as JSON, prints "listening <url>" once ready, and runs until it is killed.
 *   node --import tsx server-child.ts <port> '<options json>'
 */
import { createHttpStreamServer, type HttpStreamServerOptions } from '../../lib/server/server.js'

const [port, json] = process.argv.slice(2) as [string, string]
const server = createHttpStreamServer(JSON.parse(json) as HttpStreamServerOptions)
await server.listen(Number(port), '127.0.0.1')
process.stdout.write(`listening ${server.url}\n`)
