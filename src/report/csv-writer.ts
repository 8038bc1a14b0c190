/**
 * CSV files written in chunks with papaparse (the one importer of papaparse): RFC 4180 quoting, CRLF, UTF-8,
 * optional BOM, stable column order, and spreadsheet formula injection blocked.
 *
 * Audit data is attacker-controlled: a user name, a command line or a file name can be `=HYPERLINK(…)`. Every
 * cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'` and quoted, as OWASP's
 * "CSV Injection" page recommends (papaparse `escapeFormulae`).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import Papa from 'papaparse';

export interface CsvWriterOptions {
  /** Start the file with a UTF-8 byte order mark so that Excel reads non-ASCII text correctly. */
  readonly bom?: boolean | undefined;
  /** Rows buffered before they are serialised and written. */
  readonly chunkRows?: number | undefined;
}

const FORMULA_START = /^[=+\-@\t\r]/;

export class CsvWriter<C extends string> {
  private buffer: string[][] = [];
  private headerWritten = false;
  private rowCount = 0;
  private readonly chunkRows: number;

  constructor(
    private readonly out: Writable,
    private readonly columns: readonly C[],
    private readonly options: CsvWriterOptions = {},
  ) {
    this.chunkRows = options.chunkRows ?? 2000;
  }

  /** Rows added so far (the header is not a row). */
  get rows(): number {
    return this.rowCount;
  }

  /** Queues one row; call `drain()` now and then (e.g. after each input chunk) to write and keep backpressure. */
  add(row: Readonly<Record<C, string>>): void {
    const cells = new Array<string>(this.columns.length);
    for (let i = 0; i < this.columns.length; i++) cells[i] = row[this.columns[i]!] ?? '';
    this.buffer.push(cells);
    this.rowCount++;
  }

  /** Writes buffered rows when there are enough of them; waits while the destination is full. */
  async drain(): Promise<void> {
    if (this.buffer.length >= this.chunkRows) await this.writeBuffered();
  }

  /** Writes everything still buffered (and the header, even for an empty file) and ends the stream. */
  async close(): Promise<void> {
    await this.writeBuffered();
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
  }

  private async writeBuffered(): Promise<void> {
    let text = '';
    if (!this.headerWritten) {
      this.headerWritten = true;
      if (this.options.bom) text += '\ufeff';
      text += `${serialise([this.columns as readonly string[]])}\r\n`;
    }
    if (this.buffer.length > 0) {
      text += `${serialise(this.buffer)}\r\n`;
      this.buffer = [];
    }
    if (text !== '' && !this.out.write(text)) await once(this.out, 'drain');
  }
}

function serialise(rows: readonly (readonly string[])[]): string {
  return Papa.unparse(rows as string[][], {
    newline: '\r\n',
    quotes: false,
    escapeFormulae: FORMULA_START,
    header: false,
  });
}
