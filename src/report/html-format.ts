/**
 * The small pieces every part of report.html uses: escaping and number/time formatting. Audit data is written by
 * whoever controls the audited host (a command line, an account name tried over SSH), so every value goes through
 * `esc` before it is part of the page.
 */

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Control characters (a forged newline, an ANSI escape) shown as U+FFFD so a value stays one readable line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/** One line, at most `max` characters (an ellipsis marks a cut), escaped. */
export function cell(value: string, max = 200): string {
  const line = value.replace(CONTROL, '\ufffd');
  return esc(line.length <= max ? line : `${line.slice(0, max - 1)}…`);
}

/** `12,345`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A summary.csv count (`"12"`, `"≥100000"`), formatted when it is a plain number. */
export function formatCell(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  return /^\d+$/.test(value) ? formatCount(Number(value)) : value;
}

/** `2026-11-23T01:06:20Z`; `open` for an unbounded end of a window. */
export function formatTime(d: Date | undefined): string {
  return d ? d.toISOString().replace('.000Z', 'Z') : 'open';
}

/** `2026-11-23T01:06:20.123Z` → `2026-11-23 01:06:20`. */
export function shortTime(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : iso;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
