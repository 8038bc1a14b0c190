/**
 * A fake terminal for driving the real inquirer prompts: keys go in as the bytes a terminal sends (readline
 * decodes them, as it does for stdin), and each frame the prompt draws is kept. `screen()` is the last frame
 * without escape sequences: what a person sees.
 */
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { FakeTerminalOutput } from './tty-stream.js';

export const KEY = {
  enter: '\r',
  space: ' ',
  up: '\x1b[A',
  down: '\x1b[B',
  pageUp: '\x1b[5~',
  pageDown: '\x1b[6~',
  ctrlA: '\x01',
  ctrlU: '\x15',
  ctrlC: '\x03',
  backspace: '\x7f',
} as const;

export class FakeTerminal {
  readonly input = new PassThrough();
  readonly output: FakeTerminalOutput;

  constructor(columns = 100) {
    this.output = new FakeTerminalOutput(columns);
  }

  /** Every frame drawn so far (one write each). */
  get frames(): readonly string[] {
    return this.output.writes;
  }

  /** The context object the prompts take. */
  get io(): { input: NodeJS.ReadableStream; output: NodeJS.WritableStream } {
    return { input: this.input, output: this.output };
  }

  /** The last frame that drew something, escape sequences removed. */
  screen(): string {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const text = stripVTControlCharacters(this.frames[i] ?? '');
      if (text.trim() !== '') return text;
    }
    return '';
  }

  /** Everything drawn so far, escape sequences removed. */
  transcript(): string {
    return stripVTControlCharacters(this.frames.join(''));
  }

  /** Sends keys, one write each, and lets the prompt draw. */
  async press(...keys: string[]): Promise<void> {
    for (const k of keys) {
      this.input.write(k);
      await settle();
    }
  }

  /** Types text as one burst, like a paste or fast typing. */
  async type(text: string): Promise<void> {
    this.input.write(text);
    await settle();
  }

  /** Waits until the current screen satisfies `test` (a substring or a predicate); fails after `ms`. */
  /** The wizard's review window as offered: both of its prompts (start, end) answered with Enter. */
  async acceptDefaultWindow(): Promise<void> {
    await this.waitFor('Review window starts');
    await this.press(KEY.enter);
    await this.waitFor('Review window ends');
    await this.press(KEY.enter);
  }

  async waitFor(test: string | ((screen: string) => boolean), ms = 3000): Promise<string> {
    const ok = typeof test === 'string' ? (s: string) => s.includes(test) : test;
    const deadline = Date.now() + ms;
    for (;;) {
      const s = this.screen();
      if (ok(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${String(test)}; the screen is:\n${s}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** A few turns of the event loop: inquirer renders from setImmediate / promise callbacks. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}
