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

/** The last second formatted, `2026-11-23T00:24:55.`: events come in time order, so most share it. */
let isoSec = Number.NaN;
let isoPrefix = '';

/** Epoch seconds + milliseconds → `2026-11-23T00:24:55.809Z`. */
export function isoTime(sec: number, ms: number): string {
  const plain = Number.isInteger(ms) && ms >= 0 && ms <= 999;
  if (sec === isoSec && plain) return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  const iso = new Date(sec * 1000 + ms).toISOString();
  if (plain && Number.isInteger(sec) && sec >= 0) {
    // toISOString() ends in `.sssZ`; what comes before only depends on the second.
    isoSec = sec;
    isoPrefix = iso.slice(0, -4);
  }
  return iso;
}

function find(records: readonly AuditRecord[], type: string): AuditRecord | undefined {
  for (const r of records) if (r.type === type) return r;
  return undefined;
}

/** The record that carries the subject: the SYSCALL record when there is one, else the first record. */
function subjectRecord(event: AuditEvent): AuditRecord {
  return find(event.records, 'SYSCALL') ?? event.records[0]!;
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

function command(records: readonly AuditRecord[]): string {
  const exec = execveArgs(records);
  if (exec !== undefined && exec.args.length > 0) return commandLine(exec.args);
  const title = find(records, 'PROCTITLE');
  const raw = title === undefined ? undefined : rawField(title, 'proctitle');
  if (raw !== undefined) return decodeProctitle(raw) ?? raw;
  // sudo's USER_CMD carries the command it ran (cmd=, hex-encoded when it has spaces).
  return firstValue(records, 'cmd');
}

/** Builds the full row of one event. */
export function buildRow(event: AuditEvent, ctx: InterpretContext): EventRow {
  const records = event.records;
  const first = records[0]!;
  const subject = subjectRecord(event);
  const sys = find(records, 'SYSCALL');
  const { arch, syscall } = syscallOf(sys);
  const cwdRec = find(records, 'CWD');
  const sock = find(records, 'SOCKADDR');
  const saddr = sock === undefined ? undefined : rawField(sock, 'saddr');
  const types: string[] = [];
  for (const r of records) if (!types.includes(r.type)) types.push(r.type);
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
    record_types: types.join('+'),
    auid: idName(subject, 'auid', ctx.accounts) ?? '',
    uid: idName(subject, 'uid', ctx.accounts) ?? '',
    euid: idName(subject, 'euid', ctx.accounts) ?? '',
    pid: rawField(subject, 'pid') ?? '',
    ppid: rawField(subject, 'ppid') ?? '',
    syscall,
    exe: subjectFirst(subject, records, 'exe'),
    comm: subjectFirst(subject, records, 'comm'),
    command: command(records),
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
