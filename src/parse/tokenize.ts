/**
 * Stage 1 of the parser: one audit.log line → one AuditRecord (or a ParseIssue).
 *
 * A hand-written scanner rather than a regex per field: this is the hot path (issue #2 asks for ≥3× ausearch's
 * throughput). The line format is `[node=NAME ]type=TYPE msg=audit(SEC.MS:SERIAL): body[<GS>ENRICHED]`, see
 * auditd.conf(5) `log_format` and the corpus README.
 */
import type { AuditRecord, ParseIssue, ParseIssueReason } from '../types.js';
import { LineRecord } from './record.js';
import { canonicalTypeName } from './tables/record-types.js';

const SPACE = 0x20;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const LBRACE = 0x7b;
const LPAREN = 0x28;
const RPAREN = 0x29;
const COMMA = 0x2c;
const COLON = 0x3a;

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

/** End of the run of decimal digits at `pos` (scanned with scanInt). */
let scanEnd = 0;

/**
 * Parses a run of decimal digits at `pos`; returns the value (its end in `scanEnd`), or -1 when there is none or
 * it is longer than 15 digits.
 */
function scanInt(s: string, pos: number, end: number): number {
  let v = 0;
  let i = pos;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
    i++;
  }
  if (i === pos || i - pos > 15) {
    scanEnd = pos;
    return -1;
  }
  scanEnd = i;
  return v;
}

/** The node names seen so far, so that every record of a node shares one string (bounded). */
const NODES = new Map<string, string>();
const MAX_NODES = 4096;

function canonicalNode(name: string): string {
  const known = NODES.get(name);
  if (known !== undefined) return known;
  if (NODES.size < MAX_NODES) NODES.set(name, name);
  return name;
}

/** text.startsWith(pattern, i), as a loop: startsWith with a position is a call into the runtime every time. */
function matchAt(text: string, i: number, pattern: string): boolean {
  const n = pattern.length;
  if (i + n > text.length) return false;
  for (let j = 0; j < n; j++) if (text.charCodeAt(i + j) !== pattern.charCodeAt(j)) return false;
  return true;
}

/**
 * The strings read from the headers lately (type and node names), in a small table keyed by length and the first
 * and last characters: a name found there is compared in place rather than cut from the line and looked up, which
 * saves a string per record.
 */
const RECENT = new Array<string>(256).fill('');

function recentKey(text: string, start: number, end: number): number {
  return ((end - start) * 31 + text.charCodeAt(start) * 7 + text.charCodeAt(end - 1)) & 255;
}

/** `text[start, end)` as the shared string `canonical` gives for it (start < end). */
function sharedName(text: string, start: number, end: number, canonical: (name: string) => string): string {
  const key = recentKey(text, start, end);
  const known = RECENT[key]!;
  if (known.length === end - start && matchAt(text, start, known)) return known;
  const name = canonical(text.slice(start, end));
  RECENT[key] = name;
  return name;
}

/**
 * Where scanFields puts the fields of a line: straight into a shared slab of positions (one allocation per few
 * hundred records rather than one per record; a slab lives as long as one of its records), relative to the line's
 * start (see Spans in record.ts). The tokenizer handles one line at a time, so one sink serves every line.
 */
const SLAB_INTS = 16 * 1024;

class SpanSink {
  /** The slab the current line's positions go to, from `at`; `n` of them so far. */
  spans = new Int32Array(SLAB_INTS);
  /** spans.length, kept here: reading a typed array's length checks its buffer every time. */
  capacity = SLAB_INTS;
  at = 0;
  n = 0;
  text = '';
  base = 0;
  extra: string[] | undefined;

  /** Starts the line that begins at `text[base]`, after the previous line's positions. */
  reset(text: string, base: number): void {
    this.text = text;
    this.base = base;
    this.at += this.n;
    this.n = 0;
    this.extra = undefined;
  }

