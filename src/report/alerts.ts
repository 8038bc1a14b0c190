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
import { FINDING_KINDS } from './findings.js';

export const ALERT_SEVERITIES = ['high', 'medium', 'low'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Columns a rule may group by. Per-host counting is `scope: host`, not a group. */
export const ALERT_GROUP_BY = ['account', 'address', 'key'] as const;

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

// Evaluation and the built-in rules live in alert-evaluator.ts, which the parse thread and row workers load
// without zod.
export {
  ALERT_FILTER_COLUMNS,
  AlertEvaluator,
  type AlertEvaluatorOptions,
  AlertTallier,
  type AlertTally,
  DEFAULT_ALERT_RULES,
  DEFAULT_MAX_GROUPS,
  type FiredAlert,
} from './alert-evaluator.js';
