/**
 * Evaluation of alert rules (alerts.ts) over findings as they stream by: `AlertEvaluator` keeps counters only (at
 * most `maxGroups` distinct groups per rule), never the rows. Kept apart from the rule schema so that row workers
 * (parse/row-worker.ts) load it without zod: a worker tallies its batch's findings (`AlertTallier`, per group: a
 * count and the first match) and the evaluator adds the tallies in batch order (`addTally`), which counts exactly
 * what `add` would have counted finding by finding.
 */
import type { AlertRule } from './alerts.js';
import type { Finding } from './findings.js';
import type { ReportAlert } from './html.js';

/**
 * The rules used when none are given (no `--alerts FILE`). An alerts file replaces them all; `rules: []` turns
 * alerts off.
 */
export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  {
    name: 'brute-force',
    severity: 'high',
    description: 'more than 10 failed logins or authentications from one address on one host',
    when: { finding: 'auth-failures', group_by: 'address', count_over: 10 },
  },
  {
    name: 'sudoers-changed',
    severity: 'high',
    description: 'a file watched with the CIS key `scope` (/etc/sudoers, /etc/sudoers.d) was changed',
    when: { finding: 'watched-files', key: 'scope' },
  },
  {
    name: 'root-login',
    severity: 'medium',
    description: 'a login as root',
    when: { finding: 'logins', account: 'root' },
  },
];

/** Finding columns (FINDING_BASE_COLUMNS) a rule may filter on. */
export const ALERT_FILTER_COLUMNS = ['host', 'account', 'address', 'key', 'event_type', 'result'] as const;

/** A fired alert as the report, the mail and the manifest show it. */
export interface FiredAlert extends ReportAlert {
  /** Matching findings counted in the groups that fired. */
  readonly findings: number;
  /** Hosts of the groups that fired (at most MAX_HOSTS_NAMED per group). */
  readonly hosts: readonly string[];
}

export interface AlertEvaluatorOptions {
  /** Distinct groups (host × group_by value) counted per rule; findings of further groups are not counted. */
  readonly maxGroups?: number;
  /** Groups named in an alert's message. */
  readonly maxListed?: number;
}

export const DEFAULT_MAX_GROUPS = 10_000;
const DEFAULT_MAX_LISTED = 5;
const MAX_HOSTS_NAMED = 5;

interface Tally {
  count: number;
  readonly value: string;
  readonly hosts: string[];
  moreHosts: boolean;
  firstTime: string;
  firstSerial: string;
  firstHost: string;
}

interface RuleState {
  readonly rule: AlertRule;
  readonly filters: Filters;
  readonly groups: Map<string, Tally>;
  /** Matching findings not counted because the group cap was reached. */
  uncounted: number;
}

function asSet(v: string | readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (v === undefined) return undefined;
  return new Set(typeof v === 'string' ? [v] : v);
}

type Filters = readonly { column: string; values: ReadonlySet<string> }[];

function filtersOf(rule: AlertRule): Filters {
  return ALERT_FILTER_COLUMNS.flatMap((column) => {
    const values = asSet(rule.when[column]);
    return values ? [{ column, values }] : [];
  });
}

function matches(column: string, cell: string, values: ReadonlySet<string>): boolean {
  if (values.has(cell)) return true;
  // A row's keys are comma-joined (`modules,T1547.006`); any one of them matches.
  return column === 'key' && cell.includes(',') && cell.split(',').some((k) => values.has(k));
}

/** `watched-files with key scope`, `logins with account root`. */
function describeWhen(rule: AlertRule): string {
  const w = rule.when;
  const parts: string[] = [];
  for (const column of ALERT_FILTER_COLUMNS) {
    const v = w[column];
    if (v !== undefined) parts.push(`${column} ${typeof v === 'string' ? v : v.join('|')}`);
  }
  return `${w.finding}${parts.length > 0 ? ` with ${parts.join(', ')}` : ''}`;
}

/** The group value of `finding` for `rule` ('' without group_by), or undefined when the rule does not count it. */
function matchValue(rule: AlertRule, filters: Filters, finding: Finding): string | undefined {
  const w = rule.when;
  if (w.finding !== finding.kind) return undefined;
  const row = finding.row;
  if (!filters.every((f) => matches(f.column, row[f.column] ?? '', f.values))) return undefined;
  const value = w.group_by === undefined ? '' : (row[w.group_by] ?? '');
  if (w.group_by !== undefined && value === '') return undefined;
  return value;
}

/** The matches of one rule's group in a batch of one host's findings. */
export interface TallyGroup {
  readonly value: string;
  count: number;
  /** The earliest match (the first of equal times; '' only when no match had a time). */
  firstTime: string;
  firstSerial: string;
}

/** Per rule (in rule order), its groups in the order of their first match. Plain data: it crosses threads. */
export type AlertTally = readonly (readonly TallyGroup[])[];

/**
 * Tallies a batch of one host's findings for the rules (on a row worker): `add(finding)` for each, in order, then
 * `take()` for AlertEvaluator.addTally. Holds one entry per group that matched in the batch.
 */
export class AlertTallier {
  private readonly filters: Filters[];
  private groups: Map<string, TallyGroup>[];

  constructor(private readonly rules: readonly AlertRule[]) {
    this.filters = rules.map(filtersOf);
    this.groups = rules.map(() => new Map());
  }

  add(finding: Finding): void {
    for (let i = 0; i < this.rules.length; i++) {
      const value = matchValue(this.rules[i]!, this.filters[i]!, finding);
      if (value === undefined) continue;
      const row = finding.row;
      const time = row.time ?? '';
      const groups = this.groups[i]!;
      let g = groups.get(value);
      if (g === undefined) {
        g = { value, count: 0, firstTime: time, firstSerial: row.serial ?? '' };
        groups.set(value, g);
      }
      g.count++;
      if (time !== '' && (g.firstTime === '' || time < g.firstTime)) {
        g.firstTime = time;
        g.firstSerial = row.serial ?? '';
      }
    }
  }

