/**
 * What `aureport` (audit 3.0.9) reads from an event, kept as data: which record types count for which of its
 * totals and reports, and which field of which record gives the event's success, executable, syscall and keys.
 *
 * aureport works on ausearch's events (ausearch-lol.c), not on auditd's: a kernel LOGIN record closes its event,
 * so LOGIN + SYSCALL + PROCTITLE with one id are two aureport events (parse/normalize/ausearch-split.ts). Here
 * such "parts" are scanned one by one, so each gets aureport's own answer, while our event stays one row.
 *
 * Per part, aureport first extracts search items record by record (ausearch-parse.c `extract_search_items`): a
 * later record overwrites an earlier one's success and exe, keys accumulate. Then it counts (aureport-scan.c
 * `do_summary_total`, `per_event_detailed`) by which record types the part holds. Both steps are tables below.
 */

import { decodeValue, KEY_SEPARATOR } from '../parse/interpret/fields.js';
import { isSingleRecordType, memoByTypeName, recordTypeNumber } from '../parse/tables/record-types.js';
import { rawField } from '../parse/tokenize.js';
import type { AuditEvent, AuditRecord } from '../types.js';

/** aureport's success of a part (ausearch-options.h `success_t`): unset, failed, succeeded; res=N is kept as N. */
export const SUCCESS_UNSET = -1;
export const FAILED = 0;
export const SUCCEEDED = 1;

/**
 * What a record type counts for: one bit per test aureport makes (`list_find_msg` / `list_find_msg_range` in
 * aureport-scan.c), plus the record types our findings look for that no aureport total has. aureport-scan.c
 * changed over the years (USER_ACCT → USER_MGMT, NETFILTER_CFG added to the configuration changes); these are the
 * tests of the version whose output the corpus' golden files are (3.0.9).
 */
export const Flag = {
  /** CONFIG_CHANGE, DAEMON_CONFIG, USYS_CONFIG, NETFILTER_CFG, FEATURE_CHANGE, USER_MAC_CONFIG_CHANGE: each one is a
   * "change in configuration" and puts the event in the config report (-c). */
  configChange: 1 << 0,
  daemonConfig: 1 << 1,
  usysConfig: 1 << 2,
  netfilterCfg: 1 << 3,
  featureChange: 1 << 4,
  userMacConfigChange: 1 << 5,
  /** MAC_POLICY_LOAD..MAC_UNLBL_STCDEL: a configuration change and a MAC event. */
  macConfig: 1 << 6,
  /** USER_CHAUTHTOK, ADD_USER..DEL_GROUP, USER_MGMT, GRP_MGMT, ROLE_ASSIGN..ROLE_REMOVE: each one is a "change to
   * accounts, groups, or roles" and puts the event in the account modifications report (-m). */
  chauthtok: 1 << 7,
  accountAddDel: 1 << 8,
  userMgmt: 1 << 9,
  grpMgmt: 1 << 10,
  roleAssign: 1 << 11,
  /** USER_LOGIN: logins / failed logins, the login report (-l). */
  userLogin: 1 << 12,
  /** USER_AUTH: authentications / failed authentications, the authentication report (-au). */
  userAuth: 1 << 13,
  /** GRP_AUTH: authentications, when the event has neither USER_AUTH nor USER_MGMT. */
  grpAuth: 1 << 14,
  /** AVC, USER_AVC: "AVC's". */
  avc: 1 << 15,
  /** FIRST_USER_LSPP_MSG..LAST_USER_LSPP_MSG (2300–2399): a MAC event. */
  userLspp: 1 << 16,
  /** FIRST_ANOM_MSG..LAST_ANOM_MSG (2100–2199, user-space anomalies): anomaly events, -n. */
  anomUser: 1 << 17,
  /** FIRST_KERN_ANOM_MSG..LAST_KERN_ANOM_MSG (1700–1799, ANOM_PROMISCUOUS, ANOM_ABEND…): the same. */
  anomKernel: 1 << 18,
  // Not aureport tests: what the findings add.
  /** USER_ACCT: PAM's account check (expired, not allowed from there); a failed one is an authentication failure. */
  userAcct: 1 << 19,
  /** CHGRP_ID, GRP_CHAUTHTOK: account changes that aureport 3.0.9 does not count. */
  otherAccountChange: 1 << 20,
  /** USER_CMD: a command run through sudo (or another tool that logs one). */
  userCmd: 1 << 21,
  /** USER_START: a PAM session opened (by su, it is a switch of user). */
  userStart: 1 << 22,
  /** USER_ROLE_CHANGE: an SELinux role change (newrole). */
  roleChange: 1 << 23,
  /** DAEMON_START, _END, _ABORT, _ROTATE, _RESUME, _ERR: auditd itself started, stopped, rotated, failed. */
  daemonLifecycle: 1 << 24,
  /** APPARMOR_DENIED: a MAC denial by AppArmor (aureport counts none of AppArmor's records). */
  apparmorDenied: 1 << 25,
} as const;

