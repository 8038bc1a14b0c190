/**
 * The record the tokenizer makes: the line itself and the positions of its fields, rather than one string per
 * field name and value. A 200 MB log has ~40 million names and values; the normalizer and the row read a few of
 * each record, so a value becomes a string only when it is read (issue #2's throughput target).
 *
 * `fields` and `enriched` (the AuditRecord view) are built on first use, for callers outside the parser.
 */
import type { AuditRecord } from '../types.js';

/**
 * Field positions, 4 numbers per field: name start, name end, value start, value end, relative to the start of the
 * line. A name or value that is not a slice of the line (the AVC preamble's `seresult`, an unquoted value
 * continued over spaces, a value cut by the end of the line) is a string of `extra`: its start is -(k + 1) for
 * extra[k] and its end start + length, so that end - start is always the length.
 */
export type Spans = Int32Array;

/**
 * The bit a field name sets in a record's name mask (see LineRecord.rawMask): from its length and its first and last
 * characters, so that it is computed from a span of the line as cheaply as from a string.
 */
function nameBit(len: number, first: number, last: number): number {
  return len === 0 ? 1 : 1 << ((len * 7 + first + last * 3) & 31);
}

function bitOfName(name: string): number {
  const len = name.length;
  return len === 0 ? 1 : nameBit(len, name.charCodeAt(0), name.charCodeAt(len - 1));
}

export class LineRecord implements AuditRecord {
  #fields: string[] | undefined;
  #enriched: string[] | undefined;
  /**
   * The name bits of the raw fields, and of the ENRICHED ones (0 until first needed): a name whose bit is not set
   * is not there, and most lookups are for names a record does not have (`terminal`, `addr`, `hostname` are
   * looked for in every record of an event). A record with fields has a mask other than 0.
   */
  #rawMask = 0;
  #enrMask = 0;

  constructor(
    readonly node: string,
    readonly type: string,
    readonly sec: number,
    readonly ms: number,
    readonly serial: number,
    readonly file: string,
    readonly line: number,
    /** The text the line is part of (the decoded chunk of the log it was read from). */
    readonly text: string,
    /** Where the line is in `text`: [start, end), its CR included, its LF not. */
    readonly start: number,
    readonly end: number,
    /** Positions of the raw body fields then of the ENRICHED fields (values without their quotes). */
    readonly spans: Spans,
    /** Where this record's positions start in `spans` (a slab shared by many records). */
    readonly at: number,
    /** Numbers in `spans` for the raw fields (4 per field), then for the ENRICHED ones. */
    readonly nRaw: number,
    readonly nEnr: number,
    readonly extra: string[] | undefined,
  ) {}

  get fields(): string[] {
    this.#fields ??= this.materialise(this.at, this.nRaw);
    return this.#fields;
  }

  get enriched(): string[] {
    this.#enriched ??= this.materialise(this.at + this.nRaw, this.nEnr);
    return this.#enriched;
  }

  /** The same record under another type name (`UNKNOWN[1334]` → `BPF`). */
  withType(type: string): LineRecord {
    return new LineRecord(
      this.node,
      type,
      this.sec,
      this.ms,
      this.serial,
      this.file,
      this.line,
      this.text,
      this.start,
      this.end,
      this.spans,
      this.at,
      this.nRaw,
      this.nEnr,
      this.extra,
    );
  }

  /** The line as read (its CR included). */
  get lineText(): string {
    return this.text.slice(this.start, this.end);
  }

  /** Number of raw body fields. */
  get count(): number {
    return this.nRaw >> 2;
  }

  /** Name of raw field `i` (0-based). */
  nameAt(i: number): string {
    return this.span(this.at + (i << 2));
  }

  /** Value of raw field `i` as written (double quotes kept). */
  valueAt(i: number): string {
    return this.span(this.at + (i << 2) + 2);
  }

