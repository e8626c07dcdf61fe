#!/usr/bin/env node
// The installed package runs the compiled CLI. In a source checkout before `npm run build`
// (dist/ is made by `prepack`), it runs the TypeScript sources through tsx, a dev dependency.
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
let main
if (existsSync(built)) {
  ({ main } = await import(built.href))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ main } = await import(new URL('../lib/cli/main.ts', import.meta.url).href))
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err) => {
  process.stderr.write(`http-stream: ${err && err.message ? err.message : err}\n`)
  process.exitCode = 1
})
