import { PassThrough, Readable } from 'node:stream'

/** In-memory streams for `main(argv, io)`: `input` on stdin, stdout and stderr collected. */
export function cliIo (input = ''): { io: { stdin: Readable, stdout: PassThrough, stderr: PassThrough }, out: () => string, err: () => string } {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (c: Buffer) => { out += c.toString() })
  stderr.on('data', (c: Buffer) => { err += c.toString() })
  return { io: { stdin: Readable.from([input]), stdout, stderr }, out: () => out, err: () => err }
}
