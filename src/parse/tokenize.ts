/**
 * Stage 1 of the parser: one audit.log line → one AuditRecord (or a ParseIssue).
 *
 * A hand-written scanner rather than a regex per field: this is the hot path (issue #2 asks for ≥3× ausearch's
 * throughput). The line format is `[node=NAME ]type=TYPE msg=audit(SEC.MS:SERIAL): body[<GS>ENRICHED]`, see
 * auditd.conf(5) `log_format` and the corpus README.
 */
import type { AuditRecord, ParseIssue, ParseIssueReason } from '../types.js';

const SPACE = 0x20;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const EQUALS = 0x3d;
const LBRACE = 0x7b;

/** Control bytes other than tab and GS, DEL, and U+FFFD (what invalid UTF-8 decodes to) mean "not a text line". */
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const NOT_TEXT = /[\x00-\x08\x0a-\x1c\x1e\x1f\x7f\ufffd]/;

export type TokenizeResult =
  | { readonly record: AuditRecord; readonly issue?: ParseIssue }
  | { readonly record?: undefined; readonly issue: ParseIssue };

/** Longest excerpt of a bad line that goes into a ParseIssue (the line itself may be huge or binary). */
const EXCERPT = 80;

function excerpt(line: string): string {
  const cut = line.length > EXCERPT ? `${line.slice(0, EXCERPT)}…` : line;
  // Keep reports printable: escape control characters rather than copying them.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  return cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function issue(file: string, line: number, reason: ParseIssueReason, detail: string): ParseIssue {
  return { file, line, reason, detail };
}

/** Parses a run of decimal digits at `pos`; returns [value, end] or [-1, pos] when there is none. */
function scanInt(s: string, pos: number, end: number): [number, number] {
  let v = 0;
  let i = pos;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    i++;
  }
  return i === pos || i - pos > 15 ? [-1, pos] : [v, i];
}

/**
 * Splits `s[start, end)` into name/value pairs appended to `out`. Double-quoted values keep their quotes;
 * a nested `msg='…'` is flattened in place. Returns false when a quote was left open (a truncated line).
 */
function scanFields(s: string, start: number, end: number, out: string[], enriched: boolean): boolean {
  let i = start;
  let complete = true;
  let lastUnquoted = -1; // index in `out` of the last unquoted value, for words that continue it
  while (i < end) {
    while (i < end && s.charCodeAt(i) === SPACE) i++;
    if (i >= end) break;
    const nameStart = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === EQUALS || c === SPACE) break;
      i++;
    }
    if (i >= end || s.charCodeAt(i) === SPACE) {
      // A word without '='. auditd writes some unquoted values with spaces (ADD_GROUP's
      // `op=adding group to /etc/group`): such words continue the previous unquoted value.
      const word = s.slice(nameStart, i);
      if (lastUnquoted >= 0) out[lastUnquoted] = `${out[lastUnquoted]} ${word}`;
      else if (!enriched) scanFreeWord(word, out);
      continue;
    }
    const name = s.slice(nameStart, i);
    i++; // '='
    const c = i < end ? s.charCodeAt(i) : SPACE;
    if (c === DQUOTE) {
      const close = s.indexOf('"', i + 1);
      if (close < 0 || close >= end) {
        out.push(name, `${s.slice(i, end)}"`);
        return false;
      }
      out.push(name, enriched ? s.slice(i + 1, close) : s.slice(i, close + 1));
      lastUnquoted = -1;
      i = close + 1;
    } else if (c === SQUOTE) {
      const close = s.indexOf("'", i + 1);
      const stop = close < 0 || close >= end ? end : close;
      if (name === 'msg') {
        if (!scanFields(s, i + 1, stop, out, enriched)) complete = false;
      } else {
        out.push(name, s.slice(i + 1, stop));
      }
      if (stop === end) return false;
      lastUnquoted = -1;
      i = close + 1;
    } else if (c === LBRACE && enriched) {
      // ENRICHED SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=2222 }
      const close = s.indexOf('}', i + 1);
      const stop = close < 0 || close >= end ? end : close + 1;
      out.push(name, s.slice(i, stop));
      if (close < 0 || close >= end) return false;
      lastUnquoted = -1;
      i = stop;
    } else {
      let j = s.indexOf(' ', i);
      if (j < 0 || j > end) j = end;
      out.push(name, s.slice(i, j));
      lastUnquoted = out.length - 1;
      i = j;
    }
  }
  return complete;
}

