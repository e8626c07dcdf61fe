#!/usr/bin/env node
// The installed package runs the compiled CLI. In a source checkout before `npm run build`
// (dist/ is made by `prepack`), it runs the TypeScript sources through tsx, a dev dependency.
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
let runCli
if (existsSync(built)) {
  ({ runCli } = await import(built.href))
} else {
  const { register } = await import('tsx/esm/api')
  register()
  ;({ runCli } = await import(new URL('../lib/cli/main.ts', import.meta.url).href))
}

runCli(process.argv.slice(2))