/** First and last numbers of the ranges aureport tests that have no record-type name of their own (libaudit.h). */
const FIRST_ANOM_MSG = 2100;
const LAST_ANOM_MSG = 2199;
const FIRST_KERN_ANOM_MSG = 1700;
const LAST_KERN_ANOM_MSG = 1799;
const FIRST_USER_LSPP_MSG = 2300;
const LAST_USER_LSPP_MSG = 2399;

/** A record type name of audit 3.0.9 → its number; a typo in the tables below fails at load, not silently. */
function num(name: string): number {
  const n = recordTypeNumber(name);
  if (n === undefined) throw new Error(`unknown record type ${name}`);
  return n;
}

/** [first, last, flag]: record types numbered first..last (inclusive) count for `flag`. */
const FLAG_RANGES: ReadonlyArray<readonly [number, number, number]> = [
  [num('CONFIG_CHANGE'), num('CONFIG_CHANGE'), Flag.configChange],
  [num('DAEMON_CONFIG'), num('DAEMON_CONFIG'), Flag.daemonConfig],
  [num('USYS_CONFIG'), num('USYS_CONFIG'), Flag.usysConfig],
  [num('NETFILTER_CFG'), num('NETFILTER_CFG'), Flag.netfilterCfg],
  [num('FEATURE_CHANGE'), num('FEATURE_CHANGE'), Flag.featureChange],
  [num('USER_MAC_CONFIG_CHANGE'), num('USER_MAC_CONFIG_CHANGE'), Flag.userMacConfigChange],
  [num('MAC_POLICY_LOAD'), num('MAC_UNLBL_STCDEL'), Flag.macConfig],
  [num('USER_CHAUTHTOK'), num('USER_CHAUTHTOK'), Flag.chauthtok],
  [num('ADD_USER'), num('DEL_GROUP'), Flag.accountAddDel],
  [num('USER_MGMT'), num('USER_MGMT'), Flag.userMgmt],
  [num('GRP_MGMT'), num('GRP_MGMT'), Flag.grpMgmt],
  [num('ROLE_ASSIGN'), num('ROLE_REMOVE'), Flag.roleAssign],
  [num('USER_LOGIN'), num('USER_LOGIN'), Flag.userLogin],
  [num('USER_AUTH'), num('USER_AUTH'), Flag.userAuth],
  [num('GRP_AUTH'), num('GRP_AUTH'), Flag.grpAuth],
  [num('AVC'), num('AVC'), Flag.avc],
  [num('USER_AVC'), num('USER_AVC'), Flag.avc],
  [FIRST_USER_LSPP_MSG, LAST_USER_LSPP_MSG, Flag.userLspp],
  [FIRST_ANOM_MSG, LAST_ANOM_MSG, Flag.anomUser],
  [FIRST_KERN_ANOM_MSG, LAST_KERN_ANOM_MSG, Flag.anomKernel],
  [num('USER_ACCT'), num('USER_ACCT'), Flag.userAcct],
  [num('CHGRP_ID'), num('CHGRP_ID'), Flag.otherAccountChange],
  [num('GRP_CHAUTHTOK'), num('GRP_CHAUTHTOK'), Flag.otherAccountChange],
  [num('USER_CMD'), num('USER_CMD'), Flag.userCmd],
  [num('USER_START'), num('USER_START'), Flag.userStart],
  [num('USER_ROLE_CHANGE'), num('USER_ROLE_CHANGE'), Flag.roleChange],
  [num('DAEMON_START'), num('DAEMON_ABORT'), Flag.daemonLifecycle],
  [num('DAEMON_ROTATE'), num('DAEMON_RESUME'), Flag.daemonLifecycle],
  [num('DAEMON_ERR'), num('DAEMON_ERR'), Flag.daemonLifecycle],
  [num('APPARMOR_DENIED'), num('APPARMOR_DENIED'), Flag.apparmorDenied],
];