  /**
   * Adds a name/value pair, each a span [start, end) of the line in text coordinates, or a string of `extra`
   * (start -(k + 1), end start + length).
   */
  push(ns: number, ne: number, vs: number, ve: number): void {
    if (this.at + this.n + 4 > this.capacity) this.newSlab();
    const s = this.spans;
    const b = this.base;
    const k = this.at + this.n;
    s[k] = ns < 0 ? ns : ns - b;
    s[k + 1] = ns < 0 ? ne : ne - b;
    s[k + 2] = vs < 0 ? vs : vs - b;
    s[k + 3] = vs < 0 ? ve : ve - b;
    this.n += 4;
  }

  /** Moves the current line's positions to a new slab (the old one stays with the records that use it). */
  private newSlab(): void {
    const fresh = new Int32Array(Math.max(SLAB_INTS, 2 * (this.n + 4)));
    fresh.set(this.spans.subarray(this.at, this.at + this.n));
    this.spans = fresh;
    this.capacity = fresh.length;
    this.at = 0;
  }

  /** A string that is not a slice of the line → the start that stands for it. */
  own(s: string): number {
    this.extra ??= [];
    this.extra.push(s);
    return -this.extra.length;
  }

  /** The text of span k of the line (its start at k, its end at k + 1). */
  textOf(k: number): string {
    const s = this.spans;
    const start = s[this.at + k]!;
    return start < 0
      ? this.extra![-start - 1]!
      : this.text.slice(this.base + start, this.base + s[this.at + k + 1]!);
  }

  /** Where span k ends in text coordinates, or -1 when it is a string of `extra`. */
  endOf(k: number): number {
    const s = this.spans;
    return s[this.at + k]! < 0 ? -1 : this.base + s[this.at + k + 1]!;
  }

  /** Span k now ends at `end` (text coordinates). */
  setEnd(k: number, end: number): void {
    this.spans[this.at + k + 1] = end - this.base;
  }

  /** Span k becomes the slice [start, end) of the text. */
  setSpan(k: number, start: number, end: number): void {
    this.spans[this.at + k] = start - this.base;
    this.spans[this.at + k + 1] = end - this.base;
  }

  /** Span k becomes the string `s`. */
  setString(k: number, s: string): void {
    const start = this.own(s);
    this.spans[this.at + k] = start;
    this.spans[this.at + k + 1] = start + s.length;
  }
}

const sink = new SpanSink();

function nameIs(s: string, start: number, end: number, name: string): boolean {
  return end - start === name.length && s.startsWith(name, start);
}

/**
 * Splits `s[start, end)` into name/value spans appended to the sink. Double-quoted values keep their quotes
 * (ENRICHED ones lose them); a nested `msg='…'` is flattened in place. Returns false when a quote was left open
 * (a truncated line).
 */
