/** A fake terminal (or pipe) to draw progress on: keeps every write; `isTTY` and `columns` as a terminal has. */
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';

export class FakeStream extends Writable {
  readonly writes: string[] = [];
  readonly isTTY: boolean;
  readonly columns: number;
  readonly rows = 40;

  constructor(options: { tty: boolean; columns?: number }) {
    super();
    this.isTTY = options.tty;
    this.columns = options.columns ?? 80;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.writes.push(chunk.toString());
    cb();
  }

  /** Everything written, escapes included. */
  raw(): string {
    return this.writes.join('');
  }

  /** Everything written, escapes removed. */
  text(): string {
    return stripVTControlCharacters(this.raw());
  }
}

/**
 * Like process.stdout, a terminal outlives each prompt: inquirer pipes into it and ends the pipe when a prompt
 * closes, which would end a plain Writable.
 */
export class FakeTerminalOutput extends FakeStream {
  constructor(columns = 100) {
    super({ tty: true, columns });
  }

  override end(..._args: unknown[]): this {
    return this;
  }
}

const ESC = '\u001b';

/** True when `text` holds an SGR (colour / bold / dim) sequence: what NO_COLOR forbids. Cursor moves are not colour. */
export function hasColour(text: string): boolean {
  return text
    .split(ESC)
    .slice(1)
    .some((s) => /^\[[0-9;]*m/.test(s));
}

/** True when `text` holds any escape sequence. */
export function hasEscapes(text: string): boolean {
  return text.includes(ESC);
}
