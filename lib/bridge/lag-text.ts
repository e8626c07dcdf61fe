import type { PartitionLag } from './consumed-offsets.js'

/** `lag 130 (t/0 50, t/1 80)`: the total, then the partitions furthest behind (at most `most`). */
export function lagText (partitions: readonly PartitionLag[], most = 6): string {
  const total = partitions.reduce((sum, p) => sum + p.lag, 0)
  const behind = partitions.filter((p) => p.lag > 0).sort((a, b) => b.lag - a.lag)
  const shown = behind.slice(0, most).map((p) => `${p.topic}/${p.partition} ${p.lag}`)
  if (behind.length > most) shown.push('…')
  return `lag ${total}${shown.length === 0 ? '' : ` (${shown.join(', ')})`}`
}
