/**
 * `auditsweep sweep` as a reviewer runs it, against a fleet of real OpenSSH sshd processes on loopback.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import {
  AUTH_FAILURE_TOP_FILE,
  classifyFindings,
  FINDING_FILES,
  FINDING_KINDS,
  type FindingKind,
} from '../../src/report/findings.js';
import { FLEET_HOST, SummaryAccumulator } from '../../src/report/summary.js';
import type { EventRow, ParsedEvent } from '../../src/types.js';
import { isolatedEnv, ROOT, runCli } from '../helpers/cli.js';
import { corpusLogs, ROTATED } from '../helpers/corpus-logs.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { readCsv, timeless } from '../helpers/report-files.js';
import { replaceHostKey, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { type SilentServer, startSilentServer, unusedPort } from '../helpers/tcp-silent.js';

const _run = promisify(execFile);
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');

const cli = (args: string[], cwd?: string, env: Record<string, string> = {}) =>
  runCli(args, { cwd, env: isolatedEnv(env) });

const sweep = (args: string[], cwd?: string, env?: Record<string, string>) =>
  cli(['sweep', ...args], cwd, env);

/** The rows the parser makes of the same files read locally: what the sweep must reproduce for that host. */
async function localRows(host: string, files: string[]): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => rows.push(e.row), issue: () => {} });
  await parseLocalFiles(files, parser);
  return rows;
}

/** The parsed events of the same files read locally, for the summary and findings of that host. */
async function localEvents(host: string, files: string[]): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => events.push(e), issue: () => {} });
  await parseLocalFiles(files, parser);
  return events;
}

/** The files of a run folder, relative and sorted, dot files (the spool) left out. */
function runFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((f) => !f.split('/').some((part) => part.startsWith('.')))
    .sort();
}

/** Drops the file path (remote vs local) and applies the CSV's formula neutralisation (a leading `'`). */
const withoutSource = (r: Record<string, string>) => {
  const { source_file: _f, ...rest } = r;
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, /^[=+\-@\t\r]/.test(v) ? `'${v}` : v]));
};