/**
 * Words before the first field: the SELinux/AppArmor AVC preamble `avc:  denied  { read write } for`.
 * auparse exposes them as `seresult` and `seperms`; so do we.
 */
function scanFreeWord(word: string, out: string[]): void {
  if (word === 'denied' || word === 'granted') {
    out.push('seresult', word);
    return;
  }
  if (word === '{' || word === '}' || word === 'for' || word === 'avc:') {
    if (word === '{') out.push('seperms', '');
    return;
  }
  const n = out.length;
  if (n >= 2 && out[n - 2] === 'seperms') {
    const prev = out[n - 1] ?? '';
    out[n - 1] = prev === '' ? word : `${prev},${word}`;
  }
}

/**
 * Tokenizes one line of audit.log. Never throws. A line that cannot be a record yields an issue; a record that
 * was cut short (an open quote) yields the record and an issue, so the evidence is kept and the damage reported.
 */
export function tokenizeLine(raw: string, file: string, lineNo: number): TokenizeResult {
  let line = raw;
  if (line.length > 0 && line.charCodeAt(line.length - 1) === 0x0d) line = line.slice(0, -1);
  if (NOT_TEXT.test(line)) {
    return { issue: issue(file, lineNo, 'not-text', `control or invalid bytes: ${excerpt(line)}`) };
  }
  let i = 0;
  let node = '';
  if (line.startsWith('node=')) {
    const sp = line.indexOf(' ', 5);
    if (sp < 0)
      return { issue: issue(file, lineNo, 'missing-header', `node= without a record: ${excerpt(line)}`) };
    node = line.slice(5, sp);
    i = sp + 1;
  }
  if (!line.startsWith('type=', i)) {
    return { issue: issue(file, lineNo, 'missing-header', `no type= header: ${excerpt(line)}`) };
  }
  const typeEnd = line.indexOf(' ', i + 5);
  if (typeEnd < 0 || typeEnd === i + 5) {
    return { issue: issue(file, lineNo, 'truncated', `line ends in the header: ${excerpt(line)}`) };
  }
  const type = line.slice(i + 5, typeEnd);
  i = typeEnd + 1;
  if (!line.startsWith('msg=audit(', i)) {
    return { issue: issue(file, lineNo, 'bad-header', `no msg=audit( after type=${type}: ${excerpt(line)}`) };
  }
  i += 10;
  const [sec, afterSec] = scanInt(line, i, line.length);
  if (sec < 0 || line.charCodeAt(afterSec) !== 0x2e) {
    return { issue: issue(file, lineNo, 'bad-header', `bad timestamp: ${excerpt(line)}`) };
  }
  const [ms, afterMs] = scanInt(line, afterSec + 1, line.length);
  if (ms < 0 || ms > 999 || line.charCodeAt(afterMs) !== 0x3a) {
    return { issue: issue(file, lineNo, 'bad-header', `bad milliseconds: ${excerpt(line)}`) };
  }
  const [serial, afterSerial] = scanInt(line, afterMs + 1, line.length);
  if (serial < 0 || line.charCodeAt(afterSerial) !== 0x29 || line.charCodeAt(afterSerial + 1) !== 0x3a) {
    return { issue: issue(file, lineNo, 'bad-header', `bad serial: ${excerpt(line)}`) };
  }
  const bodyStart = afterSerial + 2;
  let gs = line.indexOf('\x1d', bodyStart);
  if (gs < 0) gs = line.length;
  const fields: string[] = [];
  let complete = scanFields(line, bodyStart, gs, fields, false);
  const enriched: string[] = [];
  if (gs < line.length && !scanFields(line, gs + 1, line.length, enriched, true)) complete = false;
  const record: AuditRecord = { node, type, sec, ms, serial, fields, enriched, file, line: lineNo };
  if (!complete) {
    return {
      record,
      issue: issue(file, lineNo, 'truncated', `a quoted value is not closed: ${excerpt(line)}`),
    };
  }
  return { record };
}

/** Looks a body field up by name; returns the value as written (quotes kept) or undefined. */
export function rawField(record: AuditRecord, name: string): string | undefined {
  const f = record.fields;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}

/** Looks an ENRICHED field (`AUID`, `SYSCALL`, …) up by its upper-case name. */
export function enrichedField(record: AuditRecord, name: string): string | undefined {
  const f = record.enriched;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}