  /**
   * Value of raw field `i` without its double quotes when it has them (`"bash"` → `bash`), else undefined: the
   * same as valueAt(i).slice(1, -1) for a quoted value, without the string in between.
   */
  unquotedValueAt(i: number): string | undefined {
    const k = this.at + (i << 2) + 2;
    const start = this.spans[k]!;
    const end = this.spans[k + 1]!;
    if (end - start < 2) return undefined;
    if (start < 0) {
      const v = this.extra![-start - 1]!;
      return v.charCodeAt(0) === 0x22 && v.charCodeAt(v.length - 1) === 0x22 ? v.slice(1, -1) : undefined;
    }
    const text = this.text;
    const from = this.start + start;
    const to = this.start + end;
    return text.charCodeAt(from) === 0x22 && text.charCodeAt(to - 1) === 0x22
      ? text.slice(from + 1, to - 1)
      : undefined;
  }

  /** Index of the first raw field called `name` at or after field `from`, or -1. */
  indexOf(name: string, from: number): number {
    if ((this.rawMask() & bitOfName(name)) === 0) return -1;
    const at = this.at;
    const stop = at + this.nRaw;
    const k = this.find(at + (from << 2), stop, name);
    return k < 0 ? -1 : (k - at) >> 2;
  }

  /** Whether raw field `i` is called `name`. */
  nameIs(i: number, name: string): boolean {
    return this.is(this.at + (i << 2), name);
  }

  /** First raw field called `name`, as written; undefined when there is none. */
  rawValue(name: string): string | undefined {
    if ((this.rawMask() & bitOfName(name)) === 0) return undefined;
    const stop = this.at + this.nRaw;
    const k = this.find(this.at, stop, name);
    return k < 0 ? undefined : this.span(k + 2);
  }

  /** ENRICHED field `NAME` (upper case); undefined when there is none. */
  enrichedValue(name: string): string | undefined {
    if (this.nEnr === 0 || (this.enrMask() & bitOfName(name)) === 0) return undefined;
    const from = this.at + this.nRaw;
    const stop = from + this.nEnr;
    const k = this.find(from, stop, name);
    return k < 0 ? undefined : this.span(k + 2);
  }

  /**
   * The ENRICHED field named like raw field `i` in upper case (`auid` → `AUID`), compared without building the
   * upper-case name; undefined when there is none.
   */
  enrichedFor(i: number): string | undefined {
    if (this.nEnr === 0) return undefined;
    const s = this.spans;
    const k0 = this.at + (i << 2);
    const rel = s[k0]!;
    // Beyond ASCII, toUpperCase() may change the length (ß → SS): those names are compared as the original did.
    if (rel < 0 || !isAsciiSpan(this.text, this.start + rel, this.start + s[k0 + 1]!)) {
      return this.enrichedValue(this.nameAt(i).toUpperCase());
    }
    const name = this.start + rel;
    const len = s[k0 + 1]! - rel;
    const text = this.text;
    if (
      len > 0 &&
      (this.enrMask() &
        nameBit(len, upper(text.charCodeAt(name)), upper(text.charCodeAt(name + len - 1)))) ===
        0
    )
      return undefined;
    const from = this.at + this.nRaw;
    const stop = from + this.nEnr;
    for (let k = from; k < stop; k += 4) {
      const es = s[k]!;
      if (s[k + 1]! - es !== len) continue;
      if (es < 0) {
        if (this.extra![-es - 1] === this.nameAt(i).toUpperCase()) return this.span(k + 2);
        continue;
      }
      const e = this.start + es;
      let j = 0;
      for (; j < len; j++) {
        let c = text.charCodeAt(name + j);
        if (c >= 0x61 && c <= 0x7a) c -= 0x20;
        if (text.charCodeAt(e + j) !== c) break;
      }
      if (j === len) return this.span(k + 2);
    }
    return undefined;
  }

