/**
 * Stage 4 of the parser: an event → one events.csv row. The ausearch-vocabulary columns (event_type … key) come
 * from the normalizer; this file fills the evidence columns a reviewer filters on (who, what ran, from where)
 * and the pointer back to the raw lines.
 */
import type { AuditEvent, AuditRecord, EventRow } from '../types.js';
import { commandLine, execveArgs } from './interpret/execve.js';
import { fieldValue } from './interpret/fields.js';
import { decodeProctitle } from './interpret/hex.js';
import { type InterpretContext, idName } from './interpret/ids.js';
import { interpretSaddr } from './interpret/sockaddr.js';
import { normalizeEvent } from './normalize/index.js';
import { archName } from './tables/arch.js';
import { formatExit } from './tables/errno.js';
import { syscallName } from './tables/syscalls.js';
import { enrichedField, rawField } from './tokenize.js';

/** Two-digit numbers `00`…`59`, and milliseconds `.000Z`…`.999Z`. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const MILLIS = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}Z`);

/** The last day and second formatted (`2026-11-23T`, `2026-11-23T00:24:55`): events come in time order. */
let isoDay = Number.NaN;
let isoDayPrefix = '';
let isoSec = Number.NaN;
let isoPrefix = '';
/** 10000-01-01T00:00:00Z: from then on toISOString() writes the year with a sign and six digits. */
const ISO_MAX_SEC = 253402300800;

/** Epoch seconds + milliseconds → `2026-11-23T00:24:55.809Z`. */
export function isoTime(sec: number, ms: number): string {
  if (
    !Number.isInteger(ms) ||
    ms < 0 ||
    ms > 999 ||
    !Number.isInteger(sec) ||
    sec < 0 ||
    sec >= ISO_MAX_SEC
  ) {
    return new Date(sec * 1000 + ms).toISOString();
  }
  if (sec !== isoSec) {
    // toISOString() is `YYYY-MM-DDTHH:MM:SS.sssZ`; only the date needs Date, the time of day is arithmetic.
    const inDay = sec % 86400;
    const day = sec - inDay;
    if (day !== isoDay) {
      isoDay = day;
      isoDayPrefix = new Date(day * 1000).toISOString().slice(0, 11);
    }
    isoSec = sec;
    isoPrefix = `${isoDayPrefix}${TWO_DIGITS[(inDay / 3600) | 0]!}:${TWO_DIGITS[((inDay % 3600) / 60) | 0]!}:${TWO_DIGITS[inDay % 60]!}`;
  }
  return isoPrefix + MILLIS[ms]!;
}

/** A value that says something: not missing, empty, '?' or '(none)'. */
function meaningful(v: string | undefined): v is string {
  return v !== undefined && v !== '?' && v !== '(none)' && v !== '';
}

/** The first non-empty, meaningful value of `name` among the event's records ('?' and '(none)' mean nothing). */
function firstValue(records: readonly AuditRecord[], name: string): string {
  for (const r of records) {
    const v = fieldValue(r, name);
    if (meaningful(v)) return v;
  }
  return '';
}

/** firstValue() looking at the subject record first. */
function subjectFirst(subject: AuditRecord, records: readonly AuditRecord[], name: string): string {
  const v = fieldValue(subject, name);
  return meaningful(v) ? v : firstValue(records, name);
}

function syscallOf(rec: AuditRecord | undefined): { arch: string; syscall: string } {
  if (rec === undefined) return { arch: '', syscall: '' };
  const archHex = rawField(rec, 'arch') ?? '';
  const arch = enrichedField(rec, 'ARCH') ?? archName(archHex) ?? archHex;
  const nr = rawField(rec, 'syscall');
  if (nr === undefined) return { arch, syscall: '' };
  const name = enrichedField(rec, 'SYSCALL') ?? syscallName(arch, Number(nr)) ?? nr;
  return { arch, syscall: name };
}

function command(records: readonly AuditRecord[], execve: boolean, title: AuditRecord | undefined): string {
  const exec = execve ? execveArgs(records) : undefined;
  if (exec !== undefined && exec.args.length > 0) return commandLine(exec.args);
  const raw = title === undefined ? undefined : rawField(title, 'proctitle');
  if (raw !== undefined) return decodeProctitle(raw) ?? raw;
  // sudo's USER_CMD carries the command it ran (cmd=, hex-encoded when it has spaces).
  return firstValue(records, 'cmd');
}

