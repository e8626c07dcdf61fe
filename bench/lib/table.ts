import { cpus } from 'node:os'
import type { BenchRow } from './row.js'

const HEADER = ['scenario', 'this package', 'baseline (name)', 'baseline value', 'ratio (ours/baseline)', 'unit', 'target/note']

export function formatNumber (value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—'
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)
}

function cells (row: BenchRow): string[] {
  const ratio = row.ratio ?? (row.baseline !== undefined && row.baseline > 0 ? row.ours / row.baseline : NaN)
  return [
    row.scenario,
    formatNumber(row.ours),
    row.baselineName ?? '—',
    formatNumber(row.baseline),
    Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '—',
    row.unit,
    row.note ?? ''
  ]
}

/** A Markdown table with padded columns: readable in a terminal, pasteable into the README. */
export function formatTable (rows: readonly BenchRow[]): string {
  const lines = [HEADER, ...rows.map(cells)].map(line => line.map(cell => cell.replace(/\|/g, '\\|')))
  const widths = HEADER.map((_, c) => Math.max(...lines.map(line => line[c]!.length)))
  const render = (line: string[]): string => `| ${line.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`
  const rule = `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`
  return [render(lines[0]!), rule, ...lines.slice(1).map(render)].join('\n')
}

export function machineLine (records: number): string {
  const cores = cpus()
  const model = cores[0]?.model.trim() ?? 'unknown CPU'
  return `machine: ${cores.length} cores (${model}), node ${process.version}, ${process.platform}/${process.arch}; N = ${records.toLocaleString('en-US')} records`
}
