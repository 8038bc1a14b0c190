/**
 * TTY keystrokes (TTY and USER_TTY `data=`, logged by pam_tty_audit) as a reviewer reads them, the way auparse
 * prints them (interpret.c print_tty_data): runs of printable bytes in double quotes, every other key by name in
 * angle brackets, comma-separated: `"sudo su",<ret>,<up>,<backspace>`. A value that is not hex is shown as written.
 */
import { decodeHexBytes } from './hex.js';

/**
 * Byte sequences → key names, first match wins (auparse tty_named_keys.h): control characters, the arrow and
 * function keys' escape sequences, then a lone ESC.
 */
const NAMED_KEYS: ReadonlyArray<readonly [readonly number[], string]> = [
  ...Array.from({ length: 26 }, (_, i) => [[i + 1], `^${String.fromCharCode(65 + i)}`] as const).filter(
    ([[c]]) => c !== 0x09 && c !== 0x0a && c !== 0x0d,
  ),
  [[0x09], 'tab'],
  [[0x0a], 'nl'],
  [[0x0d], 'ret'],
  [[0x7f], 'backspace'],
  ...(
    [
      ['[A', 'up'],
      ['[B', 'down'],
      ['[C', 'right'],
      ['[D', 'left'],
      ['OP', 'F1'],
      ['OQ', 'F2'],
      ['OR', 'F3'],
      ['OS', 'F4'],
      ['[15~', 'F5'],
      ['[17~', 'F6'],
      ['[18~', 'F7'],
      ['[19~', 'F8'],
      ['[20~', 'F9'],
      ['[21~', 'F10'],
      ['[23~', 'F11'],
      ['[24~', 'F12'],
    ] as const
  ).map(([seq, name]) => [[0x1b, ...Array.from(seq, (ch) => ch.charCodeAt(0))], name] as const),
  [[0x1b], 'esc'],
];

/** The named key that `bytes` has at `at`, and its length; undefined for a byte shown as itself. */
function namedKey(bytes: Uint8Array, at: number): readonly [string, number] | undefined {
  const b = bytes[at]!;
  if (b >= 0x20 && (b < 0x7f || b >= 0xa0)) return undefined;
  for (const [seq, name] of NAMED_KEYS) {
    if (at + seq.length > bytes.length) continue;
    let j = 0;
    while (j < seq.length && bytes[at + j] === seq[j]) j++;
    if (j === seq.length) return [name, seq.length];
  }
  return undefined;
}

/** One byte inside a quoted run: printable ASCII as itself (`\` and `"` escaped), anything else as `\ooo`. */
function quotedByte(b: number): string {
  if (b < 0x20 || b > 0x7e) return `\\${b.toString(8).padStart(3, '0')}`;
  const ch = String.fromCharCode(b);
  return ch === '\\' || ch === '"' ? `\\${ch}` : ch;
}

/** A TTY record's `data=` value → the keystrokes as auparse prints them. */
export function ttyKeystrokes(raw: string): string {
  const bytes = raw === '' ? undefined : decodeHexBytes(raw);
  if (bytes === undefined) return raw;
  const parts: string[] = [];
  let run = '';
  let inRun = false;
  for (let i = 0; i < bytes.length; ) {
    const key = namedKey(bytes, i);
    if (key === undefined) {
      run += quotedByte(bytes[i]!);
      inRun = true;
      i++;
      continue;
    }
    if (inRun) {
      parts.push(`"${run}"`);
      run = '';
      inRun = false;
    }
    parts.push(`<${key[0]}>`);
    i += key[1];
  }
  if (inRun) parts.push(`"${run}"`);
  return parts.join(',');
}
