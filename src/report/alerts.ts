/**
 * Alert rules: a small, declarative rule set that marks findings as alerts (issue #4). Rules are data, checked at
 * the boundary (`parseAlertRules`, `loadAlertRules`), and evaluated by `AlertEvaluator` in the same pass that
 * writes the findings files: every finding is offered once, as it streams by, and the evaluator keeps counters
 * only (bounded: at most `maxGroups` distinct groups per rule), never the rows.
 *
 * ```yaml
 * rules:
 *   - name: brute-force                # more than 5 failed logins from one address on one host
 *     severity: high
 *     when: { finding: auth-failures, group_by: address, count_over: 5 }
 *   - name: sudoers-changed            # any change to a file watched with `-k scope` (CIS: /etc/sudoers)
 *     severity: high
 *     when: { finding: watched-files, key: scope }
 *   - name: root-login
 *     severity: medium
 *     when: { finding: logins, account: root }
 * ```
 *
 * A rule tests the findings of one kind (findings.ts). `host`, `account`, `address`, `key`, `event_type` and
 * `result` keep the findings whose column equals the value (or one of a list); `key` matches any one of a row's
 * comma-joined keys. The matching findings are counted per host (`scope: host`, the default) or across the fleet
 * (`scope: fleet`), and per distinct value of `group_by` (account, address or key; rows where it is empty are
 * not counted) when given. The rule fires for each count above `count_over` (default 0: any match).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { closest } from '../inventory/did-you-mean.js';
import { parseYamlSource, type YamlPath } from '../inventory/yaml-source.js';
import { FINDING_KINDS, type Finding } from './findings.js';
import type { ReportAlert } from './html.js';

export const ALERT_SEVERITIES = ['high', 'medium', 'low'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Columns a rule may group by. Per-host counting is `scope: host`, not a group. */
export const ALERT_GROUP_BY = ['account', 'address', 'key'] as const;
/** Finding columns (FINDING_BASE_COLUMNS) a rule may filter on. */
export const ALERT_FILTER_COLUMNS = ['host', 'account', 'address', 'key', 'event_type', 'result'] as const;

const filterValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const whenSchema = z.strictObject({
  finding: z.enum(FINDING_KINDS),
  host: filterValue.optional(),
  account: filterValue.optional(),
  address: filterValue.optional(),
  key: filterValue.optional(),
  event_type: filterValue.optional(),
  result: z.enum(['success', 'failed']).optional(),
  group_by: z.enum(ALERT_GROUP_BY).optional(),
  count_over: z.int().min(0).optional(),
  scope: z.enum(['host', 'fleet']).optional(),
});

const ruleSchema = z.strictObject({
  name: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  severity: z.enum(ALERT_SEVERITIES),
  description: z.string().optional(),
  when: whenSchema,
});

