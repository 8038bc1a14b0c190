/**
 * summary.csv: one row per host and a fleet row (`host` = `(all)`) with the totals a reviewer asks for first, each
 * with the meaning of the same line of `aureport --summary` (audit 3.0.9) on the same events.
 *
 * Built in the parse pass itself: `add` is called with every event as it comes out of the parser, costs a walk
 * over the event's records (a table lookup per record, a few field reads for SYSCALL and user-space records) and
 * keeps only counters and two sets of distinct values per host. (aureport keeps its distinct values, process ids
 * and file names included, in linked lists it searches linearly for every event: its cost grows faster than its
 * input.)
 *
 * | column                 | aureport --summary line                           |
 * |------------------------|---------------------------------------------------|
 * | first_event/last_event | Range of time in logs (ours: earliest / latest)   |
 * | events                 | Number of events (ours: one per auditd event)     |
 * | config_changes         | Number of changes in configuration                |
 * | account_changes        | Number of changes to accounts, groups, or roles   |
 * | logins, failed_logins  | Number of logins / failed logins                  |
 * | authentications, …     | Number of authentications / failed …              |
 * | failed_syscalls        | Number of failed syscalls                         |
 * | anomalies              | Number of anomaly events                          |
 * | mac_events, avcs       | Number of MAC events / Number of AVC's            |
 * | executables, keys      | Number of executables / keys (distinct values)    |
 * | failed_events          | Number of events of `aureport --summary --failed` |
 *
 * aureport counts ausearch's events, which cut a kernel LOGIN record off its SYSCALL: there each part is counted as
 * aureport counts it, but `events` and `failed_events` count our events (rows of events.csv), one per auditd event.
 */
import type { AuditEvent, ParsedEvent } from '../types.js';
import {
  ACCOUNT_CHANGE_FLAGS,
  CONFIG_CHANGE_FLAGS,
  FAILED,
  Flag,
  type PartFacts,
  SUCCEEDED,
  scanParts,
} from './aureport-rules.js';

export const SUMMARY_COLUMNS = [
  'host',
  'first_event',
  'last_event',
  'events',
  'logins',
  'failed_logins',
  'authentications',
  'failed_authentications',
  'account_changes',
  'config_changes',
  'failed_syscalls',
  'anomalies',
  'mac_events',
  'avcs',
  'executables',
  'keys',
  'failed_events',
] as const;

export type SummaryColumn = (typeof SUMMARY_COLUMNS)[number];
export type SummaryRow = Record<SummaryColumn, string>;

/** `host` of the fleet-total row. */
export const FLEET_HOST = '(all)';

/**
 * Distinct values kept per host and for the fleet before a count stops being exact. Executables and keys are few
 * (tens to hundreds on a real host); the cap only bounds memory against a hostile or broken log.
 */
export const DEFAULT_DISTINCT_CAP = 100_000;

/** A count of distinct strings that stops growing at `cap` and then says so (`≥cap`). */
class DistinctCount {
  private readonly seen = new Set<string>();
  private capped = false;

  constructor(private readonly cap: number) {}

  /** Adds `value`; true when it was new (and kept). */
  add(value: string): boolean {
    if (this.seen.has(value)) return false;
    if (this.seen.size >= this.cap) {
      this.capped = true;
      return false;
    }
    this.seen.add(value);
    return true;
  }

  /** Adds every value of `other`. */
  merge(other: DistinctCount): void {
    for (const v of other.seen) this.add(v);
    if (other.capped) this.capped = true;
  }

  /** The values kept, in the order they were first added. */
  values(): string[] {
    return [...this.seen];
  }

  /** Whether values were left out. */
  get isCapped(): boolean {
    return this.capped;
  }

  /** Says that values were left out elsewhere (a host's set, whose values the fleet set never saw). */
  markCapped(): void {
    this.capped = true;
  }

  format(): string {
    return this.capped ? `≥${this.seen.size}` : String(this.seen.size);
  }
}

class Totals {
  /** Earliest and latest event time, epoch ms (NaN before the first event). */
  first = Number.NaN;
  last = Number.NaN;
  events = 0;
  logins = 0;
  failedLogins = 0;
  authentications = 0;
  failedAuthentications = 0;
  accountChanges = 0;
  configChanges = 0;
  failedSyscalls = 0;
  anomalies = 0;
  macEvents = 0;
  avcs = 0;
  failedEvents = 0;
  readonly executables: DistinctCount;
  readonly keys: DistinctCount;

  constructor(cap: number) {
    this.executables = new DistinctCount(cap);
    this.keys = new DistinctCount(cap);
  }

  time(t: number): void {
    if (!(t >= this.first)) this.first = t;
    if (!(t <= this.last)) this.last = t;
  }

  /** The counters (not the times or the distinct sets), in a fixed order: a SummaryDelta's `counts`. */
  counts(): number[] {
    return [
      this.events,
      this.logins,
      this.failedLogins,
      this.authentications,
      this.failedAuthentications,
      this.accountChanges,
      this.configChanges,
      this.failedSyscalls,
      this.anomalies,
      this.macEvents,
      this.avcs,
      this.failedEvents,
    ];
  }