function scanFields(s: string, start: number, end: number, enriched: boolean): boolean {
  const out = sink;
  let i = start;
  let complete = true;
  let lastUnquoted = -1; // index in the sink of an unquoted `op=` value, for words that continue it
  // The next space and the next '=' at or after i (end when there is none before it). indexOf finds them faster
  // than a loop over the characters; each is searched again only once i has passed it.
  let space = -1;
  let equals = -1;
  while (i < end) {
    while (i < end && s.charCodeAt(i) === SPACE) i++;
    if (i >= end) break;
    const nameStart = i;
    if (space < i) {
      space = s.indexOf(' ', i);
      if (space < 0 || space > end) space = end;
    }
    if (equals < i) {
      equals = s.indexOf('=', i);
      if (equals < 0 || equals > end) equals = end;
    }
    if (space < equals || equals === end) {
      i = space;
      // A word without '='. The free text of `op=` is written unquoted, spaces and all (ADD_GROUP's
      // `op=adding group to /etc/group`): such words continue it. Any other word is dropped, as auparse drops it:
      // the `:` of old PAM records (`acct=root : exe=…`), the `old`/`new` of old LOGIN records
      // (`uid=0 old auid=4294967295 new auid=0`), the AVC preamble (kept as seresult/seperms).
      if (lastUnquoted >= 0) {
        // One space between them: the joined value is a slice of the line.
        const valueEnd = out.endOf(lastUnquoted);
        if (valueEnd >= 0 && valueEnd + 1 === nameStart) out.setEnd(lastUnquoted, i);
        else out.setString(lastUnquoted, `${out.textOf(lastUnquoted)} ${s.slice(nameStart, i)}`);
      } else if (!enriched) scanFreeWord(s, nameStart, i);
      continue;
    }
    const nameEnd = equals;
    // auparse drops the `(` of old PAM records' `(hostname=?, addr=?, terminal=cron res=success)`.
    const nameFrom = s.charCodeAt(nameStart) === LPAREN ? nameStart + 1 : nameStart;
    i = equals + 1;
    const c = i < end ? s.charCodeAt(i) : SPACE;
    if (c === DQUOTE) {
      const close = s.indexOf('"', i + 1);
      if (close < 0 || close >= end) {
        const v = out.own(`${s.slice(i, end)}"`);
        out.push(nameFrom, nameEnd, v, v + end - i + 1);
        return false;
      }
      if (enriched) out.push(nameFrom, nameEnd, i + 1, close);
      else out.push(nameFrom, nameEnd, i, close + 1);
      lastUnquoted = -1;
      i = close + 1;
    } else if (c === SQUOTE) {
      const close = s.indexOf("'", i + 1);
      const stop = close < 0 || close >= end ? end : close;
      if (nameIs(s, nameFrom, nameEnd, 'msg')) {
        if (!scanFields(s, i + 1, stop, enriched)) complete = false;
      } else {
        out.push(nameFrom, nameEnd, i + 1, stop);
      }
      if (stop === end) return false;
      lastUnquoted = -1;
      i = close + 1;
    } else if (c === LBRACE && enriched) {
      // ENRICHED SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=2222 }
      const close = s.indexOf('}', i + 1);
      const stop = close < 0 || close >= end ? end : close + 1;
      out.push(nameFrom, nameEnd, i, stop);
      if (close < 0 || close >= end) return false;
      lastUnquoted = -1;
      i = stop;
    } else {
      // `space` is the first space after the '=': the value ends there (less the punctuation auparse strips,
      // but for the free text of `op=`, which the words after it may continue).
      if (nameIs(s, nameFrom, nameEnd, 'op')) {
        out.push(nameFrom, nameEnd, i, space);
        lastUnquoted = out.n - 2;
      } else {
        out.push(nameFrom, nameEnd, i, unquotedEnd(s, i, space));
        lastUnquoted = -1;
      }
      i = space;
    }
  }
  return complete;
}

/**
 * Where an unquoted value `s[start, end)` ends once the punctuation of old user-space records is left out, as
 * auparse leaves it out: a `:` (unless the value has another, as an IPv6 address `fe80::` has), then a `,`, then a
 * `)` other than that of `(none)` and `(null)`: `addr=?,` is `?`, `res=success)` is `success`.
 */
function unquotedEnd(s: string, start: number, end: number): number {
  if (end > start && s.charCodeAt(end - 1) === COLON) {
    const other = s.indexOf(':', start);
    if (other === end - 1) end--;
  }
  if (end > start && s.charCodeAt(end - 1) === COMMA) end--;
  if (end > start && s.charCodeAt(end - 1) === RPAREN && s.charCodeAt(start) !== LPAREN) end--;
  return end;
}

/**
 * Words before the first field: the SELinux/AppArmor AVC preamble `avc:  denied  { read write } for`.
 * auparse exposes them as `seresult` and `seperms`; so do we.
 */
