/**
 * `auditsweep config check [--config FILE]`: prints the effective settings of `sweep --config FILE --yes` (each
 * with where it came from: config or default) or every problem (exit 2). Secrets are never printed: the file
 * cannot hold any, and the environment's are shown as set or not set.
 */
import type { Command } from 'commander';
import {
  formatConfigIssue,
  mergeSettings,
  resolveConfigFile,
  type SweepSettings,
} from '../../config/index.js';
import {
  SMTP_PASSWORD_ENV,
  SMTP_USER_ENV,
  SSH_PASSPHRASE_ENV,
  SSH_PASSWORD_ENV,
} from '../../config/schema.js';
import { SweepError } from '../../errors.js';
import { DEFAULT_ALERT_RULES } from '../../report/alerts.js';

function show(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** `key: value  (source)` lines of the settings. */
export function describeSettings(s: SweepSettings): string[] {
  const src = (key: string) => s.sources[key] ?? 'default';
  const rows: [string, unknown, string][] = [
    ['inventory', s.inventory, src('inventory')],
    ['selection.include', s.selection.include, src('selection.include')],
    ['selection.exclude', s.selection.exclude, src('selection.exclude')],
    ['selection.tags', s.selection.tags, src('selection.tags')],
    ['window.since', s.since, src('window.since')],
    ['window.until', s.until ?? 'now', src('window.until')],
    ['concurrency', s.concurrency, src('concurrency')],
    ['connectConcurrency', s.connectConcurrency, src('connectConcurrency')],
    ['hostTimeout', `${s.hostTimeout} s`, src('hostTimeout')],
    ['connectTimeout', `${s.connectTimeout} s`, src('connectTimeout')],
    ['retries', s.retries, src('retries')],
    ['output', s.reportsDir, src('output')],
    ['knownHosts', s.knownHosts ?? 'OpenSSH and auditsweep files', src('knownHosts')],
    ['sshConfig', s.sshConfig ?? '~/.ssh/config', src('sshConfig')],
    ['identity', s.identity ?? 'the inventory and ~/.ssh/config', src('identity')],
    ['user', s.user ?? 'the inventory', src('user')],
    ['incremental', s.incremental, src('incremental')],
    ['state', s.stateFile, src('state')],
    ['keepRaw', s.keepRaw, src('keepRaw')],
    ['bom', s.bom, src('bom')],
    ['passwd', s.passwd, src('passwd')],
    ['groupFile', s.groupFile, src('groupFile')],
    ['logFormat', s.logFormat, src('logFormat')],
    ['failOnAlert', s.failOnAlert, src('failOnAlert')],
  ];
  if (s.mail === undefined) {
    rows.push(['mail', 'off (no recipient)', 'default']);
  } else {
    rows.push(
      ['mail.to', s.mail.to, src('mail.to')],
      ['mail.cc', s.mail.cc ?? [], src('mail.cc')],
      ['mail.from', s.mail.from, src('mail.from')],
      ['mail.smtp', s.mail.dryRun ? 'dry run (message.eml)' : s.mail.url, src('mail.smtp')],
      [
        'mail.subject',
        s.mail.subjectTemplate ?? 'the built-in subject',
        s.mail.subjectTemplate ? 'config' : 'default',
      ],
    );
  }
  const alerts =
    s.alerts === undefined
      ? `built-in rules: ${DEFAULT_ALERT_RULES.map((r) => r.name).join(', ')}`
      : 'rules' in s.alerts
        ? `${s.alerts.rules.length} rules: ${s.alerts.rules.map((r) => r.name).join(', ') || '(none: alerts off)'}`
        : `rules file ${s.alerts.file}`;
  rows.push(['alerts', alerts, src('alerts')]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v, from]) => `${`${k}:`.padEnd(width + 2)}${show(v)}  (${from})`);
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('Check the config file (auditsweep.yaml)');
  config
    .command('check')
    .description(
      'Print the effective settings of `sweep --config FILE --yes`, or every problem of the file (exit 2)',
    )
    .option('-c, --config <file>', 'the config file (default: found as `sweep` finds it)')
    .action(async (flags: { config?: string }) => {
      const loaded = await resolveConfigFile({ configFlag: flags.config });
      for (const w of loaded.warnings) process.stderr.write(`WARNING: ${formatConfigIssue(w)}\n`);
      if (loaded.errors.length > 0) {
        throw new SweepError('CONFIG_INVALID', loaded.errors.map(formatConfigIssue).join('\n'));
      }
      const merged = mergeSettings({}, loaded.value);
      const file = loaded.value?.path;
      process.stdout.write(`config file: ${file ?? '(none found: defaults only)'}\n`);
      if (merged.value === undefined) {
        const issues = merged.errors.map(formatConfigIssue);
        throw new SweepError(
          'CONFIG_INVALID',
          `an unattended \`sweep --config ${file ?? 'FILE'} --yes\` would stop:\n${issues.join('\n')}`,
        );
      }
      process.stdout.write(`${describeSettings(merged.value).join('\n')}\n`);
      const envs = [SMTP_USER_ENV, SMTP_PASSWORD_ENV, SSH_PASSWORD_ENV, SSH_PASSPHRASE_ENV];
      process.stdout.write(
        `secrets (environment only): ${envs.map((e) => `${e} ${process.env[e] ? 'set' : 'not set'}`).join(', ')}\n`,
      );
    });
}
