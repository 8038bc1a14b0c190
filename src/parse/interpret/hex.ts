/**
 * Hex-encoded audit values (PROCTITLE, SOCKADDR, EXECVE aN, PATH name, …) → bytes → text. On the parse hot path:
 * one loop over char codes, a reused scratch buffer, no regular expressions.
 */
import { Buffer } from 'node:buffer';

const INVALID = 0xff;
// Char code → nibble value, INVALID for anything that is not [0-9A-Fa-f].
const NIBBLE = new Uint8Array(256).fill(INVALID);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

// Values above this size get their own buffer so that one huge value does not pin memory for the process lifetime.
const SCRATCH_MAX = 64 * 1024;
let scratch = Buffer.allocUnsafe(8 * 1024);

/** Decodes `s` into `out` from offset 0; returns the byte count, or -1 when `s` is not even-length hex. */
function decodeInto(s: string, out: Uint8Array): number {
  const len = s.length;
  if ((len & 1) !== 0) return -1;
  for (let i = 0, j = 0; i < len; i += 2, j++) {
    const a = s.charCodeAt(i);
    const b = s.charCodeAt(i + 1);
    const hi = a < 256 ? NIBBLE[a]! : INVALID;
    const lo = b < 256 ? NIBBLE[b]! : INVALID;
    if ((hi | lo) > 15) return -1;
    out[j] = (hi << 4) | lo;
  }
  return len >>> 1;
}

function bufferFor(bytes: number): Buffer {
  if (bytes <= scratch.length) return scratch;
  if (bytes > SCRATCH_MAX) return Buffer.allocUnsafe(bytes);
  scratch = Buffer.allocUnsafe(SCRATCH_MAX);
  return scratch;
}

/** Whether `s` is non-empty, even-length and all hex digits: the form auditd uses for encoded values. */
export function isHex(s: string): boolean {
  const len = s.length;
  if (len === 0 || (len & 1) !== 0) return false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || NIBBLE[c] === INVALID) return false;
  }
  return true;
}

/** Hex → a fresh byte array, or undefined when `s` has odd length or a non-hex character. */
export function decodeHexBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length >>> 1);
  return decodeInto(s, out) < 0 ? undefined : out;
}

/** Hex → UTF-8 text (invalid sequences become U+FFFD), or undefined when `s` has odd length or a non-hex character. */
export function decodeHex(s: string): string | undefined {
  const buf = bufferFor(s.length >>> 1);
  const n = decodeInto(s, buf);
  return n < 0 ? undefined : buf.toString('utf8', 0, n);
}

/**
 * Escapes control characters (below 0x20) as `\ooo` octal, the way `ausearch -i` prints interpreted values
 * (auparse's tty escaping: a tab shows as `\011`, a newline as `\012`; backslash and DEL stay as they are).
 */
export function escapeControlChars(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x20) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 ? `\\${c.toString(8).padStart(3, '0')}` : s[i];
  }
  return out;
}

/**
 * PROCTITLE `proctitle=` value → the command line as `ausearch -i` shows it: the NUL-separated argv joined by
 * spaces (no trimming: the kernel cuts proctitle at 128 bytes), control characters escaped. The kernel writes the
 * value quoted instead of hex when argv is one plain word (`proctitle="id"`); both forms are accepted.
 * Undefined when the value is neither quoted nor even-length hex.
 */
export function decodeProctitle(value: string): string | undefined {
  const len = value.length;
  if (len >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(len - 1) === 34) {
    return escapeControlChars(value.slice(1, -1));
  }
  const buf = bufferFor(len >>> 1);
  const n = decodeInto(value, buf);
  if (n < 0) return undefined;
  for (let i = 0; i < n; i++) if (buf[i] === 0) buf[i] = 0x20;
  return escapeControlChars(buf.toString('utf8', 0, n));
}