function scanFreeWord(s: string, start: number, end: number): void {
  const out = sink;
  const word = s.slice(start, end);
  if (word === 'denied' || word === 'granted') {
    const n = out.own('seresult');
    out.push(n, n + 8, start, end);
    return;
  }
  if (word === '{' || word === '}' || word === 'for' || word === 'avc:') {
    if (word === '{') {
      const n = out.own('seperms');
      out.push(n, n + 7, start, start);
    }
    return;
  }
  const k = out.n - 4;
  if (k >= 0 && out.textOf(k) === 'seperms') {
    const prev = out.textOf(k + 2);
    if (prev === '') out.setSpan(k + 2, start, end);
    else out.setString(k + 2, `${prev},${word}`);
  }
}

/**
 * Tokenizes one line of audit.log. Never throws. A line that cannot be a record yields an issue; a record that
 * was cut short (an open quote) yields the record and an issue, so the evidence is kept and the damage reported.
 */
export function tokenizeLine(raw: string, file: string, lineNo: number): TokenizeResult {
  return tokenize(raw, 0, raw.length, file, lineNo, true);
}

// The header of the line parseHeader() read last (module state rather than an object per line).
let hNode = '';
let hType = '';
let hSec = 0;
let hMs = 0;
let hSerial = 0;
let hBody = 0;
let hEnd = 0;

/**
 * Reads the header of the line `text[start, lineEnd)` into the h* variables (hEnd: the line's end without its CR);
 * returns the issue when the line is not a record.
 */
function parseHeader(
  text: string,
  start: number,
  lineEnd: number,
  file: string,
  lineNo: number,
  checkText: boolean,
): ParseIssue | undefined {
  let end = lineEnd;
  if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
  if (checkText && NOT_TEXT.test(text.slice(start, end))) {
    return lineIssue(text, start, end, file, lineNo, 'not-text', 'control or invalid bytes: ');
  }
  let i = start;
  let node = '';
  if (matchAt(text, i, 'node=')) {
    const sp = text.indexOf(' ', i + 5);
    if (sp < 0 || sp >= end)
      return lineIssue(text, start, end, file, lineNo, 'missing-header', 'node= without a record: ');
    node = sp === i + 5 ? '' : sharedName(text, i + 5, sp, canonicalNode);
    i = sp + 1;
  }
  // The patterns below hold no CR or LF, so none can match across the end of the line.
  if (!matchAt(text, i, 'type=')) {
    return lineIssue(text, start, end, file, lineNo, 'missing-header', 'no type= header: ');
  }
  let typeEnd = text.indexOf(' ', i + 5);
  if (typeEnd >= end) typeEnd = -1;
  if (typeEnd < 0 || typeEnd === i + 5) {
    return lineIssue(text, start, end, file, lineNo, 'truncated', 'line ends in the header: ');
  }
  const type = sharedName(text, i + 5, typeEnd, canonicalTypeName);
  i = typeEnd + 1;
  if (!matchAt(text, i, 'msg=audit(')) {
    return lineIssue(text, start, end, file, lineNo, 'bad-header', `no msg=audit( after type=${type}: `);
  }
  i += 10;
  const sec = scanInt(text, i, end);
  if (sec < 0 || scanEnd >= end || text.charCodeAt(scanEnd) !== 0x2e) {
    return lineIssue(text, start, end, file, lineNo, 'bad-header', 'bad timestamp: ');
  }
  const ms = scanInt(text, scanEnd + 1, end);
  if (ms < 0 || ms > 999 || scanEnd >= end || text.charCodeAt(scanEnd) !== 0x3a) {
    return lineIssue(text, start, end, file, lineNo, 'bad-header', 'bad milliseconds: ');
  }
  const serial = scanInt(text, scanEnd + 1, end);
  const afterSerial = scanEnd;
  if (
    serial < 0 ||
    afterSerial + 1 >= end ||
    text.charCodeAt(afterSerial) !== 0x29 ||
    text.charCodeAt(afterSerial + 1) !== 0x3a
  ) {
    return lineIssue(text, start, end, file, lineNo, 'bad-header', 'bad serial: ');
  }
  hNode = node;
  hType = type;
  hSec = sec;
  hMs = ms;
  hSerial = serial;
  hBody = afterSerial + 2;
  hEnd = end;
  return undefined;
}

