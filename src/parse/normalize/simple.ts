/**
 * One-record events (auparse normalize.c normalize_simple): user-space messages, auditd's own records, a kernel
 * LOGIN, CONFIG_CHANGE or ANOM_* without companions. Most share one shape (uid, auid, ses, res, an object by
 * record type, exe); a few record types have their own.
 */
import { recordTypeNumber } from '../tables/record-types.js';
import { eventKind } from './event-kind.js';
import type { NormState } from './norm-state.js';
import { howFromExe, opVerb, setProgramObject } from './program.js';
import { recordAction } from './record-map.js';
import { findSimpleObject, findSimpleObjPrimary2, findSimpleObjSecondary } from './simple-object.js';
import { tableEntry } from './table-entry.js';

type Shape = (st: NormState, type: string) => void;

/** collect_simple_subj_attr: only moves the cursor (the attributes feed the label columns). */
function simpleSubjectAttrs(st: NormState): void {
  st.c.first();
  st.skipAttr('pid', 0);
  st.skipAttr('subj', 0);
}

/** CONFIG_CHANGE, FEATURE_CHANGE, SECCOMP, ANOM_ABEND, ANOM_PROMISCUOUS: auid, (op), (uid), the rest. */
const AUID_FIRST: Readonly<Record<string, (st: NormState) => void>> = {
  FEATURE_CHANGE: (st) => {
    st.c.firstField();
    if (!st.secondarySubject('uid', 0)) st.c.first();
    if (st.c.seek('exe')) st.how = st.text();
    st.primeObject('feature', 0);
    st.what = 'system';
  },
  SECCOMP: (st) => {
    st.c.firstField();
    if (!st.secondarySubject('uid', 0)) st.c.first();
    if (st.c.seek('exe')) st.how = st.text();
    if (!st.primeObject('syscall', 0)) st.c.first();
    st.what = 'process';
    // The seccomp action is the result.
    if (st.c.seek('code')) st.results = st.c.here(0);
  },
  ANOM_ABEND: (st) => {
    st.c.firstField();
    if (!st.secondarySubject('uid', 0)) st.c.first();
    if (!st.primeObject('exe', 0)) st.c.first();
    st.what = 'process';
    if (st.c.seek('sig')) st.how = st.text();
  },
  ANOM_PROMISCUOUS: (st) => {
    st.c.firstField();
    st.primeObject('dev', 0);
    st.secondarySubject('uid', 0);
    st.what = 'socket';
  },
};

/** CONFIG_CHANGE's verb: rule changes have their own, everything else is "changed-audit-configuration". */
const RULE_OPS: ReadonlyArray<readonly [string, string]> = [
  ['add_rule', 'added-audit-rule'],
  ['remove_rule', 'deleted-audit-rule'],
];

