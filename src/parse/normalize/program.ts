/**
 * The program behind an event: HOW (the `exe`, or the script's `comm` when `exe` is an interpreter) and the
 * process object of set*id, scheduler, BPF and listener events.
 */
import type { NormState } from './norm-state.js';
import { INTERPRETER_PREFIXES } from './syscall-map.js';
import { tableEntry } from './table-entry.js';

/** What every interpreter prefix starts with (`/usr/bin/`): most programs are told apart by that alone. */
const COMMON_PREFIX = INTERPRETER_PREFIXES.reduce((common, prefix) => {
  let n = 0;
  while (n < common.length && n < prefix.length && common[n] === prefix[n]) n++;
  return common.slice(0, n);
});

function isInterpreter(exe: string): boolean {
  if (!exe.startsWith(COMMON_PREFIX)) return false;
  for (const prefix of INTERPRETER_PREFIXES) if (exe.startsWith(prefix)) return true;
  return false;
}

/** From `exe` (the cursor stops there) to the `comm` just before it, when `exe` is an interpreter. */
function toCommIfInterpreter(st: NormState, exe: string): boolean {
  if (!isInterpreter(exe)) return false;
  const fnum = st.c.fieldNum;
  if (fnum === 0 || !st.c.gotoField(fnum - 1)) st.c.first();
  return st.c.seek('comm');
}

/** Sets HOW from the next `exe` field; false when there is none (the cursor is then past the end). */
export function howFromExe(st: NormState): boolean {
  if (!st.c.seek('exe')) return false;
  const exe = st.text() ?? '';
  st.how = exe;
  if (toCommIfInterpreter(st, exe)) st.how = st.text() ?? exe;
  return true;
}

/** Records whose program object is a field of their own rather than the exe. */
const PROGRAM_FIELDS: Readonly<Record<string, string>> = { BPF: 'prog-id', EVENT_LISTENER: 'nl-mcgrp' };

/** set_program_obj: the object is the program (or the BPF program id, or the netlink group). */
export function setProgramObject(st: NormState): void {
  const c = st.c;
  c.first();
  const special = tableEntry(PROGRAM_FIELDS, c.type ?? '');
  if (special !== undefined) {
    if (c.seek(special)) st.objPrime = c.here();
    return;
  }
  if (!c.seek('exe')) return;
  toCommIfInterpreter(st, st.text() ?? '');
  st.objPrime = c.here();
}

/**
 * BPF (load/unload) and EVENT_LISTENER (netlink connect/disconnect): the verb is in `op`.
 * [the `op` value of the first verb, first verb, verb for any other `op`].
 */
const OP_VERBS: Readonly<Record<string, readonly [string, string, string]>> = {
  BPF: ['LOAD', 'loaded-bpf-program', 'unloaded-bpf-program'],
  EVENT_LISTENER: ['connect', 'connected-to', 'disconnected-from'],
};
const NO_OP_VERB: Readonly<Record<string, string>> = { BPF: 'bpf-program', EVENT_LISTENER: 'connected' };

/** The verb of a BPF or EVENT_LISTENER record (on its own or beside a SYSCALL). */
export function opVerb(st: NormState, type: 'BPF' | 'EVENT_LISTENER'): string {
  st.c.first();
  const op = st.c.find('op');
  const [match, yes, no] = OP_VERBS[type]!;
  if (op === undefined) return NO_OP_VERB[type]!;
  return op === match ? yes : no;
}
