/**
 * CSV files written in chunks with papaparse (the one importer of papaparse): RFC 4180 quoting, CRLF, UTF-8,
 * optional BOM, stable column order, and spreadsheet formula injection blocked.
 *
 * Audit data is attacker-controlled: a user name, a command line or a file name can be `=HYPERLINK(…)`. Every
 * cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'` and quoted, as OWASP's
 * "CSV Injection" page recommends (papaparse `escapeFormulae`).
 *
 * papaparse decides how every cell is written; a row in which it would change no cell is joined without calling
 * it (serialiseRows), with the same bytes.
 */
import type { Writable } from 'node:stream';
import Papa from 'papaparse';
import { StreamFailure } from '../output-error.js';

export interface CsvWriterOptions {
  /** Start the file with a UTF-8 byte order mark so that Excel reads non-ASCII text correctly. */
  readonly bom?: boolean | undefined;
  /** Rows buffered before they are serialised and written. */
  readonly chunkRows?: number | undefined;
}

const FORMULA_START = /^[=+\-@\t\r]/;

const UNPARSE_CONFIG = {
  newline: '\r\n',
  quotes: false,
  escapeFormulae: FORMULA_START,
  header: false,
} as const;

/**
 * A cell papaparse writes exactly as it is, with UNPARSE_CONFIG: no formula start (FORMULA_START), no space at
 * either end, and none of the characters that make it quote (its BAD_DELIMITERS `\r`, `\n`, `"`, BOM, and the
 * delimiter). The empty cell is one too.
 */
const PLAIN_CELL = /^(?:[^=+\-@\t\r\n",\ufeff ](?:[^\r\n",\ufeff]*[^\r\n",\ufeff ])?)?$/;

/** Rows → CSV text (rows separated by CRLF, no line end after the last), as every CSV of auditsweep is written. */
export function serialiseRows(rows: readonly (readonly string[])[]): string {
  // papaparse decides, for every cell, whether it is quoted, doubled or prefixed; it costs ~130 ns a cell whatever
  // the cell, about a sixth of the parser's CPU for events.csv. A row whose cells it would all write unchanged
  // (PLAIN_CELL) is joined here, with the same bytes; every other row goes through papaparse. Equivalence:
  // test/report/csv-writer.test.ts compares both ways on arbitrary and adversarial cells.
  let text = '';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (i > 0) text += '\r\n';
    text += plainRow(row) ? row.join(',') : Papa.unparse([nullForEmpty(row)], UNPARSE_CONFIG);
  }
  return text;
}

function plainRow(row: readonly string[]): boolean {
  for (let j = 0; j < row.length; j++) {
    const cell = row[j]!;
    if (cell !== '' && !PLAIN_CELL.test(cell)) return false;
  }
  return true;
}

/**
 * A row for papaparse, an empty cell as null: papaparse writes null as '' at once, where an empty string goes
 * through its formula, quote and delimiter checks first.
 */
function nullForEmpty(row: readonly string[]): (string | null)[] {
  const cells = new Array<string | null>(row.length);
  for (let j = 0; j < row.length; j++) {
    const cell = row[j]!;
    cells[j] = cell === '' ? null : cell;
  }
  return cells;
}

/** The header line of a CSV with these columns (and the BOM when asked), line end included. */
export function headerText(columns: readonly string[], bom: boolean | undefined): string {
  return `${bom ? '\ufeff' : ''}${serialiseRows([columns])}\r\n`;
}

/** Row object → its cells in column order (a missing cell is ''). */
export type CellsOf<C extends string> = (row: Readonly<Record<C, string>>) => string[];

/** The functions cellsOf() has made, by the column reads they do (a handful of column lists exist). */
const CELLS_BY_SOURCE = new Map<string, CellsOf<string>>();

/**
 * A function that reads the columns of a row by name, in order. Generated, so that each read is a plain property
 * load on the row's one shape: a loop over the column names makes every read a generic keyed lookup, which costs
 * more than papaparse's own work on a 39-column row.
 */
export function cellsOf<C extends string>(columns: readonly C[]): CellsOf<C> {
  const reads = columns.map((c) => `r[${JSON.stringify(c)}] ?? ''`).join(', ');
  // Made once per column list: callers that ask per batch of rows would otherwise compile it again each time.
  let cells = CELLS_BY_SOURCE.get(reads);
  if (cells === undefined) {
    cells = new Function('r', `return [${reads}];`) as CellsOf<string>;
    CELLS_BY_SOURCE.set(reads, cells);
  }
  return cells as CellsOf<C>;
}

export class CsvWriter<C extends string> {
  private buffer: string[][] = [];
  private headerWritten = false;
  private rowCount = 0;
  private readonly chunkRows: number;
  private readonly cells: CellsOf<C>;
  /** A failed write (disk full…) comes out of drain() and close() as OUTPUT_FAILED. */
  private readonly failure: StreamFailure;

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly C[],
    private readonly options: CsvWriterOptions = {},
  ) {
    this.chunkRows = options.chunkRows ?? 500;
    this.cells = cellsOf(columns);
    this.failure = new StreamFailure(out);
  }

  /** Rows added so far (the header is not a row). */
  get rows(): number {
    return this.rowCount;
  }

  /**
   * Queues one row; every `chunkRows` rows are serialised and handed to the destination at once, so that rows do
   * not pile up in memory. Call `drain()` now and then (e.g. after each input chunk) to keep backpressure.
   */
  add(row: Readonly<Record<C, string>>): void {
    this.buffer.push(this.cells(row));
    this.rowCount++;
    if (this.buffer.length >= this.chunkRows) this.writeBuffered();
  }

  /** Waits while the destination is full; throws OUTPUT_FAILED once a write has failed. */
  async drain(): Promise<void> {
    if (this.out.writableNeedDrain) await this.failure.until('drain');
    else this.failure.check();
  }

  /**
   * Writes everything still buffered (and the header, even for an empty file) and ends the stream; throws
   * OUTPUT_FAILED when a write failed.
   */
  async close(): Promise<void> {
    this.writeBuffered();
    this.failure.check();
    this.out.end();
    if (!this.out.writableFinished) await this.failure.until('finish');
  }

  private writeBuffered(): void {
    let text = '';
    if (!this.headerWritten) {
      this.headerWritten = true;
      text += headerText(this.columns, this.options.bom);
    }
    if (this.buffer.length > 0) {
      text += `${serialiseRows(this.buffer)}\r\n`;
      this.buffer = [];
    }
    if (text !== '') this.out.write(text);
  }
}