function configChangeAction(st: NormState): boolean {
  st.c.firstField();
  if (!st.c.seek('op')) return false;
  const op = (st.text() ?? '').replace(/^"/, '');
  const verb = RULE_OPS.find(([prefix]) => op.startsWith(prefix))?.[1];
  if (verb === undefined) return false;
  st.action = verb;
  st.objPrime = findSimpleObject(st, 'CONFIG_CHANGE');
  return true;
}

const auidFirst: Shape = (st, type) => {
  st.primeSubject('auid', 0);
  st.addSession(0);
  simpleSubjectAttrs(st);
  if (type !== 'CONFIG_CHANGE' || !configChangeAction(st)) {
    st.action = recordAction(type);
    if (type === 'CONFIG_CHANGE') st.objPrime = findSimpleObject(st, type);
    st.c.first();
  }
  const rest = tableEntry(AUID_FIRST, type);
  if (rest !== undefined) rest(st);
  if (type === 'SECCOMP') return;
  st.setResults(0);
};

/** A kernel LOGIN: who changed the login id (old-auid) to whom (auid). */
const login: Shape = (st, type) => {
  if (!st.secondarySubject('uid', 0)) st.c.first();
  simpleSubjectAttrs(st);
  if (!st.primeSubject('old-auid', 0)) st.c.first();
  if (!st.primeObject('auid', 0)) st.c.first();
  st.what = 'user-session';
  st.addSession(0);
  st.setResults(0);
  st.action = recordAction(type);
};

/**
 * A kernel AVC without its SYSCALL: the contexts are subject and object, the decision (`denied`, `granted`) the
 * result. ausearch 3.0.9 calls the subject an unknown account and every decision failed; so do we, to agree.
 */
const avc: Shape = (st, type) => {
  if (st.c.seek('comm')) st.how = st.text();
  else st.c.first();
  if (!st.primeSubject('scontext', 0)) st.c.first();
  if (!st.primeObject('tcontext', 0)) st.c.first();
  st.action = recordAction(type);
  st.subjKind = 'unknown-acct';
  st.c.first();
  st.setResults(0, 'seresult');
};

const DAEMON_START = 1200;
const DAEMON_ABORT = 1202;
const DAEMON_ACCEPT = 1207;

/** auditd's own records: never pass through the kernel. Started by init, every other state change by a signal. */
const daemon: Shape = (st, type) => {
  st.primeSubject('auid', 0);
  if (!st.secondarySubject('uid', 0)) st.c.first();
  st.addSession(0);
  simpleSubjectAttrs(st);
  st.subjKind = 'auditd';
  st.action = recordAction(type);
  st.what = 'service';
  const n = recordTypeNumber(type) ?? 0;
  if (n === DAEMON_START) st.how = 'init';
  else if (n < DAEMON_ACCEPT && n !== DAEMON_ABORT) st.how = 'signal';
  st.setResults(0);
};

const bpf: Shape = (st) => {
  st.subjKind = 'system';
  st.action = opVerb(st, 'BPF');
  st.what = 'process';
  setProgramObject(st);
};

const listener: Shape = (st) => {
  st.primeSubject('auid', 0);
  st.c.first();
  st.secondarySubject('uid', 0);
  st.c.first();
  st.addSession(0);
  simpleSubjectAttrs(st);
  st.action = opVerb(st, 'EVENT_LISTENER');
  st.what = 'socket';
  setProgramObject(st);
  st.c.first();
  st.setResults(0);
  st.c.first();
  howFromExe(st);
};

/**
 * A NETFILTER_CFG on its own (no SYSCALL beside it, as older kernels log a table's registration): the table is
 * the object, the `comm` how, the subject the system, as ausearch 3.0.9 prints it.
 */
const netfilter: Shape = (st) => {
  st.subjKind = 'system';
  st.action = 'loaded-firewall-rule-to';
  if (!st.primeObject('table', 0)) st.c.first();
  st.what = 'firewall';
  st.c.first();
  if (st.c.seek('comm')) st.how = st.text();
};

/** Labeled networking (MAC_UNLBL_ALLOW … LAST_SELINUX). */
const labeledNetwork: Shape = (st, type) => {
  st.primeSubject('auid', 0);
  // No secondary subject: the kind comes from the auid.
  st.classifySubject();
  st.addSession(0);
  st.skipAttr('subj', 0);
  if (type === 'MAC_UNLBL_ALLOW') {
    const accept = st.c.find('unlbl_accept');
    if (accept !== undefined) {
      st.action =
        Number.parseInt(accept, 10) === 1
          ? 'is-allowing-unlabeled-network-traffic'
          : 'is-disallowing-unlabeled-network-traffic';
    } else st.c.first();
  } else st.action = recordAction(type);
  if ((type === 'MAC_MAP_ADD' || type === 'MAC_MAP_DEL') && !st.primeObject('nlbl_domain', 0)) st.c.first();
  st.what = 'mac-config';
  st.setResults(0);
};

/** Record types whose object is the system itself, of a fixed kind (their HOW is still the exe, as in 3.0.9). */
const FIXED_KIND: Readonly<Record<string, 'system' | 'service'>> = {
  SYSTEM_BOOT: 'system',
  SYSTEM_SHUTDOWN: 'service',
};

/** HOW for the common shape: the terminal of ANOM_EXEC, the comm of TTY, the exe of everything else. */
const HOW_FIELD: Readonly<Record<string, string>> = { ANOM_EXEC: 'terminal', TTY: 'comm' };

function isUserMessage(n: number): boolean {
  return (n >= 1100 && n < 1199) || (n >= 2100 && n < 2999);
}

/** Records whose terminal is their object, so it is not a subject attribute. */
const TERMINAL_IS_OBJECT = new Set(['USER_START', 'USER_END', 'USER_ERR']);

/**
 * The common shape: uid (subject alias), auid (subject), ses, res, the object by record type, exe. A USER_LOGIN
 * names its subject itself (`id=` on success, `acct=` on failure), since a failed login has no auid yet.
 */
const common: Shape = (st, type) => {
  const c = st.c;
  if (type === 'USER_LOGIN') {
    if (st.primeSubject('id', 0)) st.classifySubject();
    else {
      c.first();
      if (st.primeSubject('acct', 0)) st.classifySubject();
    }
    c.first();
  } else {
    if (!st.secondarySubject('uid', 0)) c.first();
    st.primeSubject('auid', 0);
  }
  st.addSession(0);
  simpleSubjectAttrs(st);
  if (isUserMessage(recordTypeNumber(type) ?? 0)) {
    st.skipAttr('hostname', 0);
    st.skipAttr('addr', 0);
    if (!TERMINAL_IS_OBJECT.has(type)) st.skipAttr('terminal', 0);
  }
  st.setResults(0);
  let action: string | undefined;
  if (type === 'USER_DEVICE') {
    c.first();
    action = c.find('op');
  }
  st.action = action ?? recordAction(type);
  st.objPrime = findSimpleObject(st, type);
  st.objSec = findSimpleObjSecondary(st, type);
  st.obj2 = findSimpleObjPrimary2(st, type);
  if (type === 'USER_DEVICE') st.skipAttr('uuid', 0);
  if (type === 'SOFTWARE_UPDATE') {
    c.first();
    st.skipAttr('key_enforce', 0);
    st.skipAttr('gpg_res', 0);
  }
  const fixedKind = tableEntry(FIXED_KIND, type);
  if (fixedKind !== undefined) st.what = fixedKind;
  c.first();
  const howField = tableEntry(HOW_FIELD, type);
  if (howField !== undefined) {
    if (c.seek(howField)) st.how = st.text();
    return;
  }
  howFromExe(st);
  // A USER_AVC names the SELinux source context as its subject when its message has one, and no result (it says
  // what the policy decided, not whether an action succeeded), as ausearch 3.0.9 prints it.
  if (type === 'USER_AVC') {
    c.first();
    st.primeSubject('scontext', 0);
    st.results = undefined;
  }
};

const SHAPES: Readonly<Record<string, Shape>> = {
  CONFIG_CHANGE: auidFirst,
  FEATURE_CHANGE: auidFirst,
  SECCOMP: auidFirst,
  ANOM_ABEND: auidFirst,
  ANOM_PROMISCUOUS: auidFirst,
  LOGIN: login,
  AVC: avc,
  BPF: bpf,
  EVENT_LISTENER: listener,
  NETFILTER_CFG: netfilter,
};

function shapeOf(type: string): Shape {
  const shape = tableEntry(SHAPES, type);
  if (shape !== undefined) return shape;
  const n = recordTypeNumber(type) ?? 0;
  if (n >= 1200 && n < 1299) return daemon;
  if (n >= 1406 && n <= 1499) return labeledNetwork;
  return common;
}

/** Normalizes a one-record event. */
export function normalizeSimple(st: NormState): boolean {
  const type = st.c.type ?? '';
  st.evkind = eventKind(type);
  shapeOf(type)(st, type);
  return true;
}
