/**
 * `auditsweep sweep --events-only` (and `runSweep({ eventsOnly: true })`) against a fleet of real OpenSSH sshd
 * processes: two healthy hosts and one whose key is unknown. The events-only run folder must hold the same
 * events.csv, parse-issues.csv and hosts.csv as a full sweep's, sealed by a manifest that says what it is; and a
 * setting that asks for what events-only does not do (mail, alerts) must fail before any host is contacted.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSweepError } from '../../src/errors.js';
import { DEFAULT_ALERT_RULES } from '../../src/report/alert-evaluator.js';
import { FINDING_KINDS } from '../../src/report/findings.js';
import { EVENTS_ONLY_WARNING } from '../../src/report/finish-run.js';
import { runSweep, type SweepConfig } from '../../src/sweep.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { corpusLogs, FIXTURES as FIX } from '../helpers/corpus-logs.js';
import { plainHosts, writeSweepFiles } from '../helpers/fleet-inventory.js';
import { readCsv } from '../helpers/report-files.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { type SilentServer, startSilentServer } from '../helpers/tcp-silent.js';

const SINCE = '2026-11-01';

/** The files of a run folder, relative and sorted, dot files (the spool) left out. */
function runFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .filter((f) => !f.split('/').some((part) => part.startsWith('.')))
    .sort();
}

/** hosts.csv's rows without what depends on the clock. */
const hostsRows = (dir: string): Record<string, string | undefined>[] =>
  readCsv(join(dir, 'hosts.csv')).map((r) => ({ ...r, duration_ms: 'MS' }));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface ManifestJson {
  files: { name: string; bytes: number; sha256: string; rows?: number }[];
  warnings: string[];
  findings: Record<string, number>;
  alerts: unknown[];
  hosts: { host: string; status: string; code?: string }[];
  counters: { events: number; malformed: number };
  rawManifest: string | null;
}

const readManifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;

/** Every file of the folder but the manifest is listed in it, with its true size, hash and (CSV) row count. */
function expectSealed(dir: string): ManifestJson {
  const manifest = readManifest(dir);
  expect(manifest.files.map((f) => f.name)).toEqual(runFiles(dir).filter((f) => f !== 'manifest.json'));
  for (const f of manifest.files) {
    const path = join(dir, f.name);
    expect(f.sha256, f.name).toBe(sha256(path));
    expect(f.bytes, f.name).toBe(readFileSync(path).length);
    if (f.name.endsWith('.csv')) expect(f.rows, f.name).toBe(readCsv(path).length);
  }
  return manifest;
}

/** `Connection from` lines in every sshd log of the fleet: one per TCP connection an sshd accepted. */
async function sshdConnections(fleet: SshdFleet): Promise<number> {
  return ((await fleet.logs()).match(/Connection from /g) ?? []).length;
}

