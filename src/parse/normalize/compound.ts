/**
 * Events built around a SYSCALL record (auparse normalize.c normalize_compound and normalize_syscall): the subject,
 * result, HOW and key come from the SYSCALL record; the action and object from the syscall's class, or from a
 * companion record (NETFILTER_CFG, ANOM_PROMISCUOUS, CONFIG_CHANGE, AVC …) that says more than the syscall.
 */
import { eventKind } from './event-kind.js';
import type { NormState } from './norm-state.js';
import { kindOfMode } from './obj-kind.js';
import { howFromExe, opVerb, setProgramObject } from './program.js';
import { recordAction } from './record-map.js';
import { findSimpleObject } from './simple-object.js';
import {
  FILE_RULES,
  type FileRule,
  ID_ARG_LIMITS,
  RECORD_CLASSES,
  type RecordClass,
  SOCKET_ACTIONS,
  type SyscallClass,
  syscallClass,
} from './syscall-map.js';
import { tableEntry } from './table-entry.js';

/**
 * set_file_object: the object is the first PATH record at or after record 2 + adjust whose nametype is not
 * PARENT, else the first PARENT one (a failed open can leave only the directory). Its mode refines the kind.
 */
function setFileObject(st: NormState, adjust: number): void {
  const c = st.c;
  c.goto(2 + adjust);
  c.firstField();
  let parent = 0;
  let nametype: string | undefined;
  do {
    nametype = c.find('nametype');
    if (nametype !== undefined) {
      if (nametype !== 'PARENT') break;
      if (parent === 0) parent = c.recordNum;
    }
  } while (nametype !== undefined && c.next());
  let rnum = c.recordNum;
  if (nametype === undefined) {
    if (parent === 0) return;
    c.goto(parent);
    c.firstField();
    rnum = parent;
  }
  if (c.type !== 'PATH') return;
  c.firstField();
  st.primeObject('name', rnum);
  if (c.seek('inode')) st.objSec = c.here(rnum);
  const mode = c.find('mode');
  const kind = mode === undefined ? undefined : kindOfMode(mode);
  if (kind !== undefined) st.what = kind;
}

/** OBJ2 of chmod/chown: the argument with the new mode or owner (in the SYSCALL record). */
function argObject2(st: NormState, syscall: string, rule: { at: string; skipUnchanged?: boolean }): void {
  const c = st.c;
  c.first();
  const value = c.find(syscall === rule.at ? 'a2' : 'a1');
  if (value === undefined) return;
  if (rule.skipUnchanged === true && Number.parseInt(value, 10) === -1) c.nextField();
  st.obj2 = c.here(0);
}

function fileRule(st: NormState, syscall: string, rule: FileRule): void {
  st.action = rule.action;
  if (rule.kindFixed !== true) st.what = rule.kind;
  const obj2 = rule.obj2;
  if (obj2 !== undefined && 'pathName' in obj2) st.primeObject2('name', obj2.pathName);
  if (obj2 !== undefined && 'arg' in obj2) argObject2(st, syscall, obj2.arg);
  setFileObject(st, rule.fdSyscalls?.includes(syscall) === true ? -1 : rule.adjust);
  if (rule.kindFixed === true) st.what = rule.kind;
}

/** collect_id_obj2: the first set*id argument that is not -1 ("unchanged"). */
function idObject2(st: NormState, syscall: string): void {
  const limit = tableEntry(ID_ARG_LIMITS, syscall);
  const c = st.c;
  if (limit === undefined) return;
  c.first();
  if (!c.seek('a0')) return;
  for (let n = 1; n < limit && st.text() === 'unset'; n++) c.nextField();
  st.obj2 = c.here(0);
}

/** Where a companion record's own field is the object. */
function objectHere(st: NormState, name: string, fromFirst: boolean): boolean {
  if (fromFirst) st.c.first();
  if (!st.c.seek(name)) return false;
  st.objPrime = st.c.here();
  return true;
}

/** The SOCKADDR record is expected right after SYSCALL. */
function socketObject(st: NormState): void {
  st.c.goto(1);
  st.c.firstField();
  st.primeObject('saddr', 1);
}