describe('auditsweep sweep against a real sshd fleet', () => {
  let fleet: SshdFleet;
  let silent: SilentServer;
  let dir: string;
  let inventory: string;
  let knownHosts: string;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs: corpusLogs('enriched') },
        { name: 'web-02', logs: corpusLogs('raw') },
        { name: 'web-03', logs: corpusLogs('node-user') },
        { name: 'web-04', logs: corpusLogs('node-hostname', true) },
        { name: 'web-05', logs: { 'audit.log': join(FIX, 'enriched', 'audit.log') } },
        { name: 'unknown-key', logs: corpusLogs('enriched') },
        { name: 'changed-key', logs: corpusLogs('enriched') },
        { name: 'wrong-key', logs: corpusLogs('enriched'), denyClientKey: true },
        { name: 'no-logs', createLogDir: false },
      ],
    });
    silent = await startSilentServer();
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-sweep-'));
    // An empty OpenSSH client config, so that the machine's ~/.ssh/config plays no part.
    writeFileSync(join(dir, 'no-ssh-config'), '');
    // Trust every host but `unknown-key`; `changed-key` is trusted with the key it has now, then re-keyed.
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, knownHostsLines(fleet.hosts.filter((h) => h.name !== 'unknown-key')));
    await replaceHostKey(fleet.hosts.find((h) => h.name === 'changed-key')!);
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      fleetInventory(fleet, {
        fleet: plainHosts(fleet.hosts.map((h) => h.name)),
        broken: {
          refused: { address: '127.0.0.1', port: await unusedPort() },
          'no-dns': { address: 'no-such-host.invalid' },
          silent: { address: silent.address, port: silent.port },
        },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await silent?.close();
  });

  it('sweeps every selected host, reports each failure with its code, and keeps the healthy hosts whole', async () => {
    const out = join(dir, 'run-1');
    const { code, stderr } = await sweep([
      '--inventory',
      inventory,
      '--all',
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--since',
      '2026-11-01',
      '--connect-timeout',
      '2',
      '--retries',
      '1',
      '--out',
      out,
      '--yes',
    ]);
    expect(code, stderr).toBe(1);
    const hosts = readCsv(join(out, 'hosts.csv'));
    const byHost = Object.fromEntries(hosts.map((h) => [h.host, h]));
    expect(Object.keys(byHost).sort()).toEqual(
      [...fleet.hosts.map((h) => h.name), 'refused', 'silent', 'no-dns'].sort(),
    );
    for (const name of ['web-01', 'web-02', 'web-03', 'web-04', 'web-05']) {
      expect(byHost[name], name).toMatchObject({ outcome: 'ok', code: '' });
    }
    expect(byHost['unknown-key']).toMatchObject({ outcome: 'failed', code: 'HOST_KEY_UNKNOWN' });
    const unknown = fleet.hosts.find((h) => h.name === 'unknown-key')!;
    expect(byHost['unknown-key']!.message).toContain(unknown.hostKeyFingerprint);
    expect(byHost['unknown-key']!.message).toContain('auditsweep hosts trust unknown-key');
    expect(byHost['changed-key']).toMatchObject({ outcome: 'failed', code: 'HOST_KEY_CHANGED' });
    expect(byHost['wrong-key']).toMatchObject({ outcome: 'failed', code: 'AUTH_FAILED' });
    expect(byHost['no-logs']).toMatchObject({ outcome: 'failed', code: 'LOG_MISSING' });
    expect(byHost.refused).toMatchObject({ outcome: 'failed', code: 'REFUSED' });
    expect(byHost.silent).toMatchObject({ outcome: 'failed', code: 'TIMEOUT' });
    expect(byHost['no-dns']).toMatchObject({ outcome: 'failed', code: 'DNS' });
    expect(stderr).toMatch(/HOST_KEY_CHANGED/);

    // Per-host rows equal what the parser makes of the same files read locally.
    const rows = readCsv(join(out, 'events.csv'));
    for (const [name, variant] of [
      ['web-01', 'enriched'],
      ['web-02', 'raw'],
      ['web-03', 'node-user'],
      ['web-04', 'node-hostname'],
    ] as const) {
      const mine = rows.filter((r) => r.host === name);
      const expected = await localRows(
        name,
        ROTATED.map((f) => join(FIX, variant, f)),
      );
      expect(mine.map(withoutSource), name).toEqual(expected.map(withoutSource));
      expect(byHost[name]!.events).toBe(String(expected.length));
      expect(byHost[name]!.files).toBe('3');
      expect(new Set(mine.map((r) => r.source_file))).toEqual(
        new Set(
          ['audit.log.2', 'audit.log.1', 'audit.log'].map(
            (f, i) => `/var/log/audit/${f}${name === 'web-04' && i === 0 ? '.gz' : ''}`,
          ),
        ),
      );
    }
    // Rows are ordered by host, then time.
    const order = rows.map((r) => `${r.host}\u0000${r.time}`);
    expect([...order].sort()).toEqual(order);
    // Nothing of a failed host reaches events.csv.
    expect(
      rows.some((r) => ['unknown-key', 'changed-key', 'wrong-key', 'refused', 'silent'].includes(r.host!)),
    ).toBe(false);

    // The whole report set is in the run folder, and nothing else but what the manifest lists.
    const failedHosts = hosts.filter((h) => h.outcome === 'failed').map((h) => h.host!);
    expect(failedHosts.length).toBe(7);
    expect(runFiles(out)).toEqual(
      [
        'events.csv',
        'hosts.csv',
        'summary.csv',
        ...Object.values(FINDING_FILES),
        AUTH_FAILURE_TOP_FILE,
        'report.html',
        'manifest.json',
      ].sort(),
    );
    // report.html names every host, failed ones included, and carries no external reference.
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    for (const h of hosts) expect(html).toContain(`>${h.host}<`);
    expect(html).toContain('HOST_KEY_CHANGED');
    expect(html).not.toMatch(/(src|href)="https?:/);
    // summary.csv: every selected host, its counts those of the same files parsed locally, zero for a failed host.
    const local = new Map<string, ParsedEvent[]>();
    for (const [name, variant] of [
      ['web-01', 'enriched'],
      ['web-02', 'raw'],
      ['web-03', 'node-user'],
      ['web-04', 'node-hostname'],
    ] as const) {
      local.set(
        name,
        await localEvents(
          name,
          ROTATED.map((f) => join(FIX, variant, f)),
        ),
      );
    }
    local.set('web-05', await localEvents('web-05', [join(FIX, 'enriched', 'audit.log')]));
    const expectedSummary = new SummaryAccumulator();
    for (const h of Object.keys(byHost)) expectedSummary.addHost(h);
    for (const [name, events] of local) for (const e of events) expectedSummary.add(name, e);
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary).toEqual(expectedSummary.rows());
    expect(summary.map((r) => r.host)).toEqual([...Object.keys(byHost)].sort().concat(FLEET_HOST));
    for (const name of failedHosts) {
      const row = summary.find((r) => r.host === name)!;
      expect(row.events, name).toBe('0');
      expect(row.failed_logins, name).toBe('0');
    }
    expect(summary.at(-1)!.events).toBe(String(rows.length));
    // Findings: per host, the rows classifyFindings makes of the local parse; none of a failed host.
    const findingCounts = {} as Record<FindingKind, number>;
    for (const kind of FINDING_KINDS) {
      const found = readCsv(join(out, FINDING_FILES[kind]));
      findingCounts[kind] = found.length;
      for (const [name, events] of local) {
        const expected = events.flatMap((e) => classifyFindings(e)).filter((f) => f.kind === kind);
        const mine = found.filter((r) => r.host === name);
        expect(
          mine.map((r) => r.serial),
          `${kind} ${name}`,
        ).toEqual(expected.map((f) => f.row.serial));
      }
      expect(found.some((r) => failedHosts.includes(r.host!))).toBe(false);
      const order = found.map((r) => `${r.host}\u0000${r.time}`);
      expect([...order].sort(), kind).toEqual(order);
    }
    expect(Object.values(findingCounts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // manifest.json: who, when, what; every file with its SHA-256 and row count; every host outcome; counters.
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: 'auditsweep-manifest/1',
      tool: {
        name: 'auditsweep',
        version: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
      },
      window: { since: '2026-11-01T00:00:00.000Z', until: null },
      selection: { include: ['all'], exclude: [], tags: [] },
      inventoryFiles: [inventory],
      findings: findingCounts,
      counters: { events: rows.length },
      rawManifest: null,
    });
    expect(manifest.ranBy.user).toBeTruthy();
    expect(manifest.ranBy.machine).toBeTruthy();
    expect(Date.parse(manifest.finishedAt)).toBeGreaterThanOrEqual(Date.parse(manifest.startedAt));
    expect(manifest.hosts.map((h: { host: string; status: string }) => [h.host, h.status])).toEqual(
      hosts.map((h) => [h.host, h.outcome]),
    );
    expect(manifest.files.map((f: { name: string }) => f.name)).toEqual(
      runFiles(out).filter((f) => f !== 'manifest.json'),
    );
    for (const f of manifest.files as { name: string; bytes: number; sha256: string; rows: number }[]) {
      const bytes = readFileSync(join(out, f.name));
      expect(f.sha256, f.name).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(f.bytes, f.name).toBe(bytes.length);
      if (f.name.endsWith('.csv')) expect(f.rows, f.name).toBe(readCsv(join(out, f.name)).length);
      else expect(f.rows, f.name).toBeUndefined();
    }
  }, 120_000);

  it('writes to reports/<run-id> by default, and a second run never lands in the first one', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'auditsweep-default-out-'));
    const args = [
      '--inventory',
      inventory,
      '--hosts',
      'web-05',
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--since',
      '2026-11-01',
      '--yes',
    ];
    const first = await sweep(args, cwd);
    expect(first.code, first.stderr).toBe(0);
    const second = await sweep(args, cwd);
    expect(second.code, second.stderr).toBe(0);
    const runs = readdirSync(join(cwd, 'reports')).sort();
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run).toMatch(/^\d{4}-\d{2}-\d{2}T\d{6}Z(-\d+)?$/);
      const manifest = JSON.parse(readFileSync(join(cwd, 'reports', run, 'manifest.json'), 'utf8'));
      expect(manifest.runId).toBe(run);
      expect(existsSync(join(cwd, 'reports', run, 'summary.csv'))).toBe(true);
      expect(manifest.files.map((f: { name: string }) => f.name)).toContain('findings-logins.csv');
    }
  }, 60_000);

  it('reads only the rotated files that can hold events of the window, and keeps only those events', async () => {
    const host = fleet.hosts.find((h) => h.name === 'web-01')!;
    // Give the fleet's copies the mtimes auditd would have left: each rotated file was last written at its
    // last event.
    for (const f of ['audit.log.2', 'audit.log.1']) {
      const rows = await localRows('web-01', [join(FIX, 'enriched', f)]);
      const last = new Date(Date.parse(rows[rows.length - 1]!.time) + 1000);
      utimesSync(join(host.logDir, f), last, last);
    }
    const all = await localRows(
      'web-01',
      ROTATED.map((f) => join(FIX, 'enriched', f)),
    );
    const newest = await localRows('web-01', [join(FIX, 'enriched', 'audit.log')]);
    const since = newest[10]!.time;
    const out = join(dir, 'run-window');
    const { code, stderr } = await sweep([
      '--inventory',
      inventory,
      '--hosts',
      'web-01',
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--since',
      since,
      '--out',
      out,
      '--yes',
    ]);
    expect(code, stderr).toBe(0);
    const rows = readCsv(join(out, 'events.csv'));
    expect(rows.map((r) => r.serial)).toEqual(all.filter((r) => r.time >= since).map((r) => r.serial));
    const [summary] = readCsv(join(out, 'hosts.csv'));
    expect(summary).toMatchObject({ host: 'web-01', outcome: 'ok', files: '1', events: String(rows.length) });
    expect(new Set(rows.map((r) => r.source_file))).toEqual(new Set(['/var/log/audit/audit.log']));
  }, 60_000);

  it('writes the same report set when host parse workers parse the logs and make the rows, findings and counts as the hosts stream', async () => {
    const sweepWith = async (workers: string, concurrency: string) => {
      const out = join(dir, `workers-${workers}-${concurrency}`);
      const { code, stderr } = await sweep(
        [
          '--inventory',
          inventory,
          '--hosts',
          'web-01,web-02,web-03,web-04,web-05,wrong-key',
          '--known-hosts',
          knownHosts,
          '--ssh-config',
          join(dir, 'no-ssh-config'),
          '--since',
          '2026-11-01',
          '--retries',
          '0',
          '--concurrency',
          concurrency,
          '--out',
          out,
          '--yes',
        ],
        undefined,
        { AUDITSWEEP_PARSE_WORKERS: workers },
      );
      expect(code, stderr).toBe(1);
      return { names: runFiles(out), text: (name: string) => readFileSync(join(out, name), 'utf8') };
    };
    // What depends on the clock besides timeless(): durations, and the size and hash of the files that hold them.
    const hostsCsv = (text: string) =>
      Papa.unparse(
        Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true }).data.map((r) => ({
          ...r,
          duration_ms: 'MS',
        })),
      );
    const manifest = (text: string) => {
      const m = JSON.parse(text) as Record<string, unknown> & {
        hosts: { durationMs?: number }[];
        files: { name: string }[];
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
    // One host at a time, every file is the same, report.html's samples and alerts included.
    const alone = await sweepWith('0', '1');
    const workers = await sweepWith('2', '1');
    expect(workers.names).toEqual(alone.names);
    expect(alone.names).toEqual(expect.arrayContaining(['report.html', 'findings-auth-failures.csv']));
    for (const name of alone.names) {
      if (name === 'manifest.json') expect(manifest(workers.text(name))).toEqual(manifest(alone.text(name)));
      else if (name === 'report.html') expect(timeless(workers.text(name))).toBe(timeless(alone.text(name)));
      else if (name === 'hosts.csv') expect(hostsCsv(workers.text(name))).toBe(hostsCsv(alone.text(name)));
      else expect(workers.text(name), name).toBe(alone.text(name));
    }
    expect(readCsv(join(dir, 'workers-2-1', 'events.csv')).length).toBeGreaterThan(3000);
    // Hosts interleaved on the workers: the CSVs, ordered by host, are still the same byte for byte.
    const interleaved = await sweepWith('2', '4');
    for (const name of alone.names.filter((n) => n.endsWith('.csv') && n !== 'hosts.csv')) {
      expect(interleaved.text(name), name).toBe(alone.text(name));
    }
  }, 120_000);

  it('trusts an unknown host with `hosts trust` after showing its fingerprint, and then sweeps it', async () => {
    const host = fleet.hosts.find((h) => h.name === 'unknown-key')!;
    const trusted = join(dir, 'trusted_hosts');
    const base = [
      '--inventory',
      inventory,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--known-hosts',
      knownHosts,
    ];
    // Not at a terminal and no --yes: nothing is recorded, and the error names the flag.
    const refused = await cli(['hosts', 'trust', 'unknown-key', ...base, '--write', trusted]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain(host.hostKeyFingerprint);
    expect(refused.stderr).toContain('--yes');
    const ok = await cli(['hosts', 'trust', 'unknown-key', ...base, '--write', trusted, '--yes', '--hashed']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(host.hostKeyFingerprint);
    expect(readFileSync(trusted, 'utf8')).toMatch(/^\|1\|/);
    // A changed key is never "trusted" over the old one.
    const changed = await cli(['hosts', 'trust', 'changed-key', ...base, '--write', trusted, '--yes']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/man-in-the-middle/);

    const out = join(dir, 'run-trusted');
    const swept = await sweep([
      '--inventory',
      inventory,
      '--hosts',
      'unknown-key',
      '--known-hosts',
      knownHosts,
      '--known-hosts',
      trusted,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--out',
      out,
      '--since',
      '2026-11-01',
    ]);
    // Without --yes and without a terminal the sweep does not start.
    expect(swept.code).toBe(2);
    expect(swept.stderr).toContain('--yes');
    const again = await sweep([
      '--inventory',
      inventory,
      '--hosts',
      'unknown-key',
      '--known-hosts',
      knownHosts,
      '--known-hosts',
      trusted,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--out',
      join(dir, 'run-trusted-2'),
      '--since',
      '2026-11-01',
      '--yes',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(readCsv(join(dir, 'run-trusted-2', 'hosts.csv'))[0]).toMatchObject({
      host: 'unknown-key',
      outcome: 'ok',
    });
  }, 60_000);
});
