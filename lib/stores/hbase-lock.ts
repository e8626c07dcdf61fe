/**
 * The HBase store's replay lock (see lease-lock.ts): the cell `cf:lock` of the row `~replay-lock`
 * in the store's table (a key that sorts after every data row; read() skips it). Every change is
 * an HBase REST check-and-put (`PUT /<table>/<row>?check=put`, the new cell then the expected one
 * last; 200 applied, 304 the value differed): creating expects an empty cell, taking over and
 * renewing expect the exact old content; releasing is a check-and-delete (`DELETE
 * /<table>/<row>?check=delete`) of our own content, so the row goes away.
 */
import type { LeaseBackend } from './lease-lock.js'

export const HBASE_LOCK_ROW = '~replay-lock'
export const HBASE_LOCK_COLUMN = 'cf:lock'

/** What the lock needs from the store: one check-and-put, and a read of the lock cell. */
export interface HBaseCells {
  /** Puts `value` into `column` of `row` if it holds `expected` ('' = absent or empty); true when applied. */
  checkAndPut (row: string, column: string, value: string, expected: string): Promise<boolean>
  /** Deletes `column` of `row` if it holds `expected`; true when applied. */
  checkAndDelete (row: string, column: string, expected: string): Promise<boolean>
  /** The cell's value, null when the row or cell is absent. */
  cell (row: string, column: string): Promise<string | null>
}

export class HBaseLockRow implements LeaseBackend {
  readonly where: string
  readonly #cells: HBaseCells

  constructor (cells: HBaseCells, table: string) {
    this.#cells = cells
    this.where = `${table}/${HBASE_LOCK_ROW}/${HBASE_LOCK_COLUMN}`
  }

  create (content: string): Promise<boolean> {
    return this.#cells.checkAndPut(HBASE_LOCK_ROW, HBASE_LOCK_COLUMN, content, '')
  }

  async read (): Promise<string | null> {
    const value = await this.#cells.cell(HBASE_LOCK_ROW, HBASE_LOCK_COLUMN)
    return value === null || value === '' ? null : value
  }

  takeOver (expected: string, content: string): Promise<boolean> {
    return this.#cells.checkAndPut(HBASE_LOCK_ROW, HBASE_LOCK_COLUMN, content, expected)
  }

  renew (expected: string, content: string): Promise<boolean> {
    return this.#cells.checkAndPut(HBASE_LOCK_ROW, HBASE_LOCK_COLUMN, content, expected)
  }

  async remove (expected: string): Promise<void> {
    await this.#cells.checkAndDelete(HBASE_LOCK_ROW, HBASE_LOCK_COLUMN, expected)
  }
}
