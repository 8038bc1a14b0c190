/**
 * EXECVE records → the command line. Arguments may be spread over several EXECVE records of one event, and an
 * argument longer than ~7.5 kB is always hex-encoded and split: `aN_len=LEN aN[0]=HEX aN[1]=HEX …`, the parts
 * possibly in different records (kernel auditsc.c audit_log_execve_info).
 */
import type { AuditRecord } from '../../types.js';
import { fieldCount, nameAt, valueAt } from '../record.js';
import { decodeValue } from './fields.js';
import { decodeHex, isHex } from './hex.js';

export interface ExecveArgs {
  readonly args: string[];
  /** argc as the kernel wrote it; args.length may be smaller when records are missing. */
  readonly argc: number;
  /** False when an argument or a part of a split argument is missing. */
  readonly complete: boolean;
}

/** ARG_MAX allows ~2M one-byte arguments; beyond these bounds a record is not a real EXECVE. */
const MAX_ARGS = 1 << 21;
/** An argument is at most MAX_ARG_STRLEN (128 KiB) → 256 KiB of hex in ~7.5 kB parts. */
const MAX_PARTS = 1024;

/** N of an argument name `aN` (N decimal digits, at most 9 of them); -1 for any other name. */
function plainArgNumber(name: string): number {
  const len = name.length;
  if (len < 2 || len > 10) return -1;
  let n = 0;
  for (let i = 1; i < len; i++) {
    const d = name.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** decodeValue('EXECVE', 'aN', raw): an argument is always one auditd may hex-encode. */
function decodeArg(raw: string): string {
  const len = raw.length;
  if (len >= 2 && raw.charCodeAt(0) === 0x22 && raw.charCodeAt(len - 1) === 0x22) return raw.slice(1, -1);
  return len >= 2 && isHex(raw) ? (decodeHex(raw) ?? raw) : raw;
}

/** Collects the arguments of every EXECVE record of an event, in order. Undefined when there is none. */
export function execveArgs(records: readonly AuditRecord[]): ExecveArgs | undefined {
  let seen = false;
  let argc = -1;
  const args: (string | undefined)[] = [];
  let parts: Map<number, string[]> | undefined;
  for (const r of records) {
    if (r.type !== 'EXECVE') continue;
    seen = true;
    const count = fieldCount(r);
    for (let i = 0; i < count; i++) {
      const name = nameAt(r, i);
      const raw = valueAt(r, i);
      if (name === 'argc') {
        argc = Number(raw);
        continue;
      }
      if (name.charCodeAt(0) !== 0x61) continue; // 'a'
      const plain = plainArgNumber(name);
      if (plain >= 0) {
        // `aN`, the usual case: what the general path below makes of it, without cutting the name.
        if (plain < MAX_ARGS) args[plain] = decodeArg(raw);
        continue;
      }
      const bracket = name.indexOf('[');
      if (bracket > 0) {
        const n = Number(name.slice(1, bracket));
        const part = Number(name.slice(bracket + 1, -1));
        // Bounds: a hostile log must not make us allocate or loop on its say-so.
        if (
          !Number.isInteger(n) ||
          !Number.isInteger(part) ||
          n < 0 ||
          n >= MAX_ARGS ||
          part < 0 ||
          part >= MAX_PARTS
        )
          continue;
        parts ??= new Map();
        let list = parts.get(n);
        if (list === undefined) {
          list = [];
          parts.set(n, list);
        }
        list[part] = raw;
        continue;
      }
      if (name.endsWith('_len')) continue;
      const n = Number(name.slice(1));
      if (Number.isInteger(n) && n >= 0 && n < MAX_ARGS) args[n] = decodeValue('EXECVE', name, raw);
    }
  }
  if (!seen) return undefined;
  let complete = true;
  for (const [n, list] of parts ?? []) {
    let hex = '';
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      if (p === undefined) complete = false;
      else hex += p;
    }
    args[n] = decodeHex(hex) ?? hex;
  }
  const count = argc >= 0 ? argc : args.length;
  if (count !== args.length) complete = false;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === undefined) complete = false;
    else out.push(a);
  }
  return { args: out, argc: count, complete };
}

/** Characters a shell word may have unquoted: [A-Za-z0-9_@%+=:,./-]. */
const PLAIN = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-')
  PLAIN[c.charCodeAt(0)] = 1;

function isPlain(arg: string): boolean {
  const len = arg.length;
  if (len === 0) return false;
  for (let i = 0; i < len; i++) {
    const c = arg.charCodeAt(i);
    if (c > 127 || PLAIN[c] === 0) return false;
  }
  return true;
}

/**
 * Quotes one argument the way a shell would need it, so that a reviewer sees where arguments begin and end:
 * plain words stay bare; others are single-quoted with control bytes shown as \xNN.
 */
export function shellQuote(arg: string): string {
  if (isPlain(arg)) return arg;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes in arguments are shown escaped
  const body = arg.replace(/'/g, "'\\''").replace(/[\x00-\x1f\x7f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `'${body}'`;
}

/** Arguments → one command line. */
export function commandLine(args: readonly string[]): string {
  let line = args.length === 0 ? '' : shellQuote(args[0]!);
  for (let i = 1; i < args.length; i++) line += ` ${shellQuote(args[i]!)}`;
  return line;
}