/** Issues for rule names used twice; reads raw data, so it also runs when other keys are wrong. */
function repeatedNames(rules: unknown): { path: number[]; message: string }[] {
  if (!Array.isArray(rules)) return [];
  const seen = new Map<string, number>();
  const out: { path: number[]; message: string }[] = [];
  rules.forEach((r: unknown, i) => {
    const name = (r as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else out.push({ path: [i], message: `the rule name \`${name}\` is used twice (first by rule ${first})` });
  });
  return out;
}

/** A list of rules, names unique. The config file (issue #5) embeds this same schema under `alerts:`. */
export const alertRulesSchema = z.array(ruleSchema).superRefine((rules, ctx) => {
  for (const r of repeatedNames(rules)) {
    ctx.addIssue({ code: 'custom', path: [...r.path, 'name'], message: r.message });
  }
});

/** An alerts file (`--alerts FILE`): `rules:` and nothing else. */
export const alertsFileSchema = z.strictObject({ rules: alertRulesSchema });

export type AlertRuleInput = z.input<typeof ruleSchema>;
export type AlertRule = z.output<typeof ruleSchema>;

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

/** A problem with a rule file: where, which key, what is wrong and how to fix it. */
export interface AlertRuleIssue {
  readonly file: string;
  readonly line?: number;
  /** `rules[0] (brute-force).when.count_over`. */
  readonly key?: string;
  readonly message: string;
  readonly fix?: string;
}

/** `alerts.yaml:7: rules[0] (brute-force).when.count_over: … (fix: …)`. */
export function formatAlertRuleIssue(issue: AlertRuleIssue): string {
  const place = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  const key = issue.key === undefined ? '' : ` ${issue.key}:`;
  const fix = issue.fix === undefined ? '' : ` (fix: ${issue.fix})`;
  return `${place}:${key} ${issue.message}${fix}`;
}

const KNOWN_KEYS: Record<'file' | 'rule' | 'when', readonly string[]> = {
  file: Object.keys(alertsFileSchema.shape),
  rule: Object.keys(ruleSchema.shape),
  when: Object.keys(whenSchema.shape),
};

const FIX_BY_KEY: Record<string, string> = {
  rules: 'give a list of rules under `rules:` (`rules: []` turns alerts off)',
  name: 'a short name of letters, digits, `.`, `_` and `-`, unique in the file',
  severity: `one of ${ALERT_SEVERITIES.join(', ')}`,
  when: 'a mapping with at least `finding:`',
  finding: `one of ${FINDING_KINDS.join(', ')}`,
  group_by: `one of ${ALERT_GROUP_BY.join(', ')} (to count per host, use \`scope: host\`)`,
  count_over: 'a whole number ≥ 0: the rule fires when more than this many findings match',
  scope: '`host` (count on each host, the default) or `fleet` (count across all hosts)',
  result: '`success` or `failed`',
  host: 'a value or a list of values of the findings column',
  account: 'a value or a list of values of the findings column',
  address: 'a value or a list of values of the findings column',
  key: 'an audit rule key (`-k`) or a list of them',
  event_type: 'an audit record type (USER_LOGIN) or a list of them',
  description: 'free text',
};

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** `rules[0] (brute-force).when.count_over` for a path into the file. */
function keyName(path: YamlPath, data: unknown): string {
  const rules = (data as { rules?: unknown } | null)?.rules;
  let out = '';
  path.forEach((step, i) => {
    if (typeof step === 'number') {
      out += `[${step}]`;
      const rule =
        i === 1 && Array.isArray(rules) ? (rules[step] as { name?: unknown } | undefined) : undefined;
      if (typeof rule?.name === 'string') out += ` (${rule.name})`;
    } else {
      out += out === '' ? step : `.${step}`;
    }
  });
  return out;
}

function knownKeysAt(path: YamlPath): readonly string[] {
  if (path.length === 0) return KNOWN_KEYS.file;
  return path.at(-1) === 'when' ? KNOWN_KEYS.when : KNOWN_KEYS.rule;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  file: string,
  data: unknown,
  lineOf: (path: YamlPath) => number | undefined,
  prefix: YamlPath,
): AlertRuleIssue[] {
  const path = [...prefix, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  const at = (p: YamlPath, message: string, fix?: string): AlertRuleIssue => {
    const line = lineOf(p);
    return {
      file,
      ...(line === undefined ? {} : { line }),
      ...(p.length === 0 ? {} : { key: keyName(p, data) }),
      message,
      ...(fix === undefined ? {} : { fix }),
    };
  };
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return issue.keys.map((k) => {
      const near = closest(k, known);
      const hint = near.length > 0 ? `did you mean \`${near.join('` or `')}\`? ` : '';
      return at([...path, k], `unknown key \`${k}\``, `${hint}keys allowed here: ${known.join(', ')}`);
    });
  }
  const key = String(path.findLast((p) => typeof p === 'string') ?? 'rules');
  const fix = FIX_BY_KEY[key];
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message =
        issue.input === undefined
          ? `\`${key}\` is missing`
          : `\`${key}\` must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping' : issue.expected === 'int' ? 'a whole number' : `a ${issue.expected}`}, not ${describeValue(issue.input)}`;
      break;
    case 'invalid_value':
      message = `\`${key}\` must be ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'invalid_union':
      message = `\`${key}\` must be a non-empty string or a list of them`;
      break;
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
      message = `\`${key}\` is not valid: ${issue.message}`;
      break;
    default:
      message = issue.message;
  }
  return [at(path, message, fix)];
}

/**
 * The schema's issues, plus repeated names when the schema stopped before checking them (zod runs a list's
 * refinement only once every rule is valid). Each issue is described once.
 */
