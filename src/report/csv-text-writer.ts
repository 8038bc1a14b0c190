/**
 * A CSV file written from rows serialised elsewhere (a row worker's text, made with csv-writer.ts's serialiseRows):
 * the header first, then text with its row count. The same bytes as a CsvWriter given the same rows.
 *
 * Text is handed on in pieces of at least FLUSH_CHARS (one write of several pieces): a batch's text is a few KiB,
 * and a write per batch costs more than the writing.
 */
import type { Writable } from 'node:stream';
import { StreamFailure } from '../output-error.js';
import { headerText } from './csv-writer.js';

/** Characters gathered before they are written. */
const FLUSH_CHARS = 64 * 1024;

export class CsvTextWriter {
  private count = 0;
  private pending: (string | Uint8Array)[] = [];
  private pendingChars = 0;
  /** A failed write (disk full…) comes out of drain() and close() as OUTPUT_FAILED. */
  private readonly failure: StreamFailure;

  constructor(
    private readonly out: Writable,
    columns: readonly string[],
    options: { readonly bom?: boolean | undefined } = {},
  ) {
    this.failure = new StreamFailure(out);
    out.write(headerText(columns, options.bom));
  }

  /** Data rows written (the header is not a row). */
  get rows(): number {
    return this.count;
  }

  /** Appends `rows` rows given as their text, each row ending in CRLF. */
  write(text: string | Uint8Array, rows: number): void {
    this.count += rows;
    if (text.length === 0) return;
    this.pending.push(text);
    this.pendingChars += text.length;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
  }

  /** Waits while the destination is full; throws OUTPUT_FAILED once a write has failed. */
  async drain(): Promise<void> {
    if (this.out.writableNeedDrain) await this.failure.until('drain');
    else this.failure.check();
  }

  /** Writes what is gathered and ends the destination; throws OUTPUT_FAILED when a write failed. */
  async close(): Promise<void> {
    this.flush();
    this.failure.check();
    this.out.end();
    if (!this.out.writableFinished) await this.failure.until('finish');
  }

  private flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    this.pendingChars = 0;
    // Corked, the pieces go out in one writev.
    this.out.cork();
    for (const text of pending) this.out.write(text);
    this.out.uncork();
  }
}