/** Flags of the configuration changes aureport counts (each one it holds counts once). */
export const CONFIG_CHANGE_FLAGS: readonly number[] = [
  Flag.configChange,
  Flag.daemonConfig,
  Flag.usysConfig,
  Flag.netfilterCfg,
  Flag.featureChange,
  Flag.userMacConfigChange,
  Flag.macConfig,
];

/** Flags of the account changes aureport counts (each one it holds counts once). */
export const ACCOUNT_CHANGE_FLAGS: readonly number[] = [
  Flag.chauthtok,
  Flag.accountAddDel,
  Flag.userMgmt,
  Flag.grpMgmt,
  Flag.roleAssign,
];

/**
 * How ausearch-parse.c reads a record of each type (the parser it dispatches to), as far as success, exe,
 * syscall and keys go:
 *  - `syscall` (parse_syscall): success= yes/other, syscall=, exe=, key= (hex keys split at 0x01);
 *  - `user` (parse_user): res= starting with "failed" → failed, anything else → succeeded; exe=;
 *  - `login` (parse_login): res=N, succeeded when absent (old kernels);
 *  - `daemon` (parse_daemon1/2): res= word, "failed" → failed;
 *  - `config` (CONFIG_CHANGE, parse_simple_message): succeeded unless res=N says otherwise; key=;
 *  - `simple` (MAC_* via parse_simple_message): res=N; key=;
 *  - `avc` (parse_avc): "denied" → failed, "granted" → succeeded;
 *  - `anom` (parse_kernel_anom: ANOM_ABEND, SECCOMP): res=N, exe=, SECCOMP's syscall=;
 *  - `task` (parse_task_info: FEATURE_CHANGE, ANOM_LINK): res=N, exe=;
 *  - `numeric` (INTEGRITY_*, NETFILTER_CFG, EVENT_LISTENER): res=N;
 *  - `none`: nothing that matters here (ANOM_PROMISCUOUS, PATH, CWD, EXECVE, PROCTITLE, …).
 * res=N is read as strtoul(3) reads it: 1 is SUCCEEDED, 0 (or no digits) FAILED, other numbers neither.
 * `user` is AUDIT_USER (1005), 1100–1199 except USER_AVC, and 2100–2999, as in extract_search_items.
 *
 * Not reproduced: aureport drops an event one of whose records it cannot parse (a SYSCALL without exe=, a user
 * record without pid=), reads lines with fgets(8970) (a longer line becomes two), and, in newer versions, gives a
 * NETFILTER_CFG without a SYSCALL the executable "(null)". None of these occur in auditd's own logs or the corpus.
 */
type Reader =
  | 'syscall'
  | 'user'
  | 'login'
  | 'daemon'
  | 'config'
  | 'simple'
  | 'avc'
  | 'anom'
  | 'task'
  | 'numeric'
  | 'none';

