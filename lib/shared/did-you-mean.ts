/**
 * The known name closest to a misspelt one, for "did you mean" hints: the same name in another case,
 * or one at most 2 edits away (1 for names of 4 characters or fewer). Undefined when none is close.
 */
export function didYouMean (name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  const sameCase = known.find(k => k.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  const limit = name.length <= 4 ? 1 : 2
  let best: string | undefined
  let bestDistance = limit + 1
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase())
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}

/** Levenshtein distance (insertions, deletions, substitutions). */
function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length] as number
}
