/** Progress lines go to stderr so stdout carries only the table. */
export function progress (message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}
