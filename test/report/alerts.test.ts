/**
 * Alert rules: the file's schema and its error messages, and each kind of rule evaluated over the findings of the
 * real corpus (test/fixtures/corpus), which has 25 failed logins from 127.0.0.1, 8 changes to files watched with
 * the CIS key `scope` (sudoers), logins as alice and bob and none as root.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import {
  AlertEvaluator,
  type AlertRule,
  alertRulesSchema,
  DEFAULT_ALERT_RULES,
  formatAlertRuleIssue,
  parseAlertRules,
} from '../../src/report/alerts.js';
import { classifyFindings, type Finding } from '../../src/report/findings.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'corpus');

async function corpusFindings(host: string, variant = 'enriched'): Promise<Finding[]> {
  const findings: Finding[] = [];
  const parser = new HostLogParser(
    { host },
    { event: (e) => findings.push(...classifyFindings(e)), issue: () => {} },
  );
  await parseLocalFiles(
    ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) => join(FIX, variant, f)),
    parser,
  );
  return findings;
}

function rules(yaml: string): AlertRule[] {
  const r = parseAlertRules(yaml, 'alerts.yaml');
  expect(r.errors.map(formatAlertRuleIssue)).toEqual([]);
  return r.value!;
}

function errors(yaml: string): string[] {
  const r = parseAlertRules(yaml, 'alerts.yaml');
  expect(r.value).toBeUndefined();
  return r.errors.map(formatAlertRuleIssue);
}

describe('alert rule files', () => {
  it('accepts the documented example and the built-in rules', () => {
    const r = rules(
      [
        'rules:',
        '  - name: brute-force',
        '    severity: high',
        '    when: { finding: auth-failures, group_by: address, count_over: 5 }',
        '  - name: sudoers-changed',
        '    severity: high',
        '    when: { finding: watched-files, key: scope }',
        '  - name: root-login',
        '    severity: medium',
        '    when: { finding: logins, account: [root, toor], scope: fleet }',
        '',
      ].join('\n'),
    );
    expect(r.map((x) => x.name)).toEqual(['brute-force', 'sudoers-changed', 'root-login']);
    expect(r[2]!.when.account).toEqual(['root', 'toor']);
    expect(alertRulesSchema.safeParse(DEFAULT_ALERT_RULES).success).toBe(true);
    expect(rules('rules: []\n')).toEqual([]);
  });

  it('names the file, line, rule and key of an unknown key, with a did-you-mean', () => {
    expect(
      errors(
        [
          'rules:',
          '  - name: brute-force',
          '    severity: high',
          '    when:',
          '      finding: auth-failures',
          '      count_ovr: 5',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      expect.stringMatching(
        /^alerts\.yaml:6: rules\[0\] \(brute-force\)\.when\.count_ovr: unknown key `count_ovr` \(fix: did you mean `count_over`\?/,
      ),
    ]);
  });

  it('explains a wrong finding kind, severity, count and grouping, and a repeated name', () => {
    const found = errors(
      [
        'rules:',
        '  - name: a',
        '    severity: critical',
        '    when: { finding: failed-logins, count_over: -1 }',
        '  - name: a',
        '    severity: low',
        '    when: { finding: logins, group_by: host }',
        '',
      ].join('\n'),
    );
    expect(found).toHaveLength(5);
    expect(found).toContainEqual(
      expect.stringMatching(
        /^alerts\.yaml:3: rules\[0\] \(a\)\.severity: .*"high".*fix: one of high, medium, low/,
      ),
    );
    expect(found).toContainEqual(
      expect.stringMatching(
        /^alerts\.yaml:4: rules\[0\] \(a\)\.when\.finding: .*fix: one of auth-failures, logins/,
      ),
    );
    expect(found).toContainEqual(expect.stringMatching(/when\.count_over: .*fix: a whole number ≥ 0/));
    expect(found).toContainEqual(expect.stringMatching(/rules\[1\] \(a\)\.when\.group_by: .*scope: host/));
    expect(found).toContainEqual(
      expect.stringMatching(/^alerts\.yaml:5: rules\[1\] \(a\)\.name: the rule name `a` is used twice/),
    );
  });

  it('reports a missing `when`, an empty file and bad YAML with their place', () => {
    expect(errors('rules:\n  - name: x\n    severity: low\n')).toEqual([
      expect.stringMatching(/^alerts\.yaml:2: rules\[0\] \(x\)\.when: `when` is missing \(fix: a mapping/),
    ]);
    expect(errors('')).toEqual([expect.stringMatching(/^alerts\.yaml: the alerts file is empty/)]);
    expect(errors('rules: [\n')[0]).toMatch(/^alerts\.yaml:\d+: /);
    expect(errors('rule: []\n')).toContainEqual(
      expect.stringMatching(/unknown key `rule` \(fix: did you mean `rules`\?/),
    );
  });
});

describe('AlertEvaluator over the corpus findings', () => {
  let web01: Finding[];
  let web02: Finding[];

  beforeAll(async () => {
    web01 = await corpusFindings('web-01');
    web02 = await corpusFindings('web-02', 'raw');
  });

  const evaluate = (yaml: string, findings: readonly Finding[], maxGroups?: number) => {
    const e = new AlertEvaluator(rules(yaml), maxGroups === undefined ? {} : { maxGroups });
    for (const f of findings) e.add(f);
    return { alerts: e.alerts(), warnings: e.warnings() };
  };

  it('fires "more than N failed logins from one address" per host, naming host, address, count and first time', () => {
    const yaml = [
      'rules:',
      '  - name: brute-force',
      '    severity: high',
      '    when: { finding: auth-failures, group_by: address, count_over: 5 }',
      '',
    ].join('\n');
    const { alerts } = evaluate(yaml, [...web01, ...web02]);
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(a).toMatchObject({
      rule: 'brute-force',
      severity: 'high',
      findings: 50,
      hosts: ['web-01', 'web-02'],
    });
    expect(a.message).toMatch(
      /^more than 5 auth-failures from one address on one host: 127\.0\.0\.1 on web-0[12]: 25, first \d{4}-\d\d-\d\dT[\d:.]+Z? serial \d+; 127\.0\.0\.1 on web-0[12]: 25, first /,
    );
    const first = web01.find((f) => f.kind === 'auth-failures' && f.row.address === '127.0.0.1')!;
    expect(a.message).toContain(`first ${first.row.time} serial ${first.row.serial}`);

    // 25 is not more than 25; across the fleet it is.
    expect(evaluate(yaml.replace('count_over: 5', 'count_over: 25'), [...web01, ...web02]).alerts).toEqual(
      [],
    );
    const fleet = evaluate(yaml.replace('count_over: 5', 'count_over: 25, scope: fleet'), [
      ...web01,
      ...web02,
    ]).alerts;
    expect(fleet[0]!.message).toMatch(
      /across the fleet: 127\.0\.0\.1 on web-01, web-02: 50, first .* on web-0[12]$/,
    );
  });

  it('fires "any change to key scope" on each host, and matches one key of a comma-joined list', () => {
    const { alerts } = evaluate(
      [
        'rules:',
        '  - name: sudoers-changed',
        '    severity: high',
        '    when: { finding: watched-files, key: scope }',
        '  - name: kernel-modules',
        '    severity: medium',
        '    when: { finding: watched-files, key: T1547.006, result: failed }',
        '',
      ].join('\n'),
      [...web01, ...web02],
    );
    expect(alerts.map((a) => [a.rule, a.findings])).toEqual([
      ['sudoers-changed', 16],
      ['kernel-modules', 4],
    ]);
    expect(alerts[0]!.message).toMatch(
      /^watched-files with key scope: web-0[12]: 8, first .*; web-0[12]: 8, first /,
    );
  });

  it('fires "any login as root" only when there is one: the corpus has logins as alice, none as root', () => {
    const rootRule = [
      'rules:',
      '  - name: root-login',
      '    severity: medium',
      '    when: { finding: logins, account: root }',
      '',
    ].join('\n');
    expect(evaluate(rootRule, web01).alerts).toEqual([]);
    const alice = evaluate(rootRule.replace('account: root', 'account: alice'), web01).alerts;
    expect(alice).toEqual([
      expect.objectContaining({
        rule: 'root-login',
        findings: 3,
        message: expect.stringMatching(/^logins with account alice: web-01: 3, first /),
      }),
    ]);
    // The corpus's one failed root attempt is an auth failure, not a login.
    const rootLogin = web01.find((f) => f.kind === 'logins')!;
    const asRoot: Finding = { kind: 'logins', row: { ...rootLogin.row, account: 'root', host: 'db-01' } };
    expect(evaluate(rootRule, [...web01, asRoot]).alerts).toEqual([
      expect.objectContaining({
        rule: 'root-login',
        message: `logins with account root: db-01: 1, first ${rootLogin.row.time} serial ${rootLogin.row.serial}`,
      }),
    ]);
  });

  it('keeps at most maxGroups counters per rule and says how many findings it could not count', () => {
    const { alerts, warnings } = evaluate(
      [
        'rules:',
        '  - name: by-key',
        '    severity: low',
        '    when: { finding: watched-files, group_by: key }',
        '',
      ].join('\n'),
      web01,
      3,
    );
    expect(alerts[0]!.message).toMatch(/ \(\d+ further findings not counted: too many distinct groups\)$/);
    expect(warnings).toEqual([
      expect.stringMatching(/^alert rule by-key: more than 3 distinct groups; \d+ matching/),
    ]);
  });

  it('fires the built-in rules on the corpus: brute force and the sudoers change, no root login', () => {
    const e = new AlertEvaluator(DEFAULT_ALERT_RULES);
    for (const f of web01) e.add(f);
    expect(e.alerts().map((a) => a.rule)).toEqual(['brute-force', 'sudoers-changed']);
  });
});
