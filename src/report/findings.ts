/**
 * Findings: the events a reviewer must look at, one CSV per kind, each row one event (one row of events.csv).
 * Which records count follows aureport (audit 3.0.9) and its record-type tests (aureport-rules.ts):
 *
 * | kind            | an event is one when one of its aureport events …                  | aureport report        |
 * |-----------------|--------------------------------------------------------------------|------------------------|
 * | auth-failures   | failed, and has USER_AUTH, USER_LOGIN, USER_ACCT or GRP_AUTH        | -au and -l "no" lines  |
 * | logins          | succeeded, and has USER_LOGIN                                      | -l "yes" lines         |
 * | privilege       | has USER_CMD (sudo's command) or USER_ROLE_CHANGE; or has          | – (none)               |
 * |                 | USER_START, or a failed USER_AUTH, written by su or ksu             |                        |
 * | account-changes | has USER_CHAUTHTOK, ADD_USER..DEL_GROUP, USER_MGMT, GRP_MGMT,       | -m (+ CHGRP_ID,        |
 * |                 | ROLE_ASSIGN..ROLE_REMOVE, CHGRP_ID or GRP_CHAUTHTOK                 | GRP_CHAUTHTOK)         |
 * | watched-files   | its first key= entry is a rule key, not (null)                     | -k                     |
 * | audit-config    | has CONFIG_CHANGE, DAEMON_CONFIG, USYS_CONFIG, NETFILTER_CFG,       | the "changes in        |
 * |                 | FEATURE_CHANGE, USER_MAC_CONFIG_CHANGE or MAC_POLICY_LOAD..         | configuration" (-c),   |
 * |                 | MAC_UNLBL_STCDEL; or DAEMON_START/END/ABORT/ROTATE/RESUME/ERR       | + auditd's own events  |
 * | mac-denials     | has AVC or USER_AVC and was denied; or has APPARMOR_DENIED          | -a, denials only       |
 * | anomalies       | has a record numbered 1700–1799 or 2100–2199 (ANOM_*)               | -n                     |
 *
 * "failed" / "succeeded" is aureport's success of that event: the last success= / res= its records set.
 * Deliberate differences from aureport: -au also lists a failed USER_MGMT (a failed account change, which is in
 * account-changes here) and no longer lists a failed USER_ACCT (PAM refusing an account, e.g. expired or not
 * allowed from that address), which is an authentication failure here.
 *
 * Every row starts with the fields alert rules test (FINDING_BASE_COLUMNS: host, time, account, address, key,
 * result, …; the kind is the file and `Finding.kind`), so that "more than N failed logins from one address",
 * "any change to key sudoers" or "any login as root" are filters over rows. `account` is, by kind: the account
 * tried (auth-failures), the account logged in (logins), the user behind the privilege use (privilege: the login
 * uid), the account or group changed (account-changes), the login user (auid) otherwise.
 */
import { decodeValue } from '../parse/interpret/fields.js';
import { mapId } from '../parse/interpret/ids.js';
import { enrichedField, rawField } from '../parse/tokenize.js';
import type { AccountMaps, AuditRecord, EventRow, ParsedEvent } from '../types.js';
import {
  ACCOUNT_CHANGE_FLAGS,
  CONFIG_CHANGE_FLAGS,
  FAILED,
  Flag,
  type PartFacts,
  SUCCEEDED,
  scanParts,
  typeRule,
} from './aureport-rules.js';

export const FINDING_KINDS = [
  'auth-failures',
  'logins',
  'privilege',
  'account-changes',
  'watched-files',
  'audit-config',
  'mac-denials',
  'anomalies',
] as const;

export type FindingKind = (typeof FINDING_KINDS)[number];

export const FINDING_FILES: Record<FindingKind, string> = {
  'auth-failures': 'findings-auth-failures.csv',
  logins: 'findings-logins.csv',
  privilege: 'findings-privilege.csv',
  'account-changes': 'findings-account-changes.csv',
  'watched-files': 'findings-watched-files.csv',
  'audit-config': 'findings-audit-config.csv',
  'mac-denials': 'findings-mac-denials.csv',
  anomalies: 'findings-anomalies.csv',
};

