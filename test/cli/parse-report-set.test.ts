/**
 * `auditsweep parse FILES --out DIR` writes the report set of a sweep of one host (issue #4): the built CLI on the
 * enriched corpus logs, its files read back and checked against the library parsing the same logs.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import { FINDING_FILES, FINDING_KINDS } from '../../src/report/findings.js';
import { SUMMARY_COLUMNS, SummaryAccumulator } from '../../src/report/summary.js';
import { isolatedEnv, ROOT, runCli } from '../helpers/cli.js';
import { readCsv } from '../helpers/report-files.js';

const _run = promisify(execFile);
const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) =>
  join(ROOT, 'test', 'fixtures', 'corpus', 'enriched', f),
);
const HOST = 'web-01';

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: isolatedEnv(env) });

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'auditsweep-parse-set-'));

interface ManifestJson {
  hosts: { host: string; status: string; events: number; files: number }[];
  inputs: { path: string; bytes: number; sha256: string }[];
  files: { name: string; bytes: number; sha256: string; rows?: number }[];
  alerts: { rule: string }[];
  counters: { events: number };
}

describe('auditsweep parse --out: the report set of one host', () => {
  let out: string;
  let result: { code: number; stdout: string; stderr: string };
  beforeAll(async () => {
    out = join(tmp(), 'run');
    result = await cli(['parse', ...LOGS, '--host', HOST, '--out', out]);
  });

  it('writes every file of a sweep report set and exits 0', () => {
    expect(result.stderr).toMatch(/1019 events/);
    expect(result.code).toBe(0);
    const expected = [
      'events.csv',
      'hosts.csv',
      'summary.csv',
      ...FINDING_KINDS.map((k) => FINDING_FILES[k]),
      'findings-auth-failures-top.csv',
      'report.html',
      'manifest.json',
    ];
    for (const name of expected) expect(existsSync(join(out, name)), name).toBe(true);
    // No spool, no half-written file, no parse-issues.csv for clean logs.
    expect(readdirSync(out).sort()).toEqual([...expected].sort());
  });

  it('writes summary.csv with the counts of a SummaryAccumulator over the same parse, and one ok row in hosts.csv', async () => {
    const summary = new SummaryAccumulator();
    summary.addHost(HOST);
    const parser = new HostLogParser(
      { host: HOST },
      { event: (parsed) => summary.add(HOST, parsed), issue: () => undefined },
    );
    expect(await parseLocalFiles(LOGS, parser)).toEqual([]);
    const rows = readCsv(join(out, 'summary.csv'));
    expect(Object.keys(rows[0]!)).toEqual([...SUMMARY_COLUMNS]);
    expect(rows).toEqual(summary.rows());
    expect(rows.map((r) => r.host)).toEqual([HOST, '(all)']);
    expect(rows[0]!.events).toBe('1019');

    const hosts = readCsv(join(out, 'hosts.csv'));
    expect(hosts).toHaveLength(1);
    expect(hosts[0]).toMatchObject({
      host: HOST,
      outcome: 'ok',
      code: '',
      files: '3',
      events: '1019',
      transport: 'local',
      bad_lines: '0',
    });
    const bytes = LOGS.reduce((n, f) => n + readFileSync(f).length, 0);
    expect(hosts[0]!.bytes).toBe(String(bytes));
    expect(Number(hosts[0]!.duration_ms)).toBeGreaterThanOrEqual(0);
  });

  it('lists every file in manifest.json with its SHA-256, and the inputs as read', () => {
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ManifestJson;
    const onDisk = readdirSync(out)
      .filter((f) => f !== 'manifest.json')
      .sort();
    expect(manifest.files.map((f) => f.name)).toEqual(onDisk);
    for (const f of manifest.files) {
      expect(f.sha256, f.name).toBe(sha256(join(out, f.name)));
      expect(f.bytes, f.name).toBe(readFileSync(join(out, f.name)).length);
    }
    expect(manifest.files.find((f) => f.name === 'events.csv')?.rows).toBe(1019);
    expect(manifest.files.find((f) => f.name === 'hosts.csv')?.rows).toBe(1);
    expect(manifest.inputs).toEqual(
      LOGS.map((path) => ({ path, bytes: readFileSync(path).length, sha256: sha256(path) })),
    );
    expect(manifest.hosts).toEqual([
      expect.objectContaining({ host: HOST, status: 'ok', events: 1019, files: 3 }),
    ]);
    expect(manifest.counters.events).toBe(1019);
  });

  it('writes report.html about the host, with the built-in alerts', () => {
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain(HOST);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ManifestJson;
    // The corpus holds 25 failed authentications from 127.0.0.1 and sudoers writes.
    expect(manifest.alerts.map((a) => a.rule)).toEqual(['brute-force', 'sudoers-changed']);
    for (const a of manifest.alerts) expect(html).toContain(a.rule);
    expect(result.stderr).toMatch(/ALERT \[high\] brute-force/);
  });

  it('writes the same events.csv as --events-only on row workers', async () => {
    const fast = join(tmp(), 'fast');
    const r = await cli(['parse', ...LOGS, '--host', HOST, '--events-only', '--out', fast], {
      AUDITSWEEP_PARSE_WORKERS: '1',
    });
    expect(r.code).toBe(0);
    expect(readdirSync(fast)).toEqual(['events.csv']);
    expect(readFileSync(join(fast, 'events.csv'), 'utf8')).toBe(
      readFileSync(join(out, 'events.csv'), 'utf8'),
    );
  });

  it('refuses a folder that already holds a report, like the sweep', async () => {
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    const r = await cli(['parse', ...LOGS, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already holds/);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
  });
});

describe('auditsweep parse --alerts / --fail-on-alert', () => {
  const rules = (yaml: string) => {
    const file = join(tmp(), 'alerts.yaml');
    writeFileSync(file, yaml);
    return file;
  };
  const firing = rules('rules:\n  - name: any-login\n    severity: low\n    when:\n      finding: logins\n');
  const silent = rules(
    'rules:\n  - name: mac-denied\n    severity: high\n    when:\n      finding: mac-denials\n',
  );

  it('exits 1 with --fail-on-alert when a rule of the alerts file fires, and 0 without the flag', async () => {
    const failing = join(tmp(), 'run');
    const r = await cli(['parse', ...LOGS, '--alerts', firing, '--fail-on-alert', '--out', failing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ALERT \[low\] any-login/);
    const manifest = JSON.parse(readFileSync(join(failing, 'manifest.json'), 'utf8')) as ManifestJson;
    // The file's rules replace the built-in ones.
    expect(manifest.alerts.map((a) => a.rule)).toEqual(['any-login']);
    expect(readFileSync(join(failing, 'report.html'), 'utf8')).toContain('any-login');

    const r2 = await cli(['parse', ...LOGS, '--alerts', firing, '--out', join(tmp(), 'run')]);
    expect(r2.code).toBe(0);
  });

  it('exits 0 with --fail-on-alert when no rule fires, and 2 for an invalid alerts file or without the report set', async () => {
    const quiet = join(tmp(), 'run');
    const r = await cli(['parse', ...LOGS, '--alerts', silent, '--fail-on-alert', '--out', quiet]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/ALERT/);
    const bad = rules('rules:\n  - name: x\n    severity: urgent\n    when:\n      finding: logins\n');
    expect((await cli(['parse', ...LOGS, '--alerts', bad, '--out', join(tmp(), 'run')])).code).toBe(2);
    expect((await cli(['parse', ...LOGS, '--fail-on-alert', '--stdout'])).code).toBe(2);
  });
});

describe('auditsweep parse --out with unreadable files', () => {
  it('marks the host partial when some files cannot be read and failed when none can', async () => {
    const partial = join(tmp(), 'run');
    const r = await cli(['parse', '/nonexistent/audit.log.1', LOGS[2]!, '--out', partial]);
    expect(r.code).toBe(1);
    const [row] = readCsv(join(partial, 'hosts.csv'));
    expect(row).toMatchObject({ outcome: 'partial', code: 'LOG_MISSING', files: '1' });
    expect(row!.message).toMatch(/cannot read \/nonexistent\/audit\.log\.1/);
    expect(Number(readCsv(join(partial, 'summary.csv'))[0]!.events)).toBeGreaterThan(100);

    const failed = join(tmp(), 'run');
    const f = await cli(['parse', '/nonexistent/audit.log', '--out', failed]);
    expect(f.code).toBe(1);
    expect(readCsv(join(failed, 'hosts.csv'))[0]).toMatchObject({
      outcome: 'failed',
      code: 'LOG_MISSING',
      files: '0',
    });
    const manifest = JSON.parse(readFileSync(join(failed, 'manifest.json'), 'utf8')) as ManifestJson;
    expect(manifest.hosts[0]?.status).toBe('failed');
    expect(manifest.inputs).toEqual([]);
  });
});