/**
 * The record_types column: the distinct types in order, joined by `+`. Events of one shape come again and again,
 * so the texts made so far are kept, by first type (record types are shared strings, see canonicalTypeName).
 * Bounded: a hostile log can make up any number of shapes.
 */
const TYPES_TEXT = new Map<string, { readonly types: readonly string[]; readonly text: string }[]>();
const TYPES_TEXT_LIMIT = 1024;
let typesTextCount = 0;
const distinct: string[] = [];

function recordTypes(records: readonly AuditRecord[]): string {
  distinct.length = 0;
  for (const r of records) if (!distinct.includes(r.type)) distinct.push(r.type);
  const n = distinct.length;
  if (n === 0) return '';
  const known = TYPES_TEXT.get(distinct[0]!);
  if (known !== undefined) {
    for (const entry of known) {
      const types = entry.types;
      if (types.length !== n) continue;
      let j = 1;
      while (j < n && types[j] === distinct[j]) j++;
      if (j === n) return entry.text;
    }
  }
  const text = distinct.join('+');
  if (typesTextCount >= TYPES_TEXT_LIMIT) {
    TYPES_TEXT.clear();
    typesTextCount = 0;
  }
  const entry = { types: distinct.slice(), text };
  const list = TYPES_TEXT.get(distinct[0]!);
  if (list === undefined) TYPES_TEXT.set(distinct[0]!, [entry]);
  else list.push(entry);
  typesTextCount++;
  return text;
}

/** Builds the full row of one event. */
export function buildRow(event: AuditEvent, ctx: InterpretContext): EventRow {
  const records = event.records;
  const first = records[0]!;
  // The records the columns come from: the first of each type.
  let sys: AuditRecord | undefined;
  let cwdRec: AuditRecord | undefined;
  let sock: AuditRecord | undefined;
  let title: AuditRecord | undefined;
  let execve = false;
  for (const r of records) {
    const type = r.type;
    if (type === 'SYSCALL') sys ??= r;
    else if (type === 'CWD') cwdRec ??= r;
    else if (type === 'SOCKADDR') sock ??= r;
    else if (type === 'PROCTITLE') title ??= r;
    else if (type === 'EXECVE') execve = true;
  }
  // The record that carries the subject: the SYSCALL record when there is one, else the first record.
  const subject = sys ?? first;
  const { arch, syscall } = syscallOf(sys);
  const saddr = sock === undefined ? undefined : rawField(sock, 'saddr');
  const exit = sys === undefined ? undefined : rawField(sys, 'exit');
  const subjectTty = fieldValue(subject, 'tty');
  const tty = meaningful(subjectTty) ? subjectTty : '';
  const terminal = firstValue(records, 'terminal');
  const n = normalizeEvent(event, ctx);
  return {
    host: ctx.host,
    node: event.node,
    time: isoTime(event.sec, event.ms),
    serial: String(event.serial),
    event_type: n.event_type,
    event_kind: n.event_kind,
    session: n.session,
    subj_prime: n.subj_prime,
    subj_sec: n.subj_sec,
    subj_kind: n.subj_kind,
    action: n.action,
    result: n.result,
    obj_prime: n.obj_prime,
    obj_sec: n.obj_sec,
    obj_kind: n.obj_kind,
    how: n.how,
    key: n.key,
    record_types: recordTypes(records),
    auid: idName(subject, 'auid', ctx.accounts) ?? '',
    uid: idName(subject, 'uid', ctx.accounts) ?? '',
    euid: idName(subject, 'euid', ctx.accounts) ?? '',
    pid: rawField(subject, 'pid') ?? '',
    ppid: rawField(subject, 'ppid') ?? '',
    syscall,
    exe: subjectFirst(subject, records, 'exe'),
    comm: subjectFirst(subject, records, 'comm'),
    command: command(records, execve, title),
    cwd: (cwdRec && fieldValue(cwdRec, 'cwd')) ?? firstValue(records, 'cwd'),
    terminal: terminal || tty,
    addr: firstValue(records, 'addr'),
    hostname: firstValue(records, 'hostname'),
    source_file: first.file,
    source_line: String(first.line),
    exit: exit === undefined ? '' : formatExit(exit),
    success: sys === undefined ? '' : (rawField(sys, 'success') ?? ''),
    arch,
    tty,
    obj2: n.obj2,
    saddr: saddr === undefined ? '' : interpretSaddr(saddr),
  };
}