/** The columns every finding has, first, in this order: what alert rules test. */
export const FINDING_BASE_COLUMNS = [
  'host',
  'node',
  'time',
  'serial',
  'event_type',
  'result',
  'account',
  'address',
  'key',
] as const;

/** The file and line of the record the row describes, last in every file. */
const SOURCE_COLUMNS = ['source_file', 'source_line'] as const;

export const FINDING_COLUMNS: Record<FindingKind, readonly string[]> = {
  'auth-failures': [
    ...FINDING_BASE_COLUMNS,
    'hostname',
    'terminal',
    'exe',
    'op',
    'auid',
    'uid',
    ...SOURCE_COLUMNS,
  ],
  logins: [...FINDING_BASE_COLUMNS, 'hostname', 'terminal', 'exe', 'session', 'uid', ...SOURCE_COLUMNS],
  privilege: [
    ...FINDING_BASE_COLUMNS,
    'target',
    'command',
    'cwd',
    'terminal',
    'exe',
    'uid',
    'session',
    ...SOURCE_COLUMNS,
  ],
  'account-changes': [
    ...FINDING_BASE_COLUMNS,
    'op',
    'auid',
    'hostname',
    'terminal',
    'exe',
    ...SOURCE_COLUMNS,
  ],
  'watched-files': [
    ...FINDING_BASE_COLUMNS,
    'syscall',
    'object',
    'exit',
    'exe',
    'command',
    'uid',
    'euid',
    ...SOURCE_COLUMNS,
  ],
  'audit-config': [...FINDING_BASE_COLUMNS, 'op', 'object', 'exe', 'command', ...SOURCE_COLUMNS],
  'mac-denials': [
    ...FINDING_BASE_COLUMNS,
    'subject',
    'permission',
    'object',
    'class',
    'exe',
    'comm',
    ...SOURCE_COLUMNS,
  ],
  anomalies: [...FINDING_BASE_COLUMNS, 'object', 'exe', 'command', 'uid', ...SOURCE_COLUMNS],
};

/** One finding row: the columns of FINDING_COLUMNS[kind], all strings ('' when unknown). */
export type FindingRow = Record<string, string>;

export interface Finding {
  readonly kind: FindingKind;
  readonly row: FindingRow;
}

/** Programs that switch user after authenticating the caller: their sessions and failed attempts are privilege use. */
const SWITCH_USER_PROGRAMS = new Set(['su', 'ksu']);

const AUTH_FLAGS = Flag.userAuth | Flag.userAcct | Flag.grpAuth | Flag.userLogin;
const ACCOUNT_FLAGS = ACCOUNT_CHANGE_FLAGS.reduce((a, b) => a | b, Flag.otherAccountChange);
const CONFIG_FLAGS = CONFIG_CHANGE_FLAGS.reduce((a, b) => a | b, Flag.daemonLifecycle);
const ANOMALY_FLAGS = Flag.anomUser | Flag.anomKernel;
const PRIVILEGE_FLAGS = Flag.userCmd | Flag.roleChange | Flag.userStart | Flag.userAuth;
const MAC_FLAGS = Flag.avc | Flag.apparmorDenied;

