/**
 * A CSV file written from rows serialised elsewhere (a row worker's text, made with csv-writer.ts's serialiseRows):
 * the header first, then text with its row count. The same bytes as a CsvWriter given the same rows.
 *
 * Text is handed on in pieces of at least FLUSH_CHARS (one write of several pieces): a batch's text is a few KiB,
 * and a write per batch costs more than the writing.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { headerText } from './csv-writer.js';

/** Characters gathered before they are written. */
const FLUSH_CHARS = 64 * 1024;

export class CsvTextWriter {
  private count = 0;
  private pending: (string | Uint8Array)[] = [];
  private pendingChars = 0;

  constructor(
    private readonly out: Writable,
    columns: readonly string[],
    options: { readonly bom?: boolean | undefined } = {},
  ) {
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

  /** Waits while the destination is full. */
  async drain(): Promise<void> {
    if (this.out.writableNeedDrain) await once(this.out, 'drain');
  }

  /** Writes what is gathered and ends the destination. */
  async close(): Promise<void> {
    this.flush();
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
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