  /** Adds counters given in the order of `counts()`. */
  addCounts(c: readonly number[]): void {
    this.events += c[0] ?? 0;
    this.logins += c[1] ?? 0;
    this.failedLogins += c[2] ?? 0;
    this.authentications += c[3] ?? 0;
    this.failedAuthentications += c[4] ?? 0;
    this.accountChanges += c[5] ?? 0;
    this.configChanges += c[6] ?? 0;
    this.failedSyscalls += c[7] ?? 0;
    this.anomalies += c[8] ?? 0;
    this.macEvents += c[9] ?? 0;
    this.avcs += c[10] ?? 0;
    this.failedEvents += c[11] ?? 0;
  }

  /** Adds the counters (not the distinct sets) of `other`. */
  sum(other: Totals): void {
    if (!Number.isNaN(other.first)) {
      this.time(other.first);
      this.time(other.last);
    }
    this.events += other.events;
    this.logins += other.logins;
    this.failedLogins += other.failedLogins;
    this.authentications += other.authentications;
    this.failedAuthentications += other.failedAuthentications;
    this.accountChanges += other.accountChanges;
    this.configChanges += other.configChanges;
    this.failedSyscalls += other.failedSyscalls;
    this.anomalies += other.anomalies;
    this.macEvents += other.macEvents;
    this.avcs += other.avcs;
    this.failedEvents += other.failedEvents;
  }

  row(host: string): SummaryRow {
    const iso = (t: number): string => (Number.isNaN(t) ? '' : new Date(t).toISOString());
    return {
      host,
      first_event: iso(this.first),
      last_event: iso(this.last),
      events: String(this.events),
      logins: String(this.logins),
      failed_logins: String(this.failedLogins),
      authentications: String(this.authentications),
      failed_authentications: String(this.failedAuthentications),
      account_changes: String(this.accountChanges),
      config_changes: String(this.configChanges),
      failed_syscalls: String(this.failedSyscalls),
      anomalies: String(this.anomalies),
      mac_events: String(this.macEvents),
      avcs: String(this.avcs),
      executables: this.executables.format(),
      keys: this.keys.format(),
      failed_events: String(this.failedEvents),
    };
  }
}

/** 1 when `flags` has `flag`, else 0: aureport adds one per test that matches. */
function has(flags: number, flag: number): number {
  return (flags & flag) === 0 ? 0 : 1;
}

/**
 * What a batch of one host's events adds to summary.csv (SummaryAccumulator.delta, addDelta): plain data, so that
 * it crosses threads. The distinct values are all the batch's, in the order they were first seen.
 */
export interface SummaryDelta {
  /** The counters, in the order of Totals.counts(). */
  readonly counts: readonly number[];
  /** Earliest and latest event time, epoch ms (NaN without events). */
  readonly first: number;
  readonly last: number;
  readonly executables: readonly string[];
  readonly keys: readonly string[];
}

export interface SummaryOptions {
  /** Distinct executables / keys kept per host and for the fleet (DEFAULT_DISTINCT_CAP). */
  readonly distinctCap?: number | undefined;
}

/**
 * Accumulates summary.csv while events stream by: `add(host, parsed)` per event (any host order, hosts may
 * interleave), `rows()` at the end. Memory: a few counters and the distinct executables and keys per host.
 */
export class SummaryAccumulator {
  private readonly hosts = new Map<string, Totals>();
  private readonly fleetExecutables: DistinctCount;
  private readonly fleetKeys: DistinctCount;
  private readonly cap: number;
  /** The host of the previous event and its totals: events of one host come in long runs. */
  private lastHost: string | undefined;
  private current: Totals | undefined;
  private eventFailed = false;
  /**
   * Counts one aureport part of the event begun with {@link startEvent}: for a caller that walks the parts itself
   * (scanParts), to share the walk with classifyFindings.
   */
  readonly visitPart = (part: PartFacts): void => this.countPart(part);

  constructor(options: SummaryOptions = {}) {
    this.cap = options.distinctCap ?? DEFAULT_DISTINCT_CAP;
    this.fleetExecutables = new DistinctCount(this.cap);
    this.fleetKeys = new DistinctCount(this.cap);
  }

  /** Makes sure `host` has a row, with zero counts if none of its events is added (an empty window, a failed host). */
  addHost(host: string): void {
    this.totals(host);
  }

  /** Counts one parsed event of `host`. Reads only `parsed.event`. */
  add(host: string, parsed: ParsedEvent): void {
    this.addEvent(host, parsed.event);
  }

  /** Counts one event of `host` (for callers that build rows elsewhere, e.g. on worker threads). */
  addEvent(host: string, event: AuditEvent): void {
    this.startEvent(host, event);
    scanParts(event, this.visitPart);
    this.endEvent();
  }

  /** Begins counting one event of `host` whose parts the caller hands to {@link visitPart}, then {@link endEvent}. */
  startEvent(host: string, event: AuditEvent): void {
    const totals = this.totals(host);
    this.current = totals;
    totals.events++;
    totals.time(event.sec * 1000 + event.ms);
    this.eventFailed = false;
  }

