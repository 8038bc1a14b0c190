/**
 * One field → the text ausearch prints for it in a normalized column (auparse_interpret_field and
 * auparse_interpret_realpath, audit 3.0.9). ENRICHED logs carry the audited host's own interpretation after the
 * 0x1D byte and it wins, as in auparse; otherwise ids are named with the host's account maps.
 */
import type { AuditRecord } from '../../types.js';
import { splitKeys } from '../interpret/fields.js';
import { decodeHexBytes, escapeControlChars } from '../interpret/hex.js';
import { type InterpretContext, mapId } from '../interpret/ids.js';
import { formatSockaddr } from '../interpret/sockaddr.js';
import { ttyKeystrokes } from '../interpret/tty.js';
import { enrichedAt, nameAt, valueAt } from '../record.js';
import { archName } from '../tables/arch.js';
import { syscallName } from '../tables/syscalls.js';
import { enrichedField, rawField } from '../tokenize.js';
import { type FieldType, fieldType } from './field-types.js';
import { signalName } from './signals.js';
import { tableEntry } from './table-entry.js';

/**
 * A field of a record: the record and the index of the field among its name/value pairs. The name, the value and
 * the type are read on first use and kept, since a rule often asks for them more than once.
 */
export class FieldRef {
  #name: string | undefined;
  #raw: string | undefined;
  #type: FieldType | undefined;

  constructor(
    readonly record: AuditRecord,
    readonly index: number,
    /** The name, when the caller knows it already. */
    name?: string | undefined,
  ) {
    this.#name = name;
  }

  get name(): string {
    this.#name ??= nameAt(this.record, this.index);
    return this.#name;
  }

  get raw(): string {
    this.#raw ??= valueAt(this.record, this.index);
    return this.#raw;
  }

  get type(): FieldType {
    this.#type ??= fieldType(this.record.type, this.name, this.raw);
    return this.#type;
  }
}

export function fieldName(ref: FieldRef): string {
  return ref.name;
}

export function fieldRaw(ref: FieldRef): string {
  return ref.raw;
}

export function typeOf(ref: FieldRef): FieldType {
  return ref.type;
}

const UTF8 = new TextDecoder();

/**
 * auparse's au_unescape(): `(null)` and other parenthesised words stay as they are, and so does a value that does
 * not start with a hex digit (`vm=?`, ausearch 3.0.9 prints `?`); otherwise the leading hex digits are decoded.
 */
function auUnescape(value: string): string {
  if (value.startsWith('(')) {
    const close = value.indexOf(')');
    return close < 0 ? value : value.slice(0, close + 1);
  }
  if (value === '' || !/[0-9A-Fa-f]/.test(value[0]!)) return value;
  let end = 0;
  while (end < value.length && /[0-9A-Fa-f]/.test(value[end]!)) end++;
  const bytes = decodeHexBytes(value.slice(0, end - (end % 2)));
  return bytes === undefined ? value : UTF8.decode(bytes);
}

/** auparse's print_escaped(): a quoted value loses its quotes, anything else is hex-decoded. */
export function printEscaped(raw: string): string {
  if (raw.startsWith('"')) {
    const close = raw.indexOf('"', 1);
    return close < 0 ? ' ' : raw.slice(1, close);
  }
  // An af_unix abstract name starts with a NUL byte.
  return auUnescape(raw.startsWith('00') ? raw.slice(2) : raw);
}

/**
 * Joins a relative name to the CWD and folds `.` and `..`. auparse calls realpath(3) on the machine ausearch runs
 * on, which resolves symlinks when the path exists there and returns the joined text when it does not; the audited
 * host's file system is not at hand here, so the path is folded as text.
 */
