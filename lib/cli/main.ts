import { pathToFileURL } from 'node:url'
import { realpathSync } from 'node:fs'
import { HttpStreamError } from '../errors.js'
import { type CliIo, type Command, CommandError, EXIT, UsageError } from './io.js'
import { SEND_HELP } from './send.js'
import { DEMO_HELP } from './demo.js'
import { REPLAY_HELP } from './replay.js'
import { SERVE_HELP } from './serve.js'
import { READ_HELP } from './read.js'
import { BRIDGE_HELP } from './bridge-help.js'
import { packageVersion } from './version.js'

/** Each command lives in its own module, loaded only when used. */
const COMMANDS: Record<string, () => Promise<{ run: Command }>> = {
  send: async () => await import('./send.js'),
  demo: async () => await import('./demo.js'),
  replay: async () => await import('./replay.js'),
  serve: async () => await import('./serve.js'),
  read: async () => await import('./read.js'),
  bridge: async () => await import('./bridge.js')
}

const HELP = `usage: http-stream <command> [args]

${SEND_HELP}

${DEMO_HELP.split('\n')[0]}
${REPLAY_HELP.split('\n')[0]}
${SERVE_HELP.split('\n')[0]}
${READ_HELP.split('\n')[0]}
${BRIDGE_HELP.split('\n')[0]}

'http-stream help <command>' or 'http-stream <command> --help' shows a command's flags;
'http-stream --version' (-V) prints the version.
Exit codes: 0 every record delivered (send) or delivered or stored (demo, replay: what failed again
stays in the store); 1 some record neither delivered nor stored, or a runtime error; 2 bad usage,
a bad option, a missing or locked store; 3 (send) every record delivered or stored, some of them
in failover (replay them later); 130/143 stopped by SIGINT/SIGTERM, every record read delivered
or stored.
`

const COMMAND_HELP: Record<string, string> = { send: SEND_HELP, demo: DEMO_HELP, replay: REPLAY_HELP, serve: SERVE_HELP, read: READ_HELP, bridge: BRIDGE_HELP }

export async function main (argv: string[], io: CliIo = process): Promise<number> {
  const [name, ...rest] = argv
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${packageVersion()}\n`)
    return EXIT.ok
  }
  if (name === 'help' && rest.length > 0) {
    const help = COMMAND_HELP[rest[0]!]
    if (help === undefined) {
      io.stderr.write(`http-stream help: unknown command '${rest[0]!}' (commands: ${Object.keys(COMMANDS).join(', ')})\n`)
      return EXIT.usage
    }
    io.stdout.write(`${help}\n`)
    return EXIT.ok
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(HELP)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const load = COMMANDS[name]
  if (load === undefined) {
    io.stderr.write(`http-stream: unknown command '${name}'\n\n${HELP}`)
    return EXIT.usage
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${COMMAND_HELP[name] ?? HELP}\n`)
    return EXIT.ok
  }
  try {
    return await (await load()).run(rest, io)
  } catch (thrown) {
    const err = thrown instanceof CommandError ? thrown.cause : thrown
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true
    const coded = err instanceof HttpStreamError ? `${err.code}: ` : ''
    const isUsage = usage || EXIT_2.has((err as { code?: string }).code ?? '')
    // One line naming the problem (and, for a bad command line, where the flags are described).
    const message = (err as Error).message.replace(/\s*\n\s*/g, ' ')
    io.stderr.write(`http-stream ${name}: ${coded}${message}${usage ? ` (see 'http-stream help ${name}')` : ''}\n`)
    if (thrown instanceof CommandError) return thrown.exitCode
    return isUsage ? EXIT.usage : EXIT.lost
  }
}

/** Error codes that mean "fix the command line" (or wait for the other process): exit 2. */
const EXIT_2 = new Set(['ERR_INVALID_OPTION', 'ERR_STORE_LOCKED'])

/** After a signal the command has stored what it must; leave at once, even if requests are still open. */
function exit (code: number): void {
  process.exitCode = code
  if (code > 128) process.stdout.write('', () => process.stderr.write('', () => process.exit(code)))
}

/** The `http-stream` command as a process: runs `main` and sets the exit code (bin/http-stream.js calls this). */
export function runCli (argv: string[]): void {
  main(argv).then(exit, (err: unknown) => {
    process.stderr.write(`http-stream: ${(err as Error).message}\n`)
    process.exitCode = EXIT.lost
  })
}

const invoked = process.argv[1] === undefined ? '' : pathToFileURL(realpathSync(process.argv[1])).href
if (import.meta.url === invoked) runCli(process.argv.slice(2))
