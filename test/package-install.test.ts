// The package as users get it: `npm pack`, installed into an empty project, imported by name from
// JavaScript and from TypeScript compiled with skipLibCheck: false, and its bin run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('..', import.meta.url).pathname
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** Every value the contract (design.md) and the README name, and the types a consumer uses. */
const VALUES = [
  'createHttpWritable', 'createHttpReadable', 'createHttpTransform', 'createHttpStreamServer',
  'HttpStreamClient', 'openStore', 'replay', 'fromStreamParkConfig', 'HttpWritable', 'HttpReadable',
  'HttpTransform', 'HttpStreamServer', 'FailoverTransform', 'FileStore', 'KafkaStore', 'MySqlStore',
  'WebHdfsStore', 'HBaseStore', 'MemoryReceiver', 'KafkaReceiver', 'NullReceiver', 'HttpStreamError',
  'InvalidOptionError', 'StoreError', 'StoreLockedError', 'StreamServerError', 'createKafkaBridge',
  'registerSinkMetrics', 'renderPrometheus', 'PROMETHEUS_CONTENT_TYPE', 'SINK_CHANNELS'
]
const TYPES = ['HttpWritableOptions', 'HttpWritableStats', 'Store', 'FailoverEnvelope', 'HttpReadableOptions', 'HttpStreamServerOptions', 'Receiver', 'ReplayOptions', 'SinkMetrics', 'IdempotencyKeyOption', 'DedupOptions', 'PartitionLag']

test('the packed tarball installs into an empty project, imports from JS and TS, and runs its bin', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hsc-pack-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await run(npm, ['pack', '--silent', '--pack-destination', dir], { cwd: root, maxBuffer: 1 << 24 })
  const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'))
  assert.ok(tarball, 'npm pack made a tarball')
  const app = join(dir, 'app')
  await run('mkdir', ['-p', app])
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }))
  await run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], { cwd: app, maxBuffer: 1 << 24 })

  const installed = await readdir(join(app, 'node_modules', 'http-stream-connector'))
  assert.ok(installed.includes('LICENSE'), 'the tarball ships LICENSE')
  assert.ok(!installed.includes('lib'), 'sources are not shipped (maps inline them)')

  await writeFile(join(app, 'check.mjs'), `import * as m from 'http-stream-connector'
const missing = ${JSON.stringify(VALUES)}.filter((name) => m[name] === undefined)
if (missing.length > 0) { console.error('missing: ' + missing.join(', ')); process.exit(1) }
console.log(Object.keys(m).length)
`)
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app })
  assert.ok(Number(stdout.trim()) >= VALUES.length)

  await writeFile(join(app, 'consumer.ts'), `import { ${VALUES.join(', ')} } from 'http-stream-connector'
import type { ${TYPES.join(', ')} } from 'http-stream-connector'
const options: HttpWritableOptions = { url: 'http://127.0.0.1:1/x', failover: false }
const sink: HttpWritable = createHttpWritable(options)
const stats: HttpWritableStats = sink.stats()
export const used = [${VALUES.join(', ')}, stats]
export type Used = [${TYPES.join(', ')}]
`)
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')] },
    files: ['consumer.ts']
  }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).then(() => '', (err: { stdout?: string }) => err.stdout ?? String(err))
  assert.equal(compiled, '', 'a TypeScript consumer compiles with skipLibCheck: false')

  const help = await run(join(app, 'node_modules', '.bin', 'http-stream'), ['--help'], { cwd: app })
  assert.match(help.stdout, /usage: http-stream/)
})
