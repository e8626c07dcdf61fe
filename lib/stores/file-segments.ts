import { readdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { thisHost, type Owner } from './file-owner.js'

/**
 * Segment file names of the file store. A segment being written is open and names its writer:
 * `segment-<ms>-<pid>-<seq>.open-<host>.ndjson`. The writer seals it (renames it to
 * `segment-<ms>-<pid>-<seq>.ndjson`) when it rotates, fails or closes; only sealed segments are read
 * and deleted by replay. A writer that died leaves its segment open; replay seals it once the
 * writer is gone. Both forms end in `.ndjson`, so every envelope is in some `*.ndjson` file.
 */
const SEALED = /^segment-(\d+)-(\d+)-(\d+)\.ndjson$/
const OPEN = /^segment-(\d+)-(\d+)-(\d+)\.open-([A-Za-z0-9._-]+)\.ndjson$/

/** Per process, so two stores of one process on one directory never pick the same name. */
let sequence = 0

export function openSegmentName (): string {
  return `segment-${Date.now()}-${process.pid}-${sequence++}.open-${thisHost()}.ndjson`
}

export interface OpenSegment {
  name: string
  owner: Owner
}

export interface SegmentListing {
  /** Sealed segments, oldest first. */
  sealed: string[]
  open: OpenSegment[]
}

/** The segments in `directory`; rejects with the fs error (ENOENT for a missing directory). */
export async function listSegments (directory: string): Promise<SegmentListing> {
  const sealed: string[] = []
  const open: OpenSegment[] = []
  for (const name of await readdir(directory)) {
    if (SEALED.test(name)) sealed.push(name)
    const m = OPEN.exec(name)
    if (m !== null) open.push({ name, owner: { pid: Number(m[2]), host: m[4]! } })
  }
  return { sealed: sealed.sort(bySegmentOrder), open }
}

/** Renames an open segment to its sealed name and returns that name. */
export async function sealSegment (directory: string, name: string): Promise<string> {
  const sealed = name.replace(/\.open-[A-Za-z0-9._-]+\.ndjson$/, '.ndjson')
  await rename(join(directory, name), join(directory, sealed))
  return sealed
}

/** Segments sort by creation time, then writer pid, then sequence. */
function bySegmentOrder (a: string, b: string): number {
  const pa = SEALED.exec(a)!.slice(1, 4).map(Number)
  const pb = SEALED.exec(b)!.slice(1, 4).map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!
  return 0
}
