/** Flags override the config file, which overrides the defaults; the merged settings are checked as a whole. */
import { describe, expect, it } from 'vitest';
import { formatConfigIssue, mergeSettings, parseConfigText } from '../../src/config/index.js';

const FILE = '/srv/audit/auditsweep.yaml';

function config(text: string) {
  const r = parseConfigText(text, FILE, { HOME: '/home/ops' });
  expect(r.errors).toEqual([]);
  return r.value!;
}

const BASE = [
  'inventory: inv.yaml',
  'selection: { include: [web], exclude: [web-03] }',
  'concurrency: 4',
  'output: out',
  'incremental: true',
  'mail: { to: [ops@example.com], smtp: "smtp://mail.example.com:587", subject: "weekly" }',
  '',
].join('\n');

describe('mergeSettings', () => {
  it('applies the defaults last, under the config file, under the flags', () => {
    const r = mergeSettings({}, config(BASE), { cwd: '/work' });
    expect(r.errors).toEqual([]);
    const s = r.value!;
    expect(s).toMatchObject({
      configFile: FILE,
      inventory: ['/srv/audit/inv.yaml'],
      selection: { include: ['web'], exclude: ['web-03'], tags: [] },
      since: '7d',
      concurrency: 4,
      connectConcurrency: 8,
      hostTimeout: 1800,
      connectTimeout: 15,
      retries: 2,
      reportsDir: '/srv/audit/out',
      stateFile: '/srv/audit/out/.state/incremental.json',
      incremental: true,
      logFormat: 'text',
      mail: { url: 'smtp://mail.example.com:587', to: ['ops@example.com'], subjectTemplate: 'weekly' },
    });
    expect(s.sources).toMatchObject({
      concurrency: 'config',
      connectConcurrency: 'default',
      inventory: 'config',
    });

    const f = mergeSettings(
      {
        inventory: ['other.ini'],
        hosts: ['db-*,mail'],
        concurrency: '2',
        incremental: false,
        mailTo: ['sec@example.com'],
        since: '24h',
      },
      config(BASE),
      { cwd: '/work' },
    ).value!;
    expect(f).toMatchObject({
      inventory: ['/work/other.ini'],
      // --hosts replaces selection.include; --exclude was not given, so the file's stays.
      selection: { include: ['db-*', 'mail'], exclude: ['web-03'] },
      concurrency: 2,
      incremental: false,
      since: '24h',
      mail: { to: ['sec@example.com'], url: 'smtp://mail.example.com:587' },
    });
    expect(f.sources).toMatchObject({ concurrency: 'flag', 'mail.to': 'flag', 'mail.smtp': 'config' });
  });

  it('without a config file uses the defaults relative to the working folder', () => {
    const s = mergeSettings({ inventory: ['inv.yaml'], all: true }, undefined, { cwd: '/work' }).value!;
    expect(s).toMatchObject({
      inventory: ['/work/inv.yaml'],
      selection: { include: ['all'] },
      reportsDir: '/work/reports',
      stateFile: '/work/reports/.state/incremental.json',
    });
    expect(s.mail).toBeUndefined();
  });

  it('names the flag or the config key that would make an unattended run complete', () => {
    const none = mergeSettings({}, undefined).errors.map(formatConfigIssue);
    expect(none).toEqual([
      expect.stringMatching(/^no inventory: pass --inventory FILE or set `inventory:` in a config file/),
      expect.stringMatching(/^choose hosts with --all, --group NAME or --hosts PATTERN$/),
    ]);
    const partial = mergeSettings({}, config('inventory: inv.yaml\nmail: { to: a@b.example }\n')).errors.map(
      formatConfigIssue,
    );
    expect(partial).toEqual([
      expect.stringMatching(
        /choose hosts with .* or set `selection: \{ include: \[all\] \}` in \/srv\/audit\/auditsweep\.yaml/,
      ),
      expect.stringMatching(
        /^\/srv\/audit\/auditsweep\.yaml:2: mail: mail has recipients but no SMTP server \(fix: set `mail\.smtp/,
      ),
    ]);
    const flags = mergeSettings(
      { inventory: ['i'], all: true, concurrency: 'x', retries: '-1', logFormat: 'xml', mailTo: ['nope'] },
      undefined,
    ).errors.map(formatConfigIssue);
    expect(flags).toEqual([
      '--concurrency takes a whole number ≥ 1, got x',
      '--retries takes a whole number ≥ 0, got -1',
      '--log-format is text or json, not xml',
      '--mail-to: nope is not an email address',
      '--mail-to needs --smtp URL (smtp://host:587 or smtps://host:465) or --mail-dry-run',
    ]);
  });

  it('drops credentials given in --smtp with a warning, and --mail-dry-run needs no server', () => {
    const r = mergeSettings(
      { inventory: ['i'], all: true, mailTo: ['a@b.example'], smtp: 'smtp://u:p@mail.example:25' },
      undefined,
    );
    expect(r.value?.mail?.url).toBe('smtp://mail.example:25');
    expect(r.warnings.map(formatConfigIssue)).toEqual([
      expect.stringMatching(/credentials in --smtp are ignored/),
    ]);
    const dry = mergeSettings(
      { inventory: ['i'], all: true, mailTo: ['a@b.example'], mailDryRun: true },
      undefined,
    );
    expect(dry.value?.mail).toMatchObject({ dryRun: true, to: ['a@b.example'] });
  });

  it('takes alert rules from the file unless --alerts names a file', () => {
    const c = config(`${BASE}alerts: []\n`);
    expect(mergeSettings({}, c).value?.alerts).toEqual({ rules: [] });
    expect(mergeSettings({ alerts: 'a.yaml' }, c, { cwd: '/w' }).value?.alerts).toEqual({
      file: '/w/a.yaml',
    });
  });
});