  /** Ends the event begun with {@link startEvent}. */
  endEvent(): void {
    if (this.eventFailed) this.current!.failedEvents++;
  }

  /**
   * Adds everything `other` counted (its hosts' counters and distinct values, and the fleet's), so that a host can
   * be counted on its own while it is collected and joined to the run only once it did not fail. `other` must not
   * be used afterwards: its per-host totals may be adopted as they are.
   */
  merge(other: SummaryAccumulator): void {
    for (const [host, totals] of other.hosts) {
      const mine = this.hosts.get(host);
      if (mine === undefined) {
        this.hosts.set(host, totals);
        continue;
      }
      mine.sum(totals);
      mine.executables.merge(totals.executables);
      mine.keys.merge(totals.keys);
    }
    this.fleetExecutables.merge(other.fleetExecutables);
    this.fleetKeys.merge(other.fleetKeys);
    this.lastHost = undefined;
    this.current = undefined;
  }

  /**
   * What was counted of `host`, as a delta for {@link addDelta} (undefined when nothing was). Made on a row worker
   * by an accumulator of one batch, with a cap of Infinity: the cap is applied where the delta is added.
   */
  delta(host: string): SummaryDelta | undefined {
    const t = this.hosts.get(host);
    if (t === undefined) return undefined;
    return {
      counts: t.counts(),
      first: t.first,
      last: t.last,
      executables: t.executables.values(),
      keys: t.keys.values(),
    };
  }

  /**
   * Adds a batch's delta to `host`'s counts. Deltas added in the order of their events count exactly what `add`
   * counts event by event, the distinct caps included: a value joins the fleet's set when it is new to the host's.
   */
  addDelta(host: string, delta: SummaryDelta): void {
    const totals = this.totals(host);
    totals.addCounts(delta.counts);
    if (!Number.isNaN(delta.first)) {
      totals.time(delta.first);
      totals.time(delta.last);
    }
    for (const exe of delta.executables) if (totals.executables.add(exe)) this.fleetExecutables.add(exe);
    for (const key of delta.keys) if (totals.keys.add(key)) this.fleetKeys.add(key);
  }

  /** One row per host, sorted by host name, then the fleet row `(all)`. */
  rows(): SummaryRow[] {
    const names = [...this.hosts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const fleet = new Totals(this.cap);
    const rows: SummaryRow[] = [];
    for (const name of names) {
      const totals = this.hosts.get(name)!;
      fleet.sum(totals);
      rows.push(totals.row(name));
      if (totals.executables.isCapped) fleet.executables.markCapped();
      if (totals.keys.isCapped) fleet.keys.markCapped();
    }
    fleet.executables.merge(this.fleetExecutables);
    fleet.keys.merge(this.fleetKeys);
    rows.push(fleet.row(FLEET_HOST));
    return rows;
  }

  private totals(host: string): Totals {
    if (host === this.lastHost && this.current !== undefined) return this.current;
    let totals = this.hosts.get(host);
    if (totals === undefined) {
      totals = new Totals(this.cap);
      this.hosts.set(host, totals);
    }
    this.lastHost = host;
    this.current = totals;
    return totals;
  }

  /** aureport-scan.c do_summary_total, for one aureport event. */
  private countPart(part: PartFacts): void {
    const t = this.current!;
    const f = part.flags;
    const ok = part.success === SUCCEEDED;
    const failed = part.success === FAILED;
    if (failed) this.eventFailed = true;
    if (f !== 0) {
      for (const flag of CONFIG_CHANGE_FLAGS) t.configChanges += has(f, flag);
      for (const flag of ACCOUNT_CHANGE_FLAGS) t.accountChanges += has(f, flag);
      if (f & Flag.userLogin) {
        if (ok) t.logins++;
        else if (failed) t.failedLogins++;
      }
      // One authentication per event: USER_AUTH, else a failed USER_MGMT (aureport's test, not USER_ACCT), else
      // GRP_AUTH.
      if (f & Flag.userAuth) {
        if (ok) t.authentications++;
        else if (failed) t.failedAuthentications++;
      } else if (f & Flag.userMgmt) {
        if (failed) t.failedAuthentications++;
      } else if (f & Flag.grpAuth) {
        if (ok) t.authentications++;
        else if (failed) t.failedAuthentications++;
      }
      t.avcs += has(f, Flag.avc);
      t.macEvents += has(f, Flag.macConfig) + has(f, Flag.userLspp);
      t.anomalies += has(f, Flag.anomUser) + has(f, Flag.anomKernel);
    }
    // syscall > 0, as aureport tests it: a failed read(2) (syscall 0 on x86_64) is not counted.
    if (failed && part.syscall > 0) t.failedSyscalls++;
    if (part.exe !== undefined && t.executables.add(part.exe)) this.fleetExecutables.add(part.exe);
    for (const key of part.keys) {
      if (key !== '(null)' && t.keys.add(key)) this.fleetKeys.add(key);
    }
  }
}