/** [first, last, reader], first match wins (ausearch-parse.c's switch). */
const READER_RANGES: ReadonlyArray<readonly [number, number, Reader]> = [
  [num('SYSCALL'), num('SYSCALL'), 'syscall'],
  [num('USER_AVC'), num('USER_AVC'), 'avc'],
  [num('AVC'), num('AVC'), 'avc'],
  [num('USER'), num('USER'), 'user'],
  // AUDIT_FIRST_USER_MSG..AUDIT_LAST_USER_MSG (USER_AVC excepted, above) and AUDIT_FIRST_USER_MSG2..LAST_USER_MSG2.
  [1100, 1199, 'user'],
  [2100, 2999, 'user'],
  [num('LOGIN'), num('LOGIN'), 'login'],
  [num('DAEMON_START'), num('DAEMON_CONFIG'), 'daemon'],
  [num('DAEMON_ROTATE'), num('DAEMON_CLOSE'), 'daemon'],
  [num('CONFIG_CHANGE'), num('CONFIG_CHANGE'), 'config'],
  [num('MAC_POLICY_LOAD'), num('MAC_UNLBL_STCDEL'), 'simple'],
  [num('SECCOMP'), num('SECCOMP'), 'anom'],
  [num('ANOM_ABEND'), num('ANOM_ABEND'), 'anom'],
  [num('FEATURE_CHANGE'), num('FEATURE_CHANGE'), 'task'],
  [num('ANOM_LINK'), num('ANOM_LINK'), 'task'],
  [num('INTEGRITY_DATA'), num('INTEGRITY_RULE'), 'numeric'],
  [num('NETFILTER_CFG'), num('NETFILTER_CFG'), 'numeric'],
  [num('EVENT_LISTENER'), num('EVENT_LISTENER'), 'numeric'],
];

export interface TypeRule {
  readonly flags: number;
  readonly reader: Reader;
  /** ausearch closes its event after this record (audit_is_last_record, or EOE). */
  readonly closesPart: boolean;
}

const NO_RULE: TypeRule = { flags: 0, reader: 'none', closesPart: false };

/** Record type name → its rule; one Map lookup per record after the first sight of a name. */
export const typeRule: (type: string) => TypeRule = memoByTypeName((type) => {
  const n = recordTypeNumber(type);
  const closesPart = type === 'EOE' || isSingleRecordType(type);
  if (n === undefined) return closesPart ? { ...NO_RULE, closesPart } : NO_RULE;
  let flags = 0;
  for (const [from, to, flag] of FLAG_RANGES) if (n >= from && n <= to) flags |= flag;
  const reader = READER_RANGES.find(([from, to]) => n >= from && n <= to)?.[2] ?? 'none';
  return { flags, reader, closesPart };
});

/** What aureport knows of one of its events (one part of ours). Reused between parts: copy what you keep. */
export interface PartFacts {
  /** OR of the Flag bits of its records. */
  flags: number;
  /** SUCCESS_UNSET, FAILED, SUCCEEDED, or another res=N value. */
  success: number;
  /** The syscall number, -1 when there is none. Read only for a failed part (the one use of it): else -1. */
  syscall: number;
  /** The record the syscall number is read from. */
  syscallRecord: AuditRecord | undefined;
  /** The last exe= read, undefined when none. */
  exe: string | undefined;
  /** Every key= entry in record order, `(null)` included (aureport -k lists a part whose first entry is a key). */
  readonly keys: string[];
  /** Index of the part's first record in `event.records`, and one past its last. */
  from: number;
  to: number;
}