function realpath(name: string, cwd: string | undefined): string {
  if (cwd === undefined) return name;
  if (name.startsWith('/') && !name.includes('..')) return name;
  const joined = name.startsWith('/') ? name : `${cwd}/${name}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** A uid or gid as text (decimal, or hex for syscall arguments) → name, `unset`, or `unknown(N)`. */
function idText(value: string, base: 10 | 16, kind: 'user' | 'group', ctx: InterpretContext): string {
  const n = Number.parseInt(value, base);
  if (!Number.isFinite(n)) return value;
  if (n === 0xffffffff || n === -1) return 'unset';
  return mapId(String(n), kind, ctx.accounts);
}

/** chmod-style mode argument → `0644` (with `suid,`… prefixes), as ausearch 3.0.9 prints it (`suid,sgid,0755`). */
function modeShort(value: string): string {
  const n = Number.parseInt(value, 16);
  if (!Number.isFinite(n)) return value;
  const special = [
    [0o4000, 'suid,'],
    [0o2000, 'sgid,'],
    [0o1000, 'sticky,'],
  ] as const;
  const prefix = special.map(([bit, text]) => ((n & bit) !== 0 ? text : '')).join('');
  return `${prefix}0${(n & 0o777).toString(8).padStart(3, '0')}`;
}

type ArgText = 'uid' | 'gid' | 'mode';

/**
 * Syscall arguments auparse names (interpret.c print_a0 … print_a2), limited to the ones that can become an OBJ2:
 * the new mode of chmod, the new owner of chown, the ids of set*id. Every other argument prints as `0x…`.
 */
const ARG_TEXT: Readonly<Record<'a0' | 'a1' | 'a2', Readonly<Record<string, ArgText>>>> = {
  a0: {
    setuid: 'uid',
    setreuid: 'uid',
    setresuid: 'uid',
    setfsuid: 'uid',
    setgid: 'gid',
    setregid: 'gid',
    setresgid: 'gid',
    setfsgid: 'gid',
  },
  // fchown and lchown are not named here: auparse only checks `chown` among the syscalls starting with `c`.
  a1: {
    chmod: 'mode',
    fchmod: 'mode',
    creat: 'mode',
    mkdir: 'mode',
    chown: 'uid',
    setreuid: 'uid',
    setresuid: 'uid',
    setregid: 'gid',
    setresgid: 'gid',
  },
  // fchownat's owner is not named either (auparse 3.0.9): it prints as hex, `0xfa2`.
  a2: {
    fchmodat: 'mode',
    mkdirat: 'mode',
    mknodat: 'mode',
    setresuid: 'uid',
    setresgid: 'gid',
    chown: 'gid',
  },
};

/** The syscall of a SYSCALL record, by name: the ENRICHED `SYSCALL=`, else looked up for its arch. */
export function recordSyscall(record: AuditRecord): string | undefined {
  const enriched = enrichedField(record, 'SYSCALL');
  if (enriched !== undefined && !enriched.startsWith('unknown-')) return enriched;
  const nr = rawField(record, 'syscall');
  if (nr === undefined) return undefined;
  const archHex = rawField(record, 'arch') ?? '';
  const arch = enrichedField(record, 'ARCH') ?? archName(archHex) ?? archHex;
  return syscallName(arch, Number(nr)) ?? `unknown-syscall(${nr})`;
}

function argText(ref: FieldRef, slot: 'a0' | 'a1' | 'a2' | 'a3', ctx: InterpretContext): string {
  const raw = fieldRaw(ref);
  const syscall = slot === 'a3' ? undefined : recordSyscall(ref.record);
  const how = syscall === undefined || slot === 'a3' ? undefined : tableEntry(ARG_TEXT[slot], syscall);
  if (how === 'mode') return modeShort(raw);
  if (how === 'uid' || how === 'gid') return idText(raw, 16, how === 'uid' ? 'user' : 'group', ctx);
  return `0x${raw}`;
}

/** SECCOMP `code=` action bits → auparse's names (seccomptab.h). */
const SECCOMP_ACTIONS: ReadonlyMap<number, string> = new Map([
  [0x00000000, 'kill'],
  [0x00030000, 'trap'],
  [0x00050000, 'errno'],
  [0x7ff00000, 'trace'],
  [0x7ffc0000, 'log'],
  [0x7fff0000, 'allow'],
]);

function seccompText(raw: string): string {
  const code = Number.parseInt(raw, 16);
  if (!Number.isFinite(code)) return raw;
  return SECCOMP_ACTIONS.get(code & 0x7fff0000) ?? `unknown-seccomp-code(${raw})`;
}

/** auparse's print_success(): numeric results become yes/no. */
function successText(raw: string): string {
  if (!/^\d/.test(raw)) return raw;
  const n = Number.parseInt(raw, 10);
  return n === 1 ? 'yes' : n === 0 ? 'no' : 'unset';
}

const TEXT: Readonly<Record<FieldType, (ref: FieldRef, ctx: InterpretContext) => string>> = {
  uid: (ref, ctx) => idText(fieldRaw(ref), 10, 'user', ctx),
  gid: (ref, ctx) => idText(fieldRaw(ref), 10, 'group', ctx),
  session: (ref) => (fieldRaw(ref) === '4294967295' ? 'unset' : fieldRaw(ref)),
  escaped: (ref) => escapeControlChars(printEscaped(fieldRaw(ref))),
  'escaped-file': (ref) => escapeControlChars(printEscaped(fieldRaw(ref))),
  // A rule with several keys logs them joined by 0x01; we show every key, joined by ','. (ausearch shows the first.)
  'escaped-key': (ref) => splitKeys(printEscaped(fieldRaw(ref))).join(','),
  success: (ref) => successText(fieldRaw(ref)),
  signal: (ref) => signalName(fieldRaw(ref), 10),
  sockaddr: (ref) => formatSockaddr(fieldRaw(ref)),
  syscall: (ref) => recordSyscall(ref.record) ?? fieldRaw(ref),
  seccomp: (ref) => seccompText(fieldRaw(ref)),
  a0: (ref, ctx) => argText(ref, 'a0', ctx),
  a1: (ref, ctx) => argText(ref, 'a1', ctx),
  a2: (ref, ctx) => argText(ref, 'a2', ctx),
  a3: (ref, ctx) => argText(ref, 'a3', ctx),
  'tty-data': (ref) => ttyKeystrokes(fieldRaw(ref)),
  // auparse's print_nlmcgrp (hex): 1 is the audit log's multicast group, anything else none.
  nlmcgrp: (ref) => (Number.parseInt(fieldRaw(ref), 16) === 1 ? 'audit-netlink-multicast' : 'audit-none'),
  unclassified: (ref) => fieldRaw(ref),
};

/** auparse_interpret_field(): the ENRICHED value when the log has one (and it is not `unknown-…`), else ours. */
export function interpretField(ref: FieldRef, ctx: InterpretContext): string {
  const enriched = enrichedAt(ref.record, ref.index);
  if (enriched !== undefined && !enriched.startsWith('unknown-')) return enriched;
  return TEXT[typeOf(ref)](ref, ctx);
}

/**
 * auparse_interpret_realpath(): a file name made absolute with the event's CWD (`cwd`, the raw CWD value). Only
 * `escaped-file` fields have one; for any other field this is interpretField().
 */
export function interpretPath(ref: FieldRef, ctx: InterpretContext, cwd: string | undefined): string {
  if (typeOf(ref) !== 'escaped-file') return interpretField(ref, ctx);
  const name = printEscaped(fieldRaw(ref));
  return escapeControlChars(realpath(name, cwd === undefined ? undefined : printEscaped(cwd)));
}