/** A process-changing call: the object is the program, HOW the call itself. */
function processChange(st: NormState, syscall: string, action: string): void {
  st.action = action;
  st.what = 'process';
  setProgramObject(st);
  if (st.how !== undefined) st.how = syscall;
}

type ClassHandler = (st: NormState, syscall: string, companion: string) => void;

/** Classes that are neither file-like (FILE_RULES) nor socket calls (SOCKET_ACTIONS). */
const HANDLERS: Readonly<Partial<Record<SyscallClass | RecordClass, ClassHandler>>> = {
  'file-ldmod': (st) => {
    st.action = 'loaded-kernel-module';
    st.what = 'file';
    st.c.goto(1);
    st.primeObject('name', 1);
  },
  'file-unldmod': (st) => {
    st.action = 'unloaded-kernel-module';
    st.what = 'file';
  },
  'file-mount': (st) => {
    st.action = 'mounted';
    st.what = 'file-system';
    if (st.syscallSuccess === 1) st.primeObject2('name', 0);
    // The device's PATH is one record later when the mount succeeded.
    setFileObject(st, st.syscallSuccess);
  },
  'make-dev': (st) => {
    setFileObject(st, 0);
    const verbs: Partial<Record<string, string>> = {
      'character-device': 'made-character-device',
      'block-device': 'made-block-device',
    };
    st.action = verbs[st.what] ?? 'make-device';
  },
  pid: (st) => {
    st.action = st.c.count > 2 ? 'killed-list-of-pids' : 'killed-pid';
    st.c.goto(1);
    st.c.firstField();
    objectHere(st, 'saddr', false);
    st.what = 'process';
  },
  uid: (st, syscall) => {
    processChange(st, syscall, 'changed-identity-of');
    idObject2(st, syscall);
  },
  gid: (st, syscall) => {
    processChange(st, syscall, 'changed-identity-of');
    idObject2(st, syscall);
  },
  scheduler: (st, syscall) => processChange(st, syscall, 'adjusted-scheduling-policy-of'),
  'system-time': (st) => {
    st.action = 'changed-system-time';
    st.what = 'system';
  },
  'system-name': (st) => {
    st.action = 'changed-system-name';
    st.what = 'system';
  },
  'system-memory': (st) => {
    st.action = 'allocated-memory';
    if (st.syscallSuccess === 1) {
      st.action = 'allocated-memory-in';
      objectHere(st, 'comm', true);
    }
    st.what = 'memory';
  },
  'mac-load': (st, _syscall, companion) => {
    st.action = recordAction(companion);
    st.what = 'mac-config';
  },
  'mac-config': (st, _syscall, companion) => {
    st.action = recordAction(companion);
    objectHere(st, 'bool', false);
    st.what = 'mac-config';
  },
  'mac-enforce': (st, _syscall, companion) => {
    st.action = recordAction(companion);
    objectHere(st, 'enforcing', false);
    st.what = 'mac-config';
  },
  'mac-err': (st) => {
    st.action = 'caused-mac-policy-error';
    st.what = 'system';
  },
  iptables: (st) => {
    st.action = 'loaded-firewall-rule-to';
    objectHere(st, 'table', true);
    st.what = 'firewall';
  },
  promiscuous: (st) => {
    objectHere(st, 'dev', true);
    const prom = st.c.find('prom');
    if (prom !== undefined) {
      st.action =
        Number.parseInt(prom, 10) === 0
          ? 'left-promiscuous-mode-on-device'
          : 'entered-promiscuous-mode-on-device';
    }
    st.what = 'socket';
  },
  bpf: (st) => {
    st.action = opVerb(st, 'BPF');
    st.what = 'process';
    setProgramObject(st);
  },
  'ev-listen': (st) => {
    st.action = opVerb(st, 'EVENT_LISTENER');
    st.what = 'socket';
    setProgramObject(st);
  },
};

