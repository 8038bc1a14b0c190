/**
 * `auditsweep sweep … --mail-to … --smtp …` end to end: a fleet of real OpenSSH sshd processes (two healthy hosts
 * and one whose port is closed) and a real SMTP server on loopback, driven through the built CLI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ParsedMail, simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { corpusLogs } from '../helpers/corpus-logs.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { unusedPort } from '../helpers/tcp-silent.js';

const _run = promisify(execFile);

const cli = (args: string[]) => runCli(args);

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface ManifestJson {
  files: { name: string; sha256: string; bytes: number }[];
  alerts: { rule: string; severity: string; message: string; findings: number; hosts: string[] }[];
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Every file the manifest lists is on disk with the size and hash it records. */
function expectManifestIntact(out: string): ManifestJson {
  const manifest = readJson<ManifestJson>(join(out, 'manifest.json'));
  expect(manifest.files.map((f) => f.name)).toEqual(
    expect.arrayContaining(['summary.csv', 'hosts.csv', 'events.csv', 'report.html']),
  );
  for (const f of manifest.files) {
    expect(sha256(join(out, f.name)), f.name).toBe(f.sha256);
  }
  return manifest;
}

describe('auditsweep sweep mails the report', () => {
  let fleet: SshdFleet;
  let sink: SmtpSink;
  let dir: string;
  let inventory: string;
  let knownHosts: string;
  let runs = 0;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs: corpusLogs('enriched') },
        { name: 'web-02', logs: corpusLogs('raw') },
      ],
    });
    sink = await startSmtpSink({
      rejectRecipient: (a) =>
        a.startsWith('nobody@')
          ? { code: 550, message: '5.1.1 <nobody@example.test>: no such user' }
          : undefined,
    });
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-sweep-mail-'));
    writeFileSync(join(dir, 'no-ssh-config'), '');
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, knownHostsLines(fleet.hosts));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      fleetInventory(fleet, {
        fleet: {
          ...plainHosts(fleet.hosts.map((h) => h.name)),
          'db-down': { address: '127.0.0.1', port: await unusedPort() },
        },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await sink?.stop();
  });

  /** Sweeps into a fresh folder; `hosts` defaults to all three (db-down fails). */
  async function sweep(extra: string[], hosts = ['--all']) {
    const out = join(dir, `run-${++runs}`);
    const result = await cli([
      'sweep',
      '--inventory',
      inventory,
      ...hosts,
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      join(dir, 'no-ssh-config'),
      '--since',
      '2026-11-01',
      '--connect-timeout',
      '2',
      '--retries',
      '0',
      '--out',
      out,
      '--yes',
      ...extra,
    ]);
    return { ...result, out };
  }

  const smtp = () => `smtp://127.0.0.1:${sink.port}`;

  async function lastMail(): Promise<ParsedMail> {
    return simpleParser(sink.messages.at(-1)!.raw);
  }

  it('sends the report with the fleet status in the subject, the failed host first and the CSVs attached as on disk', async () => {
    const before = sink.messages.length;
    const { code, stderr, out } = await sweep([
      '--mail-to',
      'ops@example.test,sec@example.test',
      '--smtp',
      smtp(),
    ]);
    expect(code, stderr).toBe(1); // db-down failed
    expect(sink.messages.length).toBe(before + 1);
    expect(sink.messages.at(-1)!.to).toEqual(['ops@example.test', 'sec@example.test']);
    const mail = await lastMail();
    // The built-in rules fire on the corpus: brute force from 127.0.0.1 and the sudoers change (both high).
    expect(mail.subject).toMatch(
      /^\[auditsweep\] 2 ALERTS \(2 high\) — 3 hosts, 1 failed \(db-down\), \d+ failed logins — week \d{4}-W\d\d$/,
    );
    const text = mail.text ?? '';
    // Alerts lead (they name web-01 and web-02); then the failed host, before any healthy one.
    const hostsPart = text.slice(text.indexOf('FAILED HOSTS'));
    expect(text.indexOf('FAILED HOSTS')).toBeGreaterThan(-1);
    expect(hostsPart.indexOf('db-down')).toBeGreaterThan(-1);
    expect(hostsPart.indexOf('db-down')).toBeLessThan(hostsPart.indexOf('web-01'));
    expect(text).toMatch(/db-down — REFUSED/);
    expect(text.indexOf('ALERTS (2)')).toBeLessThan(text.indexOf('FAILED HOSTS'));
    expect(mail.attachments.map((a) => a.filename)).toEqual(
      expect.arrayContaining(['summary.csv', 'hosts.csv', 'findings-auth-failures.csv', 'report.html']),
    );
    for (const name of ['summary.csv', 'hosts.csv']) {
      const att = mail.attachments.find((a) => a.filename === name);
      expect(att, name).toBeDefined();
      expect(Buffer.compare(att!.content, readFileSync(join(out, name))), name).toBe(0);
    }
    expect(stderr).toMatch(/^mail: sent to ops@example\.test, sec@example\.test, message id <[^>]+> \(250 /m);
    const result = readJson<{ status: string; messageId: string; attempts: number }>(join(out, 'mail.json'));
    expect(result).toMatchObject({ status: 'sent', attempts: 1 });
    expect(mail.messageId).toBe(result.messageId);
    const manifest = expectManifestIntact(out);
    expect(manifest.alerts.map((a) => a.rule)).toEqual(['brute-force', 'sudoers-changed']);
    expect(manifest.alerts[0]!.message).toMatch(/127\.0\.0\.1 on web-0[12]: 25, first .* serial \d+/);
  }, 60_000);

  it('--mail-dry-run writes message.eml into the run folder and sends nothing', async () => {
    const before = sink.messages.length;
    const connections = sink.connections;
    const { code, stderr, out } = await sweep(['--mail-to', 'ops@example.test', '--mail-dry-run']);
    expect(code, stderr).toBe(1);
    expect(sink.messages.length).toBe(before);
    expect(sink.connections).toBe(connections);
    const eml = join(out, 'message.eml');
    expect(existsSync(eml)).toBe(true);
    const mail = await simpleParser(readFileSync(eml));
    expect(mail.subject).toMatch(/3 hosts, 1 failed \(db-down\)/);
    expect(mail.attachments.map((a) => a.filename)).toEqual(
      expect.arrayContaining(['summary.csv', 'hosts.csv']),
    );
    expect(stderr).toContain(`mail: dry run, nothing sent; message for ops@example.test written to ${eml}`);
    expect(readJson<{ status: string }>(join(out, 'mail.json')).status).toBe('dry-run');
    expectManifestIntact(out);
  }, 60_000);

  it('exits 3 and keeps the reports intact when the SMTP server is down, after bounded retries', async () => {
    const closed = await unusedPort();
    const { code, stderr, out } = await sweep(
      ['--mail-to', 'ops@example.test', '--smtp', `smtp://127.0.0.1:${closed}`],
      ['--hosts', 'web-01'],
    );
    expect(code, stderr).toBe(3);
    expect(stderr).toMatch(
      /mail: attempt 1\/3 via 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED.*; retrying in 2000 ms/,
    );
    expect(stderr).toMatch(
      /^mail: FAILED to ops@example\.test: mail: sending via 127\.0\.0\.1:\d+ failed after 3 attempts: .*ECONNREFUSED.*the reports are on disk$/m,
    );
    const result = readJson<{ status: string; code: string }>(join(out, 'mail.json'));
    expect(result).toMatchObject({ status: 'failed', code: 'MAIL_SEND_FAILED' });
    expectManifestIntact(out);
  }, 60_000);

  it('exits 3 with the SMTP reply when the server refuses the only recipient, without retrying', async () => {
    const { code, stderr, out } = await sweep(
      ['--mail-to', 'nobody@example.test', '--smtp', smtp()],
      ['--hosts', 'web-01'],
    );
    expect(code, stderr).toBe(3);
    expect(stderr).toMatch(
      /mail: FAILED to nobody@example\.test: .*550 5\.1\.1 <nobody@example\.test>: no such user/,
    );
    expect(stderr).not.toMatch(/retrying/);
    const result = readJson<{ reply?: { code: number; text: string } }>(join(out, 'mail.json'));
    expect(result.reply?.code).toBe(550);
    expectManifestIntact(out);
  }, 60_000);

  it('with --fail-on-alert, an alert exits 1 and leads the mail subject, its body and report.html', async () => {
    const rules = join(dir, 'alerts.yaml');
    writeFileSync(
      rules,
      [
        'rules:',
        '  - name: sudoers-changed',
        '    severity: high',
        '    when: { finding: watched-files, key: scope }',
        '  - name: root-login',
        '    severity: medium',
        '    when: { finding: logins, account: root }',
        '',
      ].join('\n'),
    );
    const healthy = ['--hosts', 'web-01,web-02'];
    const calm = await sweep(['--mail-to', 'ops@example.test', '--smtp', smtp(), '--alerts', rules], healthy);
    expect(calm.code, calm.stderr).toBe(0);

    const { code, stderr, out } = await sweep(
      ['--mail-to', 'ops@example.test', '--smtp', smtp(), '--alerts', rules, '--fail-on-alert'],
      healthy,
    );
    expect(code, stderr).toBe(1);
    expect(stderr).toMatch(
      /^ALERT \[high\] sudoers-changed: watched-files with key scope: web-0[12]: 8, first /m,
    );
    const mail = await lastMail();
    expect(mail.subject).toMatch(/^\[auditsweep\] 1 ALERT \(1 high\) — 2 hosts, 0 failed, /);
    const text = mail.text ?? '';
    expect(text.indexOf('ALERTS (1)')).toBeGreaterThan(-1);
    expect(text.indexOf('[HIGH] sudoers-changed')).toBeLessThan(text.indexOf('SUMMARY'));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html.indexOf('sudoers-changed')).toBeGreaterThan(-1);
    expect(html.indexOf('sudoers-changed')).toBeLessThan(html.indexOf('id="hosts"'));
    expect(expectManifestIntact(out).alerts).toEqual([
      expect.objectContaining({
        rule: 'sudoers-changed',
        severity: 'high',
        findings: 16,
        hosts: ['web-01', 'web-02'],
      }),
    ]);
  }, 60_000);

  it('refuses a broken alerts file or mail setting before contacting any host (exit 2)', async () => {
    const bad = join(dir, 'bad-alerts.yaml');
    writeFileSync(bad, 'rules:\n  - name: x\n    severity: urgent\n    when: { finding: logins }\n');
    const a = await sweep(['--alerts', bad]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(
      /bad-alerts\.yaml:3: rules\[0\] \(x\)\.severity: .*fix: one of high, medium, low/,
    );
    expect(existsSync(a.out)).toBe(false);
    const b = await sweep(['--mail-to', 'ops@example.test', '--smtp', 'http://mail.example.test']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/not an SMTP URL/);
    const c = await sweep(['--mail-to', 'ops@example.test']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--mail-to needs --smtp URL/);
  }, 60_000);
});
