/** auditsweep.yaml as a user writes it: every problem with its file, line, key and fix; secrets refused. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findConfigFile, formatConfigIssue, parseConfigText } from '../../src/config/index.js';

const FILE = '/etc/auditsweep/auditsweep.yaml';
const ENV = { HOME: '/home/ops' };

function errors(text: string): string[] {
  const r = parseConfigText(text, FILE, ENV);
  expect(r.value).toBeUndefined();
  return r.errors.map(formatConfigIssue);
}

describe('parseConfigText', () => {
  it('normalizes a full file: lists as lists, paths against the file folder, ~ against HOME', () => {
    const r = parseConfigText(
      [
        'inventory: inventory/prod.yaml',
        'selection: { include: [web, db-*], exclude: db-legacy, tags: pci }',
        'window: { since: 14d, until: 1d }',
        'concurrency: 32',
        'connectConcurrency: 4',
        'hostTimeout: 600',
        'connectTimeout: 5',
        'retries: 0',
        'output: /var/lib/auditsweep/reports',
        'knownHosts: ~/.ssh/known_hosts',
        'sshConfig: false',
        'identity: [keys/id_ed25519]',
        'user: audit',
        'incremental: true',
        'state: state.json',
        'keepRaw: true',
        'bom: true',
        'logFormat: json',
        'failOnAlert: true',
        'mail:',
        '  to: secops@example.com',
        '  cc: [it@example.com]',
        '  from: auditsweep@example.com',
        '  smtp: smtp://mail.example.com:587',
        '  subject: "[audit] {status}"',
        '  maxMessageBytes: 5000000',
        'alerts:',
        '  - { name: root-login, severity: medium, when: { finding: logins, account: root } }',
        '',
      ].join('\n'),
      FILE,
      ENV,
    );
    expect(r.errors).toEqual([]);
    expect(r.value).toMatchObject({
      path: FILE,
      inventory: ['/etc/auditsweep/inventory/prod.yaml'],
      selection: { include: ['web', 'db-*'], exclude: ['db-legacy'], tags: ['pci'] },
      window: { since: '14d', until: '1d' },
      concurrency: 32,
      retries: 0,
      output: '/var/lib/auditsweep/reports',
      knownHosts: ['/home/ops/.ssh/known_hosts'],
      sshConfig: false,
      identity: ['/etc/auditsweep/keys/id_ed25519'],
      state: '/etc/auditsweep/state.json',
      logFormat: 'json',
      mail: {
        to: ['secops@example.com'],
        cc: ['it@example.com'],
        smtp: 'smtp://mail.example.com:587',
        subject: '[audit] {status}',
        maxMessageBytes: 5_000_000,
      },
      alerts: [{ name: 'root-login', severity: 'medium' }],
    });
    expect(r.value?.lines['mail.smtp']).toBe(24);
  });

  it('refuses secrets, naming the line and the environment variable and never repeating the value', () => {
    const out = errors(
      [
        'inventory: inv.yaml',
        'mail:',
        '  to: ops@example.com',
        '  smtp: smtp://bob:hunter2@mail.example.com:587',
        '  password: hunter2',
        '  user: bob',
        'sshPassword: s3cret',
        'passphrase: s3cret',
        'passwd: files/passwd',
        '',
      ].join('\n'),
    );
    expect(out.join('\n')).not.toMatch(/hunter2|s3cret/);
    expect(out).toEqual([
      expect.stringMatching(
        /^\/etc\/auditsweep\/auditsweep\.yaml:4: mail\.smtp: the SMTP URL holds credentials.*AUDITSWEEP_SMTP_USER and AUDITSWEEP_SMTP_PASSWORD/,
      ),
      expect.stringMatching(
        /:5: mail\.password: .*holds a secret.*AUDITSWEEP_SMTP_PASSWORD environment variable/,
      ),
      expect.stringMatching(/:6: mail\.user: .*AUDITSWEEP_SMTP_USER environment variable/),
      expect.stringMatching(/:7: sshPassword: .*AUDITSWEEP_SSH_PASSWORD environment variable/),
      expect.stringMatching(/:8: passphrase: .*AUDITSWEEP_SSH_PASSPHRASE environment variable/),
    ]);
  });

  it('names an unknown key with a "did you mean" and the keys allowed there', () => {
    expect(errors('concurrncy: 4\nmail:\n  too: a@b.c\nknown_hosts: x\n')).toEqual([
      expect.stringMatching(
        /:1: concurrncy: unknown key `concurrncy` \(fix: did you mean `concurrency`\? keys allowed here: inventory, /,
      ),
      expect.stringMatching(
        /:3: mail\.too: unknown key `too` \(fix: did you mean `to`\? keys allowed here: to, cc, from, smtp/,
      ),
      expect.stringMatching(/:4: known_hosts: unknown key `known_hosts` \(fix: did you mean `knownHosts`\?/),
    ]);
  });

  it('says what is wrong with a value and how to write it, with the line', () => {
    expect(
      errors(
        'concurrency: 0\nwindow: { since: 7x }\nmail: { to: [ok@example.com, bad], smtp: "http://x" }\nlogFormat: xml\nalerts:\n  - { name: a, severity: urgent, when: { finding: logins } }\n',
      ),
    ).toEqual([
      expect.stringMatching(/:1: concurrency: `concurrency` is out of range.*\(fix: a whole number ≥ 1/),
      expect.stringMatching(/:2: window\.since: .*not a time \(fix: a span like 7d/),
      expect.stringMatching(/:3: mail\.to\[1\]: .*not an email address/),
      expect.stringMatching(/:3: mail\.smtp: .*the scheme is http:, not smtp: or smtps:/),
      expect.stringMatching(/:4: logFormat: `logFormat` must be "text" or "json"/),
      expect.stringMatching(/:6: alerts\[0\] \(a\)\.severity: .*one of high, medium, low/),
    ]);
  });

  it('checks since before until, and reports YAML syntax errors with their line', () => {
    expect(errors('window: { since: 2026-11-20, until: 2026-11-10 }\n')).toEqual([
      expect.stringMatching(/:1: window\.until: `until` \(2026-11-10\) is not after `since` \(2026-11-20\)/),
    ]);
    expect(errors('inventory: a\ninventory: b\n')[0]).toMatch(/:2: inventory: `inventory` appears twice/);
  });

  it('warns about mail settings without recipients', () => {
    const r = parseConfigText('mail: { smtp: "smtp://m:25" }\n', FILE, ENV);
    expect(r.value).toBeDefined();
    expect(r.warnings.map(formatConfigIssue)).toEqual([
      expect.stringMatching(/:1: mail: mail settings without `to`/),
    ]);
  });
});

describe('findConfigFile', () => {
  it('takes --config, then AUDITSWEEP_CONFIG, then ./auditsweep.yaml, then $XDG_CONFIG_HOME/auditsweep/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-find-'));
    const xdg = join(dir, 'xdg');
    const env = { XDG_CONFIG_HOME: xdg, HOME: dir };
    expect(findConfigFile({ cwd: dir, env })).toBeUndefined();
    mkdirSync(join(xdg, 'auditsweep'), { recursive: true });
    writeFileSync(join(xdg, 'auditsweep', 'auditsweep.yaml'), '');
    expect(findConfigFile({ cwd: dir, env })).toEqual({
      path: join(xdg, 'auditsweep', 'auditsweep.yaml'),
      explicit: false,
    });
    writeFileSync(join(dir, 'auditsweep.yaml'), '');
    expect(findConfigFile({ cwd: dir, env })?.path).toBe(join(dir, 'auditsweep.yaml'));
    expect(findConfigFile({ cwd: dir, env: { ...env, AUDITSWEEP_CONFIG: 'other.yaml' } })).toEqual({
      path: join(dir, 'other.yaml'),
      explicit: true,
    });
    expect(findConfigFile({ cwd: dir, env, flag: '/x/y.yaml' })).toEqual({
      path: '/x/y.yaml',
      explicit: true,
    });
  });
});