  /** The tally since the last take (empty lists for rules without a match). */
  take(): AlertTally {
    const tally = this.groups.map((m) => [...m.values()]);
    this.groups = this.rules.map(() => new Map());
    return tally;
  }
}

/**
 * Evaluates rules over findings as they stream by: `add(finding)` for each, `alerts()` at the end. Memory is
 * bounded by `maxGroups` per rule; findings of groups past the cap are counted as uncounted and the alert (or a
 * warning) says so.
 */
export class AlertEvaluator {
  private readonly states: RuleState[];
  private readonly maxGroups: number;
  private readonly maxListed: number;

  constructor(rules: readonly AlertRule[], options: AlertEvaluatorOptions = {}) {
    this.maxGroups = options.maxGroups ?? DEFAULT_MAX_GROUPS;
    this.maxListed = options.maxListed ?? DEFAULT_MAX_LISTED;
    this.states = rules.map((rule) => ({ rule, filters: filtersOf(rule), groups: new Map(), uncounted: 0 }));
  }

  /** Offers one finding to every rule. */
  add(finding: Finding): void {
    for (const s of this.states) {
      const value = matchValue(s.rule, s.filters, finding);
      if (value === undefined) continue;
      const row = finding.row;
      this.count(s, row.host ?? '', value, 1, row.time ?? '', row.serial ?? '');
    }
  }

  /**
   * Adds the tally of a batch of `host`'s findings (made by an AlertTallier over the same rules). Batches added in
   * the order of their findings count exactly what `add` counts finding by finding.
   */
  addTally(host: string, tally: AlertTally): void {
    this.states.forEach((s, i) => {
      for (const g of tally[i] ?? []) this.count(s, host, g.value, g.count, g.firstTime, g.firstSerial);
    });
  }

  /**
   * Counts `n` matches of one group of `host` whose earliest is at `time`. A group is admitted (or refused at the
   * cap) at its first match and the count of groups never shrinks, so counting a batch's groups in the order of
   * their first matches decides as counting the matches one by one would.
   */
  private count(s: RuleState, host: string, value: string, n: number, time: string, serial: string): void {
    const id = s.rule.when.scope === 'fleet' ? value : `${host}\u0000${value}`;
    let t = s.groups.get(id);
    if (t === undefined) {
      if (s.groups.size >= this.maxGroups) {
        s.uncounted += n;
        return;
      }
      t = {
        count: 0,
        value,
        hosts: [host],
        moreHosts: false,
        firstTime: time,
        firstSerial: serial,
        firstHost: host,
      };
      s.groups.set(id, t);
    } else if (!t.hosts.includes(host)) {
      if (t.hosts.length < MAX_HOSTS_NAMED) t.hosts.push(host);
      else t.moreHosts = true;
    }
    t.count += n;
    // Hosts stream concurrently: keep the earliest (ISO times sort as strings; the first of equal ones).
    if (time !== '' && (t.firstTime === '' || time < t.firstTime)) {
      t.firstTime = time;
      t.firstSerial = serial;
      t.firstHost = host;
    }
  }

  /** The alerts that fired, one per rule, in rule order. */
  alerts(): FiredAlert[] {
    const out: FiredAlert[] = [];
    for (const s of this.states) {
      const over = s.rule.when.count_over ?? 0;
      const fired = [...s.groups.values()]
        .filter((t) => t.count > over)
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
      if (fired.length === 0) continue;
      out.push({
        rule: s.rule.name,
        severity: s.rule.severity,
        message: this.message(s, fired, over),
        findings: fired.reduce((n, t) => n + t.count, 0),
        hosts: [...new Set(fired.flatMap((t) => t.hosts))].sort(),
      });
    }
    return out;
  }

  /** Rules whose group cap was reached (their counts are lower bounds). */
  warnings(): string[] {
    return this.states
      .filter((s) => s.uncounted > 0)
      .map(
        (s) =>
          `alert rule ${s.rule.name}: more than ${this.maxGroups} distinct groups; ${s.uncounted} matching findings were not counted`,
      );
  }

  private message(s: RuleState, fired: readonly Tally[], over: number): string {
    const w = s.rule.when;
    const per = w.scope === 'fleet' ? 'across the fleet' : 'on one host';
    const what = describeWhen(s.rule);
    let head: string;
    if (over === 0) head = w.group_by === undefined ? what : `${what}, by ${w.group_by}`;
    else if (w.group_by === undefined) head = `more than ${over} ${what} ${per}`;
    else head = `more than ${over} ${what} from one ${w.group_by} ${per}`;
    const items = fired.slice(0, this.maxListed).map((t) => {
      const hosts = `${t.hosts.join(', ')}${t.moreHosts ? ', …' : ''}`;
      const where = w.group_by === undefined ? hosts : `${t.value} on ${hosts}`;
      const first =
        t.firstTime === ''
          ? ''
          : `, first ${t.firstTime}${t.firstSerial ? ` serial ${t.firstSerial}` : ''}${w.scope === 'fleet' && t.hosts.length > 1 ? ` on ${t.firstHost}` : ''}`;
      return `${where}: ${t.count}${first}`;
    });
    const more = fired.length > this.maxListed ? `; +${fired.length - this.maxListed} more` : '';
    const capped =
      s.uncounted > 0 ? ` (${s.uncounted} further findings not counted: too many distinct groups)` : '';
    return `${head}: ${items.join('; ')}${more}${capped}`;
  }
}
