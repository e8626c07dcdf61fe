/**
 * destroy() mid-flight drops nothing silently: every written record is delivered, in the failover
 * files, in the error's `records`, or was refused to the writer by its write callback. With no
 * store (`failover: false`) or a store that cannot store, the records inside travel in the error.
 * Runs against both transports.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { gate } from './helpers/receiver.js'
import { account, feed, LIMIT, records, rig, settled, TRANSPORTS } from './helpers/writable-harness.js'

interface Case {
  name: string
  /** The failover option, given the rig's directory; undefined keeps the rig's store. */
  failover?: (dir: string) => Promise<string | false>
  cause?: Error
  /** The code the stream must error with, when it must. */
  code?: string
}

const CASES: Case[] = [
  { name: 'destroy() stores the records inside' },
  { name: 'destroy(err) stores the records inside and surfaces an error', cause: new Error('stop now') },
  { name: 'destroy() with failover: false errors with ERR_STREAM_DESTROYED and the records', failover: async () => false, code: 'ERR_STREAM_DESTROYED' },
  {
    name: 'destroy() with a store that cannot store errors with ERR_FAILOVER_STORE and the records',
    failover: async (dir) => {
      const blocker = join(dir, '..', 'a-file')
      await writeFile(blocker, 'not a directory')
      return `file:${join(blocker, 'failover')}`
    },
    code: 'ERR_FAILOVER_STORE'
  }
]

for (const transport of TRANSPORTS) {
  describe(`createHttpWritable destroy (${transport})`, () => {
    for (const c of CASES) {
      it(c.name, LIMIT, async (t) => {
        const held = gate()
        const r = await rig(t, { plan: (req) => req.seq < 6 ? undefined : { status: 200, until: held.promise } })
        t.after(held.open)
        const failover = c.failover === undefined ? r.failover : await c.failover(r.dir)
        const sink = r.sink({ transport, failover, numWriters: 4, timeout: 1000, backoff: { base: 5, max: 50 } })
        const fed = await feed(sink, records(40), { end: false })
        await r.receiver.waitFor(() => r.receiver.deliveredCount >= 6 && r.receiver.active === 4)
        const inside = sink.stats()
        t.diagnostic(`at destroy: ${JSON.stringify(inside)}`)
        assert.ok(inside.inFlight + inside.queued > 0, 'records were inside the sink when it was destroyed')
        sink.destroy(c.cause)
        fed.error ??= await settled(sink)
        held.open()
        if (c.cause !== undefined) assert.ok(fed.error !== undefined, 'destroy(err) surfaces an error')
        if (c.code !== undefined) {
          assert.equal(fed.error?.code, c.code, `got ${String(fed.error)}`)
          assert.ok((fed.error.records?.length ?? 0) >= inside.inFlight + inside.queued, 'the error carries every record inside')
        }
        const report = await account(t, r, fed)
        assert.ok(report.stored + report.errored + report.rejected > 0, 'the records inside went somewhere visible')
      })
    }
  })
}
