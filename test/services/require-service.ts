import type { TestContext } from 'node:test'

/** What a service starter returns when the service cannot run here, with the reason. */
export interface Missing {
  readonly missing: string
}

export function missing (reason: string): Missing {
  return { missing: reason }
}

export function isMissing (value: unknown): value is Missing {
  return value !== null && typeof value === 'object' && typeof (value as Missing).missing === 'string'
}

/**
 * Guards a test that needs a real service. When the service is missing the test is skipped with a
 * loud reason locally, but fails when `CI=true` (CI installs every service, so a skip there hides a bug).
 *
 *   if (!requireService(t, db, 'MariaDB')) return
 */
export function requireService<T> (t: TestContext, svc: T | Missing | null | undefined, what: string): svc is T {
  if (svc !== null && svc !== undefined && !isMissing(svc)) return true
  const why = isMissing(svc) ? svc.missing : 'it was not started'
  const message = `${what} is not available: ${why}`
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: every service must run in CI)`)
  process.stderr.write(`\n*** SKIPPED "${t.name}": ${message} ***\n`)
  t.skip(`SKIPPED: ${message}`)
  return false
}