function withRepeats(
  issues: readonly z.core.$ZodIssue[],
  rules: unknown,
  /** Where the list is, in the issues' paths: `['rules']` for a file, `[]` for a list. */
  at: readonly string[],
  describe: (issue: z.core.$ZodIssue) => AlertRuleIssue[],
): AlertRuleIssue[] {
  const custom = issues.some((i) => i.code === 'custom');
  const extra = custom
    ? []
    : repeatedNames(rules).map(
        (r): z.core.$ZodIssue => ({
          code: 'custom',
          path: [...at, ...r.path, 'name'],
          message: r.message,
          input: undefined,
        }),
      );
  return [...issues, ...extra].flatMap(describe);
}

/** Checks YAML text of an alerts file. `file` names it in the issues. */
export function parseAlertRules(
  text: string,
  file: string,
): { value?: AlertRule[]; errors: AlertRuleIssue[] } {
  const parsed = parseYamlSource(text, file);
  if (parsed.source === undefined) return { errors: parsed.errors };
  const { data, lineOf } = parsed.source;
  if (data === null || data === undefined) {
    return {
      errors: [{ file, message: 'the alerts file is empty', fix: 'write `rules:` with a list of rules' }],
    };
  }
  const result = alertsFileSchema.safeParse(data);
  if (!result.success)
    return {
      errors: withRepeats(result.error.issues, (data as { rules?: unknown }).rules, ['rules'], (i) =>
        describeIssue(i, file, data, lineOf, []),
      ),
    };
  return { value: result.data.rules, errors: [] };
}

/** Checks an already-parsed rules list (the config file's `alerts:`), naming `file` and the list's path in it. */
export function checkAlertRules(
  data: unknown,
  file: string,
  lineOf: (path: YamlPath) => number | undefined = () => undefined,
  path: YamlPath = ['rules'],
): { value?: AlertRule[]; errors: AlertRuleIssue[] } {
  const result = alertRulesSchema.safeParse(data);
  if (result.success) return { value: result.data, errors: [] };
  return {
    errors: withRepeats(result.error.issues, data, [], (i) =>
      describeIssue(i, file, { rules: data }, lineOf, path),
    ),
  };
}

/** Reads and checks an alerts file; the issues name the file, line and rule. */
export async function loadAlertRules(
  file: string,
): Promise<{ value?: AlertRule[]; errors: AlertRuleIssue[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
    return {
      errors: [{ file, message: `cannot read the alerts file: ${why}`, fix: 'check the path of --alerts' }],
    };
  }
  return parseAlertRules(text, file);
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

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
  readonly filters: readonly { column: string; values: ReadonlySet<string> }[];
  readonly groups: Map<string, Tally>;
  /** Matching findings not counted because the group cap was reached. */
  uncounted: number;
}

function asSet(v: string | readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (v === undefined) return undefined;
  return new Set(typeof v === 'string' ? [v] : v);
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
    this.states = rules.map((rule) => ({
      rule,
      filters: ALERT_FILTER_COLUMNS.flatMap((column) => {
        const values = asSet(rule.when[column]);
        return values ? [{ column, values }] : [];
      }),
      groups: new Map(),
      uncounted: 0,
    }));
  }

  /** Offers one finding to every rule. */
  add(finding: Finding): void {
    for (const s of this.states) {
      const w = s.rule.when;
      if (w.finding !== finding.kind) continue;
      const row = finding.row;
      if (!s.filters.every((f) => matches(f.column, row[f.column] ?? '', f.values))) continue;
      const value = w.group_by === undefined ? '' : (row[w.group_by] ?? '');
      if (w.group_by !== undefined && value === '') continue;
      const host = row.host ?? '';
      const id = w.scope === 'fleet' ? value : `${host}\u0000${value}`;
      const time = row.time ?? '';
      let t = s.groups.get(id);
      if (t === undefined) {
        if (s.groups.size >= this.maxGroups) {
          s.uncounted++;
          continue;
        }
        t = {
          count: 0,
          value,
          hosts: [host],
          moreHosts: false,
          firstTime: time,
          firstSerial: row.serial ?? '',
          firstHost: host,
        };
        s.groups.set(id, t);
      } else if (!t.hosts.includes(host)) {
        if (t.hosts.length < MAX_HOSTS_NAMED) t.hosts.push(host);
        else t.moreHosts = true;
      }
      t.count++;
      // Hosts stream concurrently: keep the earliest (ISO times sort as strings).
      if (time !== '' && (t.firstTime === '' || time < t.firstTime)) {
        t.firstTime = time;
        t.firstSerial = row.serial ?? '';
        t.firstHost = host;
      }
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
