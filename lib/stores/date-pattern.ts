/**
 * A small subset of Java's SimpleDateFormat for directory names (StreamPark's `format:
 * yyyy-MM-dd`): yyyy yy MM dd HH mm ss, with - _ . / and digits between. Times are UTC.
 */

const TOKENS: Record<string, (d: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  yy: (d) => String(d.getUTCFullYear() % 100).padStart(2, '0'),
  MM: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  dd: (d) => String(d.getUTCDate()).padStart(2, '0'),
  HH: (d) => String(d.getUTCHours()).padStart(2, '0'),
  mm: (d) => String(d.getUTCMinutes()).padStart(2, '0'),
  ss: (d) => String(d.getUTCSeconds()).padStart(2, '0')
}
const SPLIT = /(yyyy|yy|MM|dd|HH|mm|ss)/

/** Returns the formatter, or a reason why the pattern is not accepted. */
export function compileDatePattern (pattern: string): ((at: number) => string) | string {
  if (pattern === '') return 'empty pattern'
  const parts = pattern.split(SPLIT)
  for (const [i, part] of parts.entries()) {
    if (i % 2 === 1) continue
    const bad = /[^-_./0-9]/.exec(part)
    if (bad !== null) return `unsupported pattern character ${JSON.stringify(bad[0])} (use yyyy yy MM dd HH mm ss and - _ . /)`
  }
  if (pattern.startsWith('/') || pattern.endsWith('/') || pattern.includes('//') || /(^|\/)\.\.?(\/|$)/.test(pattern)) {
    return 'pattern makes an empty or relative path segment'
  }
  return (at) => {
    const d = new Date(at)
    return parts.map((part, i) => i % 2 === 1 ? TOKENS[part]!(d) : part).join('')
  }
}