  private rawMask(): number {
    if (this.#rawMask === 0) this.#rawMask = this.maskOf(this.at, this.nRaw);
    return this.#rawMask;
  }

  private enrMask(): number {
    if (this.#enrMask === 0) this.#enrMask = this.maskOf(this.at + this.nRaw, this.nEnr);
    return this.#enrMask;
  }

  /** The name bits of the fields whose positions are spans[from, from + n). */
  private maskOf(from: number, n: number): number {
    const s = this.spans;
    const text = this.text;
    let mask = 0;
    for (let k = from; k < from + n; k += 4) {
      const start = s[k]!;
      if (start < 0) mask |= bitOfName(this.extra![-start - 1]!);
      else {
        const len = s[k + 1]! - start;
        const p = this.start + start;
        mask |= len === 0 ? 1 : nameBit(len, text.charCodeAt(p), text.charCodeAt(p + len - 1));
      }
    }
    return mask;
  }

  /** The first k in [from, stop) (a step of 4) where the name of a field starts that is `name`, or -1. */
  private find(from: number, stop: number, name: string): number {
    const s = this.spans;
    const text = this.text;
    const base = this.start;
    const len = name.length;
    // Most names of the right length differ in their first character: that is compared before the rest.
    const first = len === 0 ? 0 : name.charCodeAt(0);
    for (let k = from; k < stop; k += 4) {
      const start = s[k]!;
      if (s[k + 1]! - start !== len) continue;
      if (start < 0) {
        if (this.extra![-start - 1] === name) return k;
        continue;
      }
      const p = base + start;
      if (len === 0) return k;
      if (text.charCodeAt(p) !== first) continue;
      let j = 1;
      while (j < len && text.charCodeAt(p + j) === name.charCodeAt(j)) j++;
      if (j === len) return k;
    }
    return -1;
  }

  /** Whether the name or value whose span starts at spans[k] is `name`. */
  private is(k: number, name: string): boolean {
    const s = this.spans;
    const start = s[k]!;
    const len = name.length;
    if (s[k + 1]! - start !== len) return false;
    if (start < 0) return this.extra![-start - 1] === name;
    const text = this.text;
    const p = this.start + start;
    for (let j = 0; j < len; j++) if (text.charCodeAt(p + j) !== name.charCodeAt(j)) return false;
    return true;
  }

  /** The name or value whose span starts at spans[k]. */
  private span(k: number): string {
    const start = this.spans[k]!;
    return start < 0
      ? this.extra![-start - 1]!
      : this.text.slice(this.start + start, this.start + this.spans[k + 1]!);
  }

  private materialise(from: number, n: number): string[] {
    const out = new Array<string>(n >> 1);
    for (let k = 0; k < n; k += 2) out[k >> 1] = this.span(from + k);
    return out;
  }
}

/** An ASCII letter's upper case (toUpperCase() on ASCII). */
function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

function isAsciiSpan(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Number of body fields of any record. */
export function fieldCount(record: AuditRecord): number {
  return record instanceof LineRecord ? record.count : record.fields.length >> 1;
}

/** Name of body field `i`. */
export function nameAt(record: AuditRecord, i: number): string {
  return record instanceof LineRecord ? record.nameAt(i) : (record.fields[i * 2] ?? '');
}

/** Value of body field `i`, as written. */
export function valueAt(record: AuditRecord, i: number): string {
  return record instanceof LineRecord ? record.valueAt(i) : (record.fields[i * 2 + 1] ?? '');
}

/** Index of the first body field called `name` at or after `from`, or -1. */
export function indexOfField(record: AuditRecord, name: string, from: number): number {
  if (record instanceof LineRecord) return record.indexOf(name, from);
  const f = record.fields;
  for (let i = from; i * 2 < f.length; i++) if (f[i * 2] === name) return i;
  return -1;
}

/** The ENRICHED value for body field `i` (its name in upper case). */
export function enrichedAt(record: AuditRecord, i: number): string | undefined {
  if (record instanceof LineRecord) return record.enrichedFor(i);
  const name = (record.fields[i * 2] ?? '').toUpperCase();
  const f = record.enriched;
  for (let k = 0; k < f.length; k += 2) if (f[k] === name) return f[k + 1];
  return undefined;
}
