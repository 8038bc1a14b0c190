/**
 * `auditsweep parse` on worker threads (large inputs; forced here with AUDITSWEEP_PARSE_WORKERS) writes the same
 * files, byte for byte, as on the main thread alone: the events CSV, and the whole report set.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { timeless } from '../helpers/report-files.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auditsweep.js');
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const logs = (variant: string) =>
  ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) => join(FIX, variant, f));

async function parse(
  workers: number,
  args: string[],
): Promise<{ events: string; issues: string; stderr: string }> {
  const out = mkdtempSync(join(tmpdir(), 'auditsweep-workers-'));
  const { stderr } = await run(process.execPath, [BIN, 'parse', ...args, '--events-only', '--out', out], {
    env: { ...process.env, AUDITSWEEP_PARSE_WORKERS: String(workers) },
  });
  let issues = '';
  try {
    issues = readFileSync(join(out, 'parse-issues.csv'), 'utf8');
  } catch {
    // no bad lines
  }
  return {
    events: readFileSync(join(out, 'events.csv'), 'utf8'),
    issues,
    stderr: stderr.replaceAll(out, 'OUT'),
  };
}

describe('auditsweep parse on worker threads', () => {
  it('writes the same events.csv as the main thread alone, for ENRICHED and RAW logs', async () => {
    for (const args of [
      [...logs('node-user'), '--host', 'web-01', '--bom'],
      [
        ...logs('raw'),
        '--passwd',
        join(FIX, 'accounts', 'passwd'),
        '--group',
        join(FIX, 'accounts', 'group'),
      ],
    ]) {
      const [alone, parallel, two] = await Promise.all([parse(0, args), parse(1, args), parse(2, args)]);
      expect(alone.events.length).toBeGreaterThan(100_000);
      expect(parallel.events).toBe(alone.events);
      expect(two.events).toBe(alone.events);
      expect(parallel.stderr).toBe(alone.stderr);
    }
  });

  it('writes the same files for a log with bad lines, cut values and an AVC preamble', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-workers-'));
    const good = readFileSync(logs('enriched')[1]!, 'utf8').split('\n');
    const bad = [
      ...good.slice(0, 500),
      'garbage without a header',
      'type=AVC msg=audit(1795396300.000:1): avc:  denied  { read write } for  pid=1 comm="x" tcontext=b tclass=file',
      'type=SYSCALL msg=audit(1795396300.001:2): pid=1 comm="cut',
      ...good.slice(500),
    ].join('\r\n');
    const file = join(dir, 'audit.log');
    writeFileSync(file, bad);
    const [alone, parallel] = await Promise.all([parse(0, [file]), parse(1, [file])]);
    expect(alone.issues).toMatch(/missing-header/);
    expect(parallel.events).toBe(alone.events);
    expect(parallel.issues).toBe(alone.issues);
    expect(parallel.stderr).toBe(alone.stderr);
  });

  it('writes the same report set (summary, findings, tops, alerts, report.html, manifest) on 0, 1 and 2 row workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-workers-'));
    // Three hosts' worth of logs replayed as one host's, a file with bad lines among them: ~9,000 events, findings
    // of every kind, so ~90 batches, more than the workers hold at once.
    const bad = join(dir, 'bad.log');
    const good = readFileSync(logs('enriched')[2]!, 'utf8').split('\n');
    writeFileSync(
      bad,
      [...good.slice(0, 300), 'garbage without a header', ...good.slice(300, 600)].join('\n'),
    );
    const files = [...logs('raw'), ...logs('node-user'), bad, ...logs('enriched'), ...logs('node-hostname')];
    // Rules of every shape: grouped per host and across the fleet, filtered, counted over a threshold.
    const alerts = join(dir, 'alerts.yaml');
    writeFileSync(
      alerts,
      [
        'rules:',
        '  - { name: brute-force, severity: high, when: { finding: auth-failures, group_by: address, count_over: 3 } }',
        '  - { name: accounts, severity: medium, when: { finding: auth-failures, group_by: account, scope: fleet } }',
        '  - { name: watched, severity: low, when: { finding: watched-files, group_by: key } }',
        '  - { name: root-login, severity: medium, when: { finding: logins, account: root } }',
        '  - { name: config, severity: low, when: { finding: audit-config, result: success } }',
      ].join('\n'),
    );
    const args = [
      ...files,
      '--host',
      'web-01',
      '--passwd',
      join(FIX, 'accounts', 'passwd'),
      '--group',
      join(FIX, 'accounts', 'group'),
      '--alerts',
      alerts,
    ];
    const reportSet = async (workers: number) => {
      const out = join(dir, `out-${workers}`);
      const { stderr } = await run(process.execPath, [BIN, 'parse', ...args, '--out', out], {
        env: { ...process.env, AUDITSWEEP_PARSE_WORKERS: String(workers) },
      });
      const names = readdirSync(out).sort();
      const text = (name: string) => readFileSync(join(out, name), 'utf8');
      return { out, names, text, stderr: stderr.replaceAll(out, 'OUT') };
    };
    const alone = await reportSet(0);
    const one = await reportSet(1);
    const two = await reportSet(2);
    expect(alone.names).toContain('parse-issues.csv');
    expect(alone.names).toContain('report.html');
    const findingRows = alone.text('findings-watched-files.csv').split('\r\n').length;
    expect(findingRows).toBeGreaterThan(1000);
    expect(alone.stderr).toMatch(/ALERT \[low\] watched/);
    // What depends on the clock besides timeless(): the duration, and the hashes of the files that hold it.
    const hostsRow = (text: string) => text.replace(/^(web-01,(?:[^,]*,){6})\d+,/m, '$1MS,');
    const manifest = (text: string) => {
      const m = JSON.parse(text) as Record<string, unknown> & {
        hosts: { durationMs?: number }[];
        files: { name: string; sha256?: string }[];
      };
      const { runId: _r, startedAt: _s, finishedAt: _f, ...rest } = m;
      return {
        ...rest,
        hosts: m.hosts.map(({ durationMs: _d, ...h }) => h),
        files: m.files.map((f) =>
          f.name === 'report.html' || f.name === 'hosts.csv' ? { ...f, sha256: 'CLOCK', bytes: 0 } : f,
        ),
      };
    };
    for (const other of [one, two]) {
      expect(other.names).toEqual(alone.names);
      expect(other.stderr).toBe(alone.stderr);
      for (const name of alone.names) {
        if (name === 'manifest.json') expect(manifest(other.text(name))).toEqual(manifest(alone.text(name)));
        else if (name === 'report.html') expect(timeless(other.text(name))).toBe(timeless(alone.text(name)));
        else if (name === 'hosts.csv')
          expect(hostsRow(other.text(name)), name).toBe(hostsRow(alone.text(name)));
        else expect(other.text(name), name).toBe(alone.text(name));
      }
    }
    // The normalising above hides only the clock: the page still names the run and its alerts.
    expect(timeless(alone.text('report.html'))).toMatch(/run RUN/);
    expect(hostsRow(alone.text('hosts.csv'))).toMatch(/,MS,/);
  }, 60_000);
});