function basename(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/** Whether an aureport event `part` is a finding of `kind` (the table at the top of this file). */
function qualifies(kind: FindingKind, p: PartFacts): boolean {
  const f = p.flags;
  const failed = p.success === FAILED;
  switch (kind) {
    case 'auth-failures':
      if (!failed) return false;
      // aureport -au lists USER_AUTH, -l USER_LOGIN; a failed PAM account check (USER_ACCT) or group password
      // (GRP_AUTH) is as much a failure. aureport's other -au entry, a failed USER_MGMT, is an account change.
      return (f & AUTH_FLAGS) !== 0;
    case 'logins':
      return (f & Flag.userLogin) !== 0 && p.success === SUCCEEDED;
    case 'privilege':
      if ((f & (Flag.userCmd | Flag.roleChange)) !== 0) return true;
      if ((f & Flag.userStart) === 0 && !((f & Flag.userAuth) !== 0 && failed)) return false;
      return p.exe !== undefined && SWITCH_USER_PROGRAMS.has(basename(p.exe));
    case 'account-changes':
      return (f & ACCOUNT_FLAGS) !== 0;
    case 'watched-files':
      return p.keys.length > 0 && p.keys[0] !== '(null)';
    case 'audit-config':
      return (f & CONFIG_FLAGS) !== 0;
    case 'mac-denials':
      return (f & Flag.apparmorDenied) !== 0 || ((f & Flag.avc) !== 0 && failed);
    case 'anomalies':
      return (f & ANOMALY_FLAGS) !== 0;
  }
}

/** The record types that make a part a finding of each kind: the record the row describes is the first of them. */
const LEAD_FLAGS: Record<FindingKind, number> = {
  'auth-failures': AUTH_FLAGS,
  logins: Flag.userLogin,
  privilege: PRIVILEGE_FLAGS,
  'account-changes': ACCOUNT_FLAGS,
  'watched-files': 0,
  'audit-config': CONFIG_FLAGS,
  'mac-denials': MAC_FLAGS,
  anomalies: ANOMALY_FLAGS,
};

/** Flags of record types that can make a part any finding at all: a part without them and without keys is none. */
const ANY_FINDING_FLAGS =
  AUTH_FLAGS | PRIVILEGE_FLAGS | ACCOUNT_FLAGS | CONFIG_FLAGS | MAC_FLAGS | ANOMALY_FLAGS;

/** A part that is a finding, copied out of the reused PartFacts. */
interface Hit {
  readonly kind: FindingKind;
  readonly success: number;
  readonly exe: string | undefined;
  readonly keys: string;
  readonly from: number;
  readonly to: number;
}

let hits: Hit[] = [];

/** The keys of a part as events.csv writes them: joined by ',', `(null)` left out. */
function joinKeys(keys: readonly string[]): string {
  if (keys.length === 1) return keys[0] === '(null)' ? '' : keys[0]!;
  return keys.filter((k) => k !== '(null)').join(',');
}

function collect(p: PartFacts): void {
  // Nearly every event: no record type of interest, and no rule key (key=(null)).
  if ((p.flags & ANY_FINDING_FLAGS) === 0 && (p.keys.length === 0 || p.keys[0] === '(null)')) return;
  for (const kind of FINDING_KINDS) {
    if (!qualifies(kind, p) || hits.some((h) => h.kind === kind)) continue;
    hits.push({
      kind,
      success: p.success,
      exe: p.exe,
      keys: joinKeys(p.keys),
      from: p.from,
      to: p.to,
    });
  }
}

/** Another visitor of the same walk over the parts (classifyFindings' `alsoVisit`). */
let also: ((part: PartFacts) => void) | undefined;

function collectAlso(p: PartFacts): void {
  also!(p);
  collect(p);
}

/** A value that says something: not missing, empty, '?' or '(none)'. */
function meaningful(v: string | undefined): v is string {
  return v !== undefined && v !== '' && v !== '?' && v !== '(none)';
}

/** A body field of `record`, decoded (hex, quotes), '' when missing or meaningless. */
function field(record: AuditRecord, name: string): string {
  const raw = rawField(record, name);
  if (raw === undefined) return '';
  const v = decodeValue(record.type, name, raw);
  return meaningful(v) ? v : '';
}

function resultWord(success: number): string {
  return success === SUCCEEDED ? 'success' : success === FAILED ? 'failed' : '';
}

/** The record the finding describes: the first of the part with a type of the kind, else the part's first. */
function leadRecord(records: readonly AuditRecord[], hit: Hit): AuditRecord {
  const want = LEAD_FLAGS[hit.kind];
  if (want !== 0) {
    for (let i = hit.from; i < hit.to; i++) {
      const r = records[i]!;
      if ((typeRule(r.type).flags & want) !== 0) return r;
    }
  }
  return records[hit.from]!;
}

/** The account or group an account-management record names by id= (useradd, usermod, groupadd write no acct=). */
function accountById(lead: AuditRecord, accounts: AccountMaps | undefined): string {
  const named = enrichedField(lead, 'ID');
  if (named !== undefined) return named;
  const id = rawField(lead, 'id');
  if (id === undefined) return '';
  const group = lead.type.includes('GROUP') || lead.type.startsWith('GRP_');
  return mapId(id, group ? 'group' : 'user', accounts);
}

function findingRow(
  hit: Hit,
  lead: AuditRecord,
  row: EventRow,
  accounts: AccountMaps | undefined,
): FindingRow {
  // The row's addr/hostname/terminal are the event's first meaningful ones: those of the lead record for the
  // single-record user-space events that carry them. Only what a kind needs is read from the lead record.
  const r: FindingRow = {
    host: row.host,
    node: row.node,
    time: row.time,
    serial: row.serial,
    event_type: lead.type,
    result: resultWord(hit.success),
    account: row.auid,
    address: row.addr || row.hostname,
    key: hit.keys,
  };
  const exe = hit.exe ?? row.exe;
  switch (hit.kind) {
    case 'auth-failures':
      // aureport -au names the account tried (acct=), or the uid when there is none.
      r.account = field(lead, 'acct') || row.uid;
      r.hostname = row.hostname;
      r.terminal = row.terminal;
      r.exe = exe;
      r.op = field(lead, 'op');
      r.auid = row.auid;
      r.uid = row.uid;
      break;
    case 'logins':
      // The login uid is the account that logged in (USER_LOGIN success has id=, not acct=).
      r.hostname = row.hostname;
      r.terminal = row.terminal;
      r.exe = exe;
      r.session = row.session;
      r.uid = row.uid;
      break;
    case 'privilege':
      r.account = row.auid === 'unset' ? row.uid : row.auid;
      r.target = field(lead, 'acct');
      r.command = field(lead, 'cmd');
      r.cwd = field(lead, 'cwd') || row.cwd;
      r.terminal = row.terminal;
      r.exe = exe;
      r.uid = row.uid;
      r.session = row.session;
      break;
    case 'account-changes':
      // acct= when the tool wrote it, else its id=, named (ENRICHED name, else the host's account maps).
      r.account = field(lead, 'acct') || accountById(lead, accounts);
      r.op = field(lead, 'op');
      r.auid = row.auid;
      r.hostname = row.hostname;
      r.terminal = row.terminal;
      r.exe = exe;
      break;
    case 'watched-files':
      r.syscall = row.syscall;
      r.object = row.obj_prime;
      r.exit = row.exit;
      r.exe = exe;
      r.command = row.command;
      r.uid = row.uid;
      r.euid = row.euid;
      break;
    case 'audit-config':
      r.op = field(lead, 'op');
      r.object = row.obj_prime;
      r.exe = exe;
      r.command = row.command;
      break;
    case 'mac-denials':
      r.subject = field(lead, 'scontext') || field(lead, 'profile');
      r.permission = field(lead, 'seperms') || field(lead, 'denied_mask') || field(lead, 'operation');
      r.object = field(lead, 'tcontext') || field(lead, 'name') || row.obj_prime;
      r.class = field(lead, 'tclass');
      r.exe = exe;
      r.comm = row.comm;
      break;
    case 'anomalies':
      r.object = row.obj_prime;
      r.exe = exe;
      r.command = row.command;
      r.uid = row.uid;
      break;
  }
  r.source_file = lead.file;
  r.source_line = String(lead.line);
  return r;
}

/**
 * The findings of one parsed event: for each kind it is one of, the row for that kind's CSV (at most one per
 * kind). Pure; most events are none, at the cost of a walk over their records' types and a few field reads.
 * `accounts` (the host's, for RAW logs) names the account of an account change logged by id only. `alsoVisit`
 * sees every part of the same walk (SummaryAccumulator.visitPart), so that one walk serves both.
 */
export function classifyFindings(
  parsed: ParsedEvent,
  accounts?: AccountMaps,
  alsoVisit?: (part: PartFacts) => void,
): Finding[] {
  const { event, row } = parsed;
  hits = [];
  if (alsoVisit === undefined) {
    scanParts(event, collect);
  } else {
    also = alsoVisit;
    try {
      scanParts(event, collectAlso);
    } finally {
      also = undefined;
    }
  }
  if (hits.length === 0) return [];
  const found = hits;
  hits = [];
  return found.map((hit) => ({
    kind: hit.kind,
    row: findingRow(hit, leadRecord(event.records, hit), row, accounts),
  }));
}

/**
 * Order of rows within a findings CSV: (host, time, serial). The parser emits one host's events in (time, serial)
 * order already, so a writer only has to keep hosts apart (e.g. one spool per host, concatenated by host name).
 */
export function compareFindingRows(a: FindingRow, b: FindingRow): number {
  const ha = a.host ?? '';
  const hb = b.host ?? '';
  if (ha !== hb) return ha < hb ? -1 : 1;
  const ta = a.time ?? '';
  const tb = b.time ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return Number(a.serial) - Number(b.serial);
}

export interface TopEntry {
  readonly value: string;
  /** Occurrences counted; exact unless `maxOvercount` > 0. */
  readonly count: number;
  /** How much `count` may exceed the true count (0: exact). */
  readonly maxOvercount: number;
}

/**
 * Most frequent values of a stream in bounded memory: exact counts while there are at most `capacity` distinct
 * values, the Space-Saving sketch beyond (Metwally, Agrawal, El Abbadi 2005): a new value replaces the least
 * counted one and inherits its count, which is remembered as the possible overcount. Every value seen more than
 * total/capacity times is kept, and the top of the list is right for any skewed stream (a few addresses doing
 * most of the failed logins). A min-heap finds the least counted value in O(log capacity).
 */
export class TopN {
  private readonly values: string[] = [];
  private readonly counts: number[] = [];
  private readonly overcounts: number[] = [];
  private readonly position = new Map<string, number>();
  private evicted = false;
  private seen = 0;

  constructor(readonly capacity = 1000) {
    if (!(capacity >= 1)) throw new RangeError('TopN capacity must be at least 1');
  }

  /** Number of occurrences added. */
  get total(): number {
    return this.seen;
  }

  /** Whether every count is exact (never more than `capacity` distinct values). */
  get exact(): boolean {
    return !this.evicted;
  }

  add(value: string, weight = 1): void {
    this.seen += weight;
    this.count(value, weight, 0);
  }

  /**
   * Adds every value `other` counted, with its count and possible overcount (Space-Saving summaries merge: counts
   * and overcounts add up, so each count stays an upper bound and count − overcount a lower bound).
   */
  merge(other: TopN): void {
    this.seen += other.seen;
    if (other.evicted) this.evicted = true;
    for (let i = 0; i < other.values.length; i++) {
      this.count(other.values[i]!, other.counts[i]!, other.overcounts[i]!);
    }
  }

  private count(value: string, weight: number, overcount: number): void {
    const at = this.position.get(value);
    if (at !== undefined) {
      this.counts[at]! += weight;
      this.overcounts[at]! += overcount;
      this.down(at);
      return;
    }
    if (this.values.length < this.capacity) {
      this.values.push(value);
      this.counts.push(weight);
      this.overcounts.push(overcount);
      this.position.set(value, this.values.length - 1);
      this.up(this.values.length - 1);
      return;
    }
    // Space-Saving: the least counted value makes room, its count is the new value's possible overcount.
    this.evicted = true;
    const min = this.counts[0]!;
    this.position.delete(this.values[0]!);
    this.values[0] = value;
    this.counts[0] = min + weight;
    this.overcounts[0] = min + overcount;
    this.position.set(value, 0);
    this.down(0);
  }

  /** The `n` most counted values, by count (descending) then value. */
  top(n: number): TopEntry[] {
    const entries = this.values.map((value, i) => ({
      value,
      count: this.counts[i]!,
      maxOvercount: this.overcounts[i]!,
    }));
    entries.sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return entries.slice(0, Math.max(0, n));
  }

  private less(i: number, j: number): boolean {
    return this.counts[i]! < this.counts[j]!;
  }

  private swap(i: number, j: number): void {
    const v = this.values;
    const c = this.counts;
    const o = this.overcounts;
    [v[i], v[j]] = [v[j]!, v[i]!];
    [c[i], c[j]] = [c[j]!, c[i]!];
    [o[i], o[j]] = [o[j]!, o[i]!];
    this.position.set(v[i]!, i);
    this.position.set(v[j]!, j);
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.values.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let least = i;
      if (l < n && this.less(l, least)) least = l;
      if (r < n && this.less(r, least)) least = r;
      if (least === i) return;
      this.swap(i, least);
      i = least;
    }
  }
}

