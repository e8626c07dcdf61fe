/**
 * Runs `task(0..total-1)` with `concurrency` loops that each take the next index as soon as
 * their previous task settles: the hand-written way to keep exactly `concurrency` requests in flight.
 */
export async function runLoops (concurrency: number, total: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const loop = async (): Promise<void> => {
    while (next < total) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, loop))
}

/** Thrown by a baseline when the receiver does not answer 2xx: the measurement would be void. */
export function assertOk (status: number, subject: string): void {
  if (status < 200 || status > 299) throw new Error(`${subject}: receiver answered ${status}`)
}