function handlerFor(cls: SyscallClass | RecordClass): ClassHandler | undefined {
  const file = FILE_RULES[cls as SyscallClass];
  if (file !== undefined) return (st, syscall) => fileRule(st, syscall, file);
  const socket = SOCKET_ACTIONS[cls as SyscallClass];
  if (socket !== undefined) {
    return (st) => {
      st.action = socket;
      st.what = 'socket';
      socketObject(st);
    };
  }
  return HANDLERS[cls];
}

/** A syscall auparse does not classify: the event is about the rule that caught it. */
function auditRule(st: NormState): void {
  st.c.first();
  const key = st.c.find('key');
  if (key !== undefined && key !== '(null)') {
    st.action = 'triggered-audit-rule';
    st.objPrime = st.c.here();
  } else st.action = 'triggered-unknown-audit-rule';
  st.what = 'admin-defined-rule';
}

/** AVC and FANOTIFY keep the syscall's object but name the decision as the action. */
const DECISION_ACTIONS: Readonly<Record<'mac' | 'av', string>> = {
  mac: 'accessed-mac-policy-controlled-object',
  av: 'accessed-policy-controlled-file',
};

function normalizeSyscall(st: NormState, syscall: string | undefined): void {
  const c = st.c;
  let companion = '';
  let recordClass: RecordClass | undefined;
  c.first();
  while (c.record !== undefined) {
    companion = c.type ?? '';
    recordClass = tableEntry(RECORD_CLASSES, companion);
    if (recordClass !== undefined) break;
    c.next();
  }
  const decision = recordClass === 'mac' || recordClass === 'av' ? recordClass : undefined;
  const cls = decision === undefined && recordClass !== undefined ? recordClass : syscallClass(syscall);
  const handler = cls === undefined ? undefined : handlerFor(cls);
  if (handler === undefined) auditRule(st);
  else handler(st, syscall ?? '', companion);
  if (decision !== undefined) st.action = DECISION_ACTIONS[decision];
}

/** The subject attributes syscall_subj_attr collects before the session, in its order. */
const SYSCALL_SUBJECT_ATTRS = ['ppid', 'pid', 'gid', 'euid', 'suid', 'fsuid', 'egid', 'sgid', 'fsgid', 'tty'];

/** syscall_subj_attr: moves the cursor to the SYSCALL record and records the session. */
function syscallSubject(st: NormState): void {
  const c = st.c;
  c.first();
  do {
    if (c.type === 'SYSCALL') {
      const rnum = c.recordNum;
      for (const name of SYSCALL_SUBJECT_ATTRS) st.skipAttr(name, rnum);
      st.addSession(rnum);
      st.skipAttr('subj', rnum);
      return;
    }
  } while (c.next());
}

/** Normalizes an event of several records (or a lone SYSCALL); false when it has no SYSCALL record. */
export function normalizeCompound(st: NormState): boolean {
  const c = st.c;
  const first = c.type ?? '';
  while (c.type !== 'SYSCALL') if (!c.next()) return false;
  st.evkind = eventKind(first);
  const recno = c.recordNum;
  const back = (): boolean => {
    if (!c.goto(recno)) return false;
    c.firstField();
    return true;
  };
  const syscall = c.seek('syscall') ? st.text() : undefined;
  const success = c.find('success');
  if (success !== undefined) {
    st.syscallSuccess = success === 'no' ? 0 : 1;
    st.results = c.here(recno);
  } else if (!back()) return false;
  if (!st.primeSubject('auid', recno) && !back()) return false;
  if (!st.secondarySubject('uid', recno) && !back()) return false;
  syscallSubject(st);
  c.firstField();
  if (!howFromExe(st) && !back()) return false;
  const key = c.find('key');
  if (key !== undefined && key !== '(null)') st.key = c.here(recno);
  if (first === 'ANOM_LINK') {
    st.action = recordAction(first);
  } else if (first === 'CONFIG_CHANGE') {
    // The operation (`set`, `add_rule` …) is the action, the setting or rule key the object.
    c.first();
    if (c.seek('op')) {
      st.action = st.text();
      st.objPrime = findSimpleObject(st, first);
    }
  } else {
    normalizeSyscall(st, syscall);
  }
  return true;
}