/** Columns of the top lists of authentication failures (findings-auth-failures-top.csv). */
export const AUTH_FAILURE_TOP_COLUMNS = [
  'host',
  'dimension',
  'rank',
  'value',
  'failures',
  'max_overcount',
] as const;

export type AuthFailureTopRow = Record<(typeof AUTH_FAILURE_TOP_COLUMNS)[number], string>;

export const AUTH_FAILURE_TOP_FILE = 'findings-auth-failures-top.csv';

export interface AuthFailureTopsOptions {
  /** Distinct values counted exactly per host and dimension (TopN capacity); default 1000. */
  readonly perHost?: number | undefined;
  /** The same for the fleet; default 10000. */
  readonly fleet?: number | undefined;
}

interface HostTops {
  readonly address: TopN;
  readonly account: TopN;
}

/**
 * The top source addresses and targeted accounts of authentication and login failures, per host and for the
 * fleet (`(all)`). Fed with the auth-failures findings; memory is bounded by the TopN capacities.
 */
export class AuthFailureTops {
  private readonly hosts = new Map<string, HostTops>();
  private readonly fleetTops: HostTops;
  private readonly perHost: number;

  constructor(options: AuthFailureTopsOptions = {}) {
    this.perHost = options.perHost ?? 1000;
    const fleet = options.fleet ?? 10_000;
    this.fleetTops = { address: new TopN(fleet), account: new TopN(fleet) };
  }

