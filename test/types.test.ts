// The public types reject what the README says is wrong: test/types/expect-errors.ts holds lines that
// must compile and `@ts-expect-error` lines that must not (a misspelt encoding, a wrong event
// payload field, an unknown option, a wrong option type). tsc fails on either kind of surprise.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname

test('tsc --noEmit over test/types: every @ts-expect-error line fails to compile, every other line compiles', async (t) => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const { code, output } = await new Promise<{ code: number | null, output: string }>((resolve) => {
    execFile(process.execPath, [tsc, '--noEmit', '-p', join(root, 'test', 'types', 'tsconfig.json')], { cwd: root, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, output: stdout + stderr })
    })
  })
  const expected = readFileSync(join(root, 'test', 'types', 'expect-errors.ts'), 'utf8').split('\n').filter((l) => l.startsWith('// @ts-expect-error')).length
  t.diagnostic(`${expected} expected errors checked`)
  assert.ok(expected >= 10, 'the file holds the expected-error lines')
  assert.equal(code, 0, output)
})