/** strtoul(3) of a res= value: its leading digits, 0 when there are none. */
function resNumber(raw: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

function unquote(raw: string): string {
  return raw.length >= 2 && raw.charCodeAt(0) === 0x22 ? raw.slice(1, -1) : raw;
}

/** key= value → its entries: quoted is one key; unquoted is hex of keys joined by 0x01, or `(null)`. */
function pushKeys(record: AuditRecord, keys: string[]): void {
  const raw = rawField(record, 'key');
  if (raw === undefined) return;
  if (raw.charCodeAt(0) === 0x22) {
    keys.push(raw.slice(1, -1));
    return;
  }
  const value = decodeValue(record.type, 'key', raw);
  if (!value.includes(KEY_SEPARATOR)) {
    keys.push(value);
    return;
  }
  for (const k of value.split(KEY_SEPARATOR)) if (k !== '') keys.push(k);
}

function readExe(record: AuditRecord, facts: PartFacts): void {
  const raw = rawField(record, 'exe');
  if (raw !== undefined) facts.exe = decodeValue(record.type, 'exe', raw);
}

/** Reads one record into the facts of its part, the way ausearch-parse.c does for its type. */
function readRecord(record: AuditRecord, reader: Reader, facts: PartFacts): void {
  switch (reader) {
    case 'none':
      return;
    case 'syscall': {
      // The number only matters for a failed part: read at its end (scanParts).
      facts.syscallRecord = record;
      // exit_group does not set success=: the part keeps what it had.
      const success = rawField(record, 'success');
      if (success !== undefined) facts.success = success === 'yes' ? SUCCEEDED : FAILED;
      readExe(record, facts);
      pushKeys(record, facts.keys);
      return;
    }
    case 'user': {
      readExe(record, facts);
      const res = rawField(record, 'res');
      if (res !== undefined) facts.success = unquote(res).startsWith('failed') ? FAILED : SUCCEEDED;
      else {
        const result = rawField(record, 'result');
        if (result !== undefined)
          facts.success = unquote(result).toLowerCase() === 'success' ? SUCCEEDED : FAILED;
      }
      return;
    }
    case 'login': {
      const res = rawField(record, 'res');
      facts.success = res === undefined ? SUCCEEDED : resNumber(res);
      return;
    }
    case 'daemon': {
      const res = rawField(record, 'res');
      if (res !== undefined) facts.success = unquote(res).startsWith('failed') ? FAILED : SUCCEEDED;
      return;
    }
    case 'config':
    case 'simple': {
      pushKeys(record, facts.keys);
      // CONFIG_CHANGE can only succeed unless it says otherwise (parse_simple_message's default).
      if (reader === 'config') facts.success = SUCCEEDED;
      const res = rawField(record, 'res');
      if (res !== undefined) facts.success = resNumber(res);
      return;
    }
    case 'avc': {
      const result = rawField(record, 'seresult');
      if (result !== undefined) facts.success = result === 'denied' ? FAILED : SUCCEEDED;
      return;
    }
    case 'anom':
    case 'task': {
      readExe(record, facts);
      if (record.type === 'SECCOMP') facts.syscallRecord = record;
      const res = rawField(record, 'res');
      if (res !== undefined) facts.success = resNumber(res);
      return;
    }
    case 'numeric': {
      const res = rawField(record, 'res');
      if (res !== undefined) facts.success = resNumber(res);
      return;
    }
  }
}

const scratch: PartFacts = {
  flags: 0,
  success: SUCCESS_UNSET,
  syscall: -1,
  syscallRecord: undefined,
  exe: undefined,
  keys: [],
  from: 0,
  to: 0,
};

function reset(facts: PartFacts, from: number): void {
  facts.flags = 0;
  facts.success = SUCCESS_UNSET;
  facts.syscall = -1;
  facts.syscallRecord = undefined;
  facts.exe = undefined;
  facts.keys.length = 0;
  facts.from = from;
  facts.to = from;
}

/**
 * Calls `visit` once per aureport event of `event` (once, unless a LOGIN-like record splits it), in order, with
 * what aureport extracts from it. The facts object is reused: `visit` must copy what it keeps.
 */
export function scanParts(event: AuditEvent, visit: (part: PartFacts) => void): void {
  const records = event.records;
  const facts = scratch;
  reset(facts, 0);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const rule = typeRule(record.type);
    facts.flags |= rule.flags;
    readRecord(record, rule.reader, facts);
    if (rule.closesPart && i < records.length - 1) {
      facts.to = i + 1;
      finish(facts);
      visit(facts);
      reset(facts, i + 1);
    }
  }
  facts.to = records.length;
  finish(facts);
  visit(facts);
}

function finish(facts: PartFacts): void {
  if (facts.success !== FAILED || facts.syscallRecord === undefined) return;
  const nr = rawField(facts.syscallRecord, 'syscall');
  if (nr !== undefined) facts.syscall = resNumber(nr);
}