  /** Counts a finding if it is an auth failure; an empty address or account is not counted in that list. */
  add(finding: Finding): void {
    if (finding.kind !== 'auth-failures') return;
    this.count(finding.row.host ?? '', finding.row.address ?? '', finding.row.account ?? '');
  }

  /**
   * Counts `host`'s auth failures given as [address, account, address, account, …] in the order of their
   * findings (a row worker's batch): the same as `add` of each, one by one (a sketch's counts depend on the order).
   */
  addPairs(host: string, pairs: readonly string[]): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.count(host, pairs[i]!, pairs[i + 1]!);
  }

  private count(host: string, address: string, account: string): void {
    let tops = this.hosts.get(host);
    if (tops === undefined) {
      tops = { address: new TopN(this.perHost), account: new TopN(this.perHost) };
      this.hosts.set(host, tops);
    }
    if (address !== '') {
      tops.address.add(address);
      this.fleetTops.address.add(address);
    }
    if (account !== '') {
      tops.account.add(account);
      this.fleetTops.account.add(account);
    }
  }

  /**
   * Adds everything `other` counted (its hosts and its fleet lists), so that a host's failures can be counted on
   * their own while it is collected and joined to the run only once it did not fail. `other` must not be used
   * afterwards: its per-host lists may be adopted as they are.
   */
  merge(other: AuthFailureTops): void {
    for (const [host, tops] of other.hosts) {
      const mine = this.hosts.get(host);
      if (mine === undefined) {
        this.hosts.set(host, tops);
        continue;
      }
      mine.address.merge(tops.address);
      mine.account.merge(tops.account);
    }
    this.fleetTops.address.merge(other.fleetTops.address);
    this.fleetTops.account.merge(other.fleetTops.account);
  }

  /** The top `n` addresses then accounts of each host (sorted by name), then of the fleet. */
  rows(n = 10): AuthFailureTopRow[] {
    const rows: AuthFailureTopRow[] = [];
    const emit = (host: string, tops: HostTops): void => {
      for (const dimension of ['address', 'account'] as const) {
        tops[dimension].top(n).forEach((e, i) => {
          rows.push({
            host,
            dimension,
            rank: String(i + 1),
            value: e.value,
            failures: String(e.count),
            max_overcount: String(e.maxOvercount),
          });
        });
      }
    };
    const names = [...this.hosts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) emit(name, this.hosts.get(name)!);
    emit('(all)', this.fleetTops);
    return rows;
  }
}