describe('auditsweep sweep --events-only against a real sshd fleet', () => {
  let fleet: SshdFleet;
  let silent: SilentServer;
  let dir: string;
  let inventory: string;
  let knownHosts: string;
  let noSshConfig: string;
  /** The full sweep's run folder, made by the first test. */
  let fullOut: string;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs: corpusLogs('enriched') },
        {
          name: 'web-02',
          logs: {
            ...corpusLogs('raw'),
            // A bad line, so that parse-issues.csv is written and compared too.
            'audit.log': {
              content: `${readFileSync(join(FIX, 'raw', 'audit.log'), 'utf8')}this line is not an audit record\n`,
            },
          },
        },
        { name: 'unknown-key', logs: corpusLogs('enriched') },
      ],
    });
    // Accepts connections and never answers: a sweep that reached it would hang on it until its timeout.
    silent = await startSilentServer();
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-events-only-'));
    ({ inventory, knownHosts, noSshConfig } = writeSweepFiles(
      dir,
      fleet,
      {
        fleet: plainHosts(fleet.hosts.map((h) => h.name)),
        elsewhere: { hang: { address: silent.address, port: silent.port } },
      },
      fleet.hosts.filter((h) => h.name !== 'unknown-key'),
    ));
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await silent?.close();
  });

  /** The library sweep of the fleet's three hosts into `out`. */
  const config = (out: string): SweepConfig => ({
    inventoryFiles: [inventory],
    sshConfigFile: noSshConfig,
    selection: { include: ['fleet'] },
    outDir: out,
    window: { since: Date.parse(SINCE) },
    knownHostsFiles: [knownHosts],
    timeouts: { connectMs: 5_000 },
    retry: { attempts: 1 },
  });

  /** `auditsweep sweep` of `hosts` into `out`, the rest of the arguments after. */
  const sweepCli = (out: string, extra: string[], env: Record<string, string> = {}, hosts = 'fleet') =>
    runCli(
      [
        'sweep',
        '--inventory',
        inventory,
        '--hosts',
        hosts,
        '--known-hosts',
        knownHosts,
        '--ssh-config',
        noSshConfig,
        '--since',
        SINCE,
        '--connect-timeout',
        '2',
        '--retries',
        '0',
        '--out',
        out,
        '--yes',
        ...extra,
      ],
      { env: isolatedEnv(env) },
    );

  it('writes the same events.csv, parse-issues.csv and hosts.csv as a full sweep, sealed by a manifest that says events only', async () => {
    fullOut = join(dir, 'full');
    const eventsOut = join(dir, 'events-only');
    const full = await runSweep(config(fullOut));
    const only = await runSweep({ ...config(eventsOut), eventsOnly: true });

    // The full run is the reference: a report set, a bad line, and the unknown host failed.
    expect(runFiles(fullOut)).toEqual(
      expect.arrayContaining(['summary.csv', 'report.html', 'parse-issues.csv']),
    );
    expect(full.outcomes.map((o) => [o.host, o.status, o.code])).toEqual([
      ['web-01', 'ok', undefined],
      ['web-02', 'ok', undefined],
      ['unknown-key', 'failed', 'HOST_KEY_UNKNOWN'],
    ]);

    expect(runFiles(eventsOut)).toEqual(['events.csv', 'hosts.csv', 'manifest.json', 'parse-issues.csv']);
    expect(existsSync(join(eventsOut, '.spool'))).toBe(false);
    for (const name of ['events.csv', 'parse-issues.csv']) {
      expect(readFileSync(join(eventsOut, name)).equals(readFileSync(join(fullOut, name))), name).toBe(true);
    }
    const events = readCsv(join(eventsOut, 'events.csv'));
    expect(new Set(events.map((r) => r.host))).toEqual(new Set(['web-01', 'web-02']));
    expect(readCsv(join(eventsOut, 'parse-issues.csv'))).toMatchObject([
      { host: 'web-02', reason: 'missing-header' },
    ]);
    const header = (d: string) => readFileSync(join(d, 'hosts.csv'), 'utf8').split(/\r?\n/)[0];
    expect(header(eventsOut)).toBe(header(fullOut));
    expect(hostsRows(eventsOut)).toEqual(hostsRows(fullOut));
    expect(hostsRows(eventsOut).map((r) => [r.host, r.outcome, r.code])).toEqual([
      ['web-01', 'ok', ''],
      ['web-02', 'ok', ''],
      ['unknown-key', 'failed', 'HOST_KEY_UNKNOWN'],
    ]);

    // manifest.json lists the three files with their true hashes and says why there is no summary.
    const manifest = expectSealed(eventsOut);
    expect(manifest.files.map((f) => f.name)).toEqual(['events.csv', 'hosts.csv', 'parse-issues.csv']);
    expect(manifest.warnings).toContain(EVENTS_ONLY_WARNING);
    expect(manifest).toMatchObject({ findings: {}, alerts: [], rawManifest: null });
    expect(manifest.counters).toEqual(readManifest(fullOut).counters);
    expect(manifest.hosts.map((h) => [h.host, h.status, h.code])).toEqual([
      ['web-01', 'ok', undefined],
      ['web-02', 'ok', undefined],
      ['unknown-key', 'failed', 'HOST_KEY_UNKNOWN'],
    ]);
    expect(readManifest(fullOut).warnings).not.toContain(EVENTS_ONLY_WARNING);

    // The library's summary: nothing of the report set, and the events it wrote counted.
    expect(only.summaryRows).toEqual([]);
    expect(only.alerts).toEqual([]);
    expect(FINDING_KINDS.map((k) => only.findings[k])).toEqual(FINDING_KINDS.map(() => 0));
    expect(only.counters).toEqual(full.counters);
    expect(only.totals.events).toBe(events.length);
    expect(only.totals.events).toBe(full.totals.events);
    expect(only.warnings).toContain(EVENTS_ONLY_WARNING);
    expect(only.written.map((p) => relative(eventsOut, p))).toEqual([
      'events.csv',
      'parse-issues.csv',
      'hosts.csv',
      'manifest.json',
    ]);
    expect(only.reports.map((f) => [f.name, f.kind, f.sha256])).toEqual([
      ['events.csv', 'events', sha256(join(eventsOut, 'events.csv'))],
      ['hosts.csv', 'hosts', sha256(join(eventsOut, 'hosts.csv'))],
      ['parse-issues.csv', 'other', sha256(join(eventsOut, 'parse-issues.csv'))],
    ]);
  }, 120_000);

  it('writes the same events.csv with a host parse worker through the built CLI, with --keep-raw and --incremental as usual', async () => {
    expect(existsSync(join(fullOut, 'events.csv')), 'the first test writes the full sweep').toBe(true);
    const out = join(dir, 'cli-workers');
    const state = join(dir, 'state', 'incremental.json');
    const { code, stderr } = await sweepCli(
      out,
      ['--events-only', '--keep-raw', '--incremental', '--state', state],
      // Every host on one worker (parse/host-parse-workers.ts), however few the hosts and their events.
      { AUDITSWEEP_PARSE_WORKERS: '1' },
    );
    expect(code, stderr).toBe(1); // unknown-key failed
    for (const name of ['events.csv', 'parse-issues.csv']) {
      expect(readFileSync(join(out, name)).equals(readFileSync(join(fullOut, name))), name).toBe(true);
    }
    expect(hostsRows(out).map((r) => [r.host, r.outcome, r.code])).toEqual([
      ['web-01', 'ok', ''],
      ['web-02', 'ok', ''],
      ['unknown-key', 'failed', 'HOST_KEY_UNKNOWN'],
    ]);
    const files = runFiles(out);
    expect(files.filter((f) => !f.startsWith('raw/'))).toEqual([
      'events.csv',
      'hosts.csv',
      'manifest.json',
      'parse-issues.csv',
    ]);
    expect(files).toEqual(
      expect.arrayContaining(['raw/manifest.json', 'raw/web-01/audit.log', 'raw/web-02/audit.log']),
    );
    const manifest = expectSealed(out);
    expect(manifest).toMatchObject({ rawManifest: 'raw/manifest.json', findings: {}, alerts: [] });
    expect(manifest.warnings).toContain(EVENTS_ONLY_WARNING);
    // The incremental state moved on for the two hosts read, as after a full sweep.
    expect(Object.keys(JSON.parse(readFileSync(state, 'utf8')).hosts)).toHaveLength(2);

    // The closing line counts the events written and names the files, and claims no findings.
    const events = readCsv(join(out, 'events.csv')).length;
    expect(stderr).toContain(
      `${events} events, 1 bad lines; events only: events.csv, parse-issues.csv, hosts.csv, raw/manifest.json, manifest.json; reports in ${out}`,
    );
    expect(stderr).not.toMatch(/\d+ findings/);
    expect(stderr).toContain(`WARNING: ${EVENTS_ONLY_WARNING}`);
  }, 120_000);

  it('refuses --events-only typed with mail or alert flags, with exit 2 before contacting any host', async () => {
    // The sweeps above connected, so the count is known to see connections.
    const before = await sshdConnections(fleet);
    expect(before).toBeGreaterThan(0);
    const alertsFile = join(dir, 'alerts.yaml');
    writeFileSync(alertsFile, 'rules: []\n');
    const cases: [string[], RegExp][] = [
      [
        ['--mail-to', 'x@y.invalid', '--smtp', 'smtp://127.0.0.1:9'],
        /^auditsweep: --events-only cannot be combined with --mail-to: /,
      ],
      [
        ['--mail-to', 'x@y.invalid', '--mail-dry-run'],
        /^auditsweep: --events-only cannot be combined with --mail-to: /,
      ],
      [['--fail-on-alert'], /^auditsweep: --events-only cannot be combined with --fail-on-alert: /],
      [['--alerts', alertsFile], /^auditsweep: --events-only cannot be combined with --alerts: /],
    ];
    for (const [i, [extra, message]] of cases.entries()) {
      const out = join(dir, `refused-${i}`);
      // Every host, the one that would hang included.
      const { code, stderr } = await sweepCli(out, ['--events-only', ...extra], {}, 'all');
      expect(code, `${extra.join(' ')}\n${stderr}`).toBe(2);
      expect(stderr.trim().split('\n'), extra.join(' ')).toHaveLength(1);
      expect(stderr, extra.join(' ')).toMatch(message);
      expect(existsSync(out), extra.join(' ')).toBe(false);
    }
    expect(silent.accepted).toBe(0);
    expect(await sshdConnections(fleet)).toBe(before);

    // The library refuses the same before any connection.
    for (const refused of [
      { mail: { to: ['x@y.invalid'], from: 'a@b.invalid', dryRun: true } },
      { alerts: DEFAULT_ALERT_RULES },
    ]) {
      const out = join(dir, `refused-lib-${Object.keys(refused)[0]}`);
      const err: unknown = await runSweep({
        ...config(out),
        selection: { include: ['all'] },
        eventsOnly: true,
        ...refused,
      }).catch((e: unknown) => e);
      expect(isSweepError(err) && err.code, String(err)).toBe('USAGE');
      expect(String(err)).toMatch(/eventsOnly cannot be combined with/);
      expect(existsSync(out)).toBe(false);
    }
    expect(silent.accepted).toBe(0);
    expect(await sshdConnections(fleet)).toBe(before);
  }, 60_000);

  it('sweeps with --events-only under a config file that asks for mail and alerts, saying what it does not use', async () => {
    const configFile = join(dir, 'weekly.yaml');
    writeFileSync(
      configFile,
      [
        'failOnAlert: true',
        'mail:',
        '  to: reviewers@example.invalid',
        '  dryRun: true',
        'alerts:',
        '  - name: any-login',
        '    severity: high',
        '    when: { finding: logins }',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'events-only-with-config');
    const { code, stderr } = await sweepCli(out, ['--config', configFile, '--events-only'], {}, 'web-01');
    // failOnAlert is not used either: no rule ran, so no alert can fail the run.
    expect(code, stderr).toBe(0);
    for (const key of ['mail', 'failOnAlert', 'alerts']) {
      expect(stderr).toMatch(
        new RegExp(`WARNING: .*weekly\\.yaml:\\d+: ${key}: not used with --events-only: `),
      );
    }
    expect(runFiles(out)).toEqual(['events.csv', 'hosts.csv', 'manifest.json']);
    const manifest = expectSealed(out);
    expect(manifest.warnings).toContain(EVENTS_ONLY_WARNING);
    expect(manifest.alerts).toEqual([]);
  }, 120_000);

  it('ends a --log-format json run with a totals line that a scheduler can read', async () => {
    const out = join(dir, 'events-only-json');
    const { code, stderr } = await sweepCli(out, ['--events-only', '--log-format', 'json'], {}, 'web-01');
    expect(code, stderr).toBe(0);
    const lines = stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const totals = lines.filter((l) => 'totals' in l);
    expect(totals).toHaveLength(1);
    expect(totals[0]).toEqual({
      totals: { events: readCsv(join(out, 'events.csv')).length, malformed: 0 },
      eventsOnly: true,
      written: ['events.csv', 'hosts.csv', 'manifest.json'],
      reports: out,
    });
    expect(lines).toContainEqual(expect.objectContaining({ host: 'web-01', outcome: 'ok' }));
    expect(lines).toContainEqual({ warning: EVENTS_ONLY_WARNING });
  }, 120_000);

  it('lists --events-only in `sweep --help`', async () => {
    const { code, stdout } = await runCli(['sweep', '--help']);
    expect(code).toBe(0);
    // Commander wraps the help text: compare it with the line breaks folded.
    expect(stdout.replace(/\s+/g, ' ')).toContain(
      '--events-only write events.csv, hosts.csv and manifest.json only (no summary, findings, report.html, alerts or mail): the fast path for another tool to ingest',
    );
  });
});