// The last search for the ENRICHED separator: in `gsText` from `gsFrom`, found at `gsAt` (-1: none up to the end).
let gsText = '';
let gsFrom = 0;
let gsAt = -1;

/**
 * The first 0x1D at or after `from` in `text`, or -1. A RAW log has none, and a search from each line would run to
 * the end of the chunk every time: the answer of the last search holds for every position between its start and
 * what it found, so lines read in order search each stretch of the chunk once.
 */
function nextSeparator(text: string, from: number): number {
  if (from >= gsFrom && (gsAt < 0 || from <= gsAt) && text === gsText) return gsAt;
  gsText = text;
  gsFrom = from;
  gsAt = text.indexOf('\x1d', from);
  return gsAt;
}

/**
 * tokenizeLine() on the line `text[start, lineEnd)` (without its LF), for the host parser: it tokenizes a decoded
 * chunk in place rather than cutting it into line strings, and skips the text check (`checkText` false) when it
 * has already checked the whole chunk.
 */
export function tokenize(
  text: string,
  start: number,
  lineEnd: number,
  file: string,
  lineNo: number,
  checkText: boolean,
): TokenizeResult {
  const bad = parseHeader(text, start, lineEnd, file, lineNo, checkText);
  if (bad !== undefined) return { issue: bad };
  const end = hEnd;
  let gs = nextSeparator(text, hBody);
  if (gs < 0 || gs > end) gs = end;
  sink.reset(text, start);
  let complete = scanFields(text, hBody, gs, false);
  const nRaw = sink.n;
  if (gs < end && !scanFields(text, gs + 1, end, true)) complete = false;
  const record = new LineRecord(
    hNode,
    hType,
    hSec,
    hMs,
    hSerial,
    file,
    lineNo,
    text,
    start,
    lineEnd,
    sink.spans,
    sink.at,
    nRaw,
    sink.n - nRaw,
    sink.extra,
  );
  if (!complete) {
    const damage = lineIssue(text, start, end, file, lineNo, 'truncated', 'a quoted value is not closed: ');
    return { record, issue: damage };
  }
  return { record };
}

/**
 * The record of a line tokenized before, from the spans tokenize() found then (`spans[at, at + nRaw + nEnr)`,
 * relative to the line's start): for the row workers, which get lines and spans rather than records.
 * Undefined when the line is not a record.
 */
export function recordFromSpans(
  text: string,
  start: number,
  lineEnd: number,
  file: string,
  lineNo: number,
  spans: Int32Array,
  at: number,
  nRaw: number,
  nEnr: number,
): LineRecord | undefined {
  if (parseHeader(text, start, lineEnd, file, lineNo, false) !== undefined) return undefined;
  return new LineRecord(
    hNode,
    hType,
    hSec,
    hMs,
    hSerial,
    file,
    lineNo,
    text,
    start,
    lineEnd,
    spans,
    at,
    nRaw,
    nEnr,
    undefined,
  );
}

function lineIssue(
  text: string,
  start: number,
  end: number,
  file: string,
  lineNo: number,
  reason: ParseIssueReason,
  what: string,
): ParseIssue {
  return issue(file, lineNo, reason, `${what}${excerpt(text.slice(start, end))}`);
}

/** Looks a body field up by name; returns the value as written (quotes kept) or undefined. */
export function rawField(record: AuditRecord, name: string): string | undefined {
  if (record instanceof LineRecord) return record.rawValue(name);
  const f = record.fields;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}

/** Looks an ENRICHED field (`AUID`, `SYSCALL`, …) up by its upper-case name. */
export function enrichedField(record: AuditRecord, name: string): string | undefined {
  if (record instanceof LineRecord) return record.enrichedValue(name);
  const f = record.enriched;
  for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
  return undefined;
}
