/**
 * `auditsweep sweep --inventory FILE [--all | --group NAME | --hosts PATTERN] … --out DIR --yes
 *  [--mail-to ADDR --smtp URL | --mail-dry-run] [--alerts FILE] [--fail-on-alert]`.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseWindow } from '../../config/window.js';
import { SweepError } from '../../errors.js';
import { defaultKnownHostsFiles } from '../../fetch/session.js';
import { oneLine, SMTP_PASSWORD_ENV, SMTP_USER_ENV } from '../../mail/index.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { type AlertRule, formatAlertRuleIssue, loadAlertRules } from '../../report/alerts.js';
import { type MailOutcome, runSweep, type SweepMailSettings } from '../../sweep.js';
import type { HostOutcome } from '../../types.js';
import { EXIT } from '../exit-codes.js';
import { askSecret, confirmOrFail } from '../prompts.js';

interface SweepFlags {
  inventory: string[];
  all?: boolean;
  group?: string[];
  hosts?: string[];
  exclude?: string[];
  tag?: string[];
  sshConfig?: string;
  knownHosts?: string[];
  identity?: string[];
  user?: string;
  concurrency: string;
  connectConcurrency: string;
  hostTimeout: string;
  connectTimeout: string;
  retries: string;
  since?: string;
  until?: string;
  out?: string;
  yes?: boolean;
  incremental?: boolean;
  state?: string;
  keepRaw?: boolean;
  passwd?: string;
  groupFile?: string;
  bom?: boolean;
  logFormat: string;
  insecureAcceptUnknownHostKeys?: boolean;
  mailTo?: string[];
  mailCc?: string[];
  mailFrom?: string;
  smtp?: string;
  mailDryRun?: boolean;
  alerts?: string;
  failOnAlert?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new SweepError('USAGE', `${flag} takes a whole number ≥ 1, got ${value}`);
  return n;
}

function nonNegativeInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new SweepError('USAGE', `${flag} takes a whole number ≥ 0, got ${value}`);
  return n;
}

function findingCount(findings: Readonly<Record<string, number>>): number {
  return Object.values(findings).reduce((a, b) => a + b, 0);
}

/** `a@x,b@y` given once or more → the addresses; each must look like one (no spaces, one `@`). */
function addresses(values: readonly string[] | undefined, flag: string): string[] {
  const list = (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const a of list) {
    if (!/^[^\s@<>,]+@[^\s@<>,]+$/.test(a))
      throw new SweepError('USAGE', `${flag}: ${a} is not an email address`);
  }
  return list;
}

/**
 * The mail settings of the flags, or undefined when no mail is wanted. Credentials come only from the
 * environment: a user or password in --smtp (visible in `ps` and shell history) is dropped with a warning.
 */
function mailSettings(flags: SweepFlags): SweepMailSettings | undefined {
  const to = addresses(flags.mailTo, '--mail-to');
  const cc = addresses(flags.mailCc, '--mail-cc');
  if (to.length === 0) {
    if (flags.smtp !== undefined || flags.mailDryRun || cc.length > 0 || flags.mailFrom !== undefined) {
      throw new SweepError('USAGE', 'mail needs a recipient: add --mail-to ADDR');
    }
    return undefined;
  }
  if (flags.smtp === undefined && !flags.mailDryRun) {
    throw new SweepError(
      'USAGE',
      '--mail-to needs --smtp URL (smtp://host:587 or smtps://host:465) or --mail-dry-run',
    );
  }
  let url = flags.smtp;
  if (url !== undefined) {
    try {
      const u = new URL(url);
      if (u.username !== '' || u.password !== '') {
        u.username = '';
        u.password = '';
        url = u.toString();
        process.stderr.write(
          `WARNING: the credentials in --smtp are ignored (they show in ps and shell history); set ${SMTP_USER_ENV} and ${SMTP_PASSWORD_ENV}\n`,
        );
      }
    } catch {
      // Not a URL: the mail stage says so (CONFIG_INVALID) before any host is contacted.
    }
  }
  const from = flags.mailFrom ?? `auditsweep@${hostname()}`;
  addresses([from], '--mail-from');
  return {
    ...(url === undefined ? {} : { url }),
    from,
    to,
    ...(cc.length > 0 ? { cc } : {}),
    ...(flags.mailDryRun ? { dryRun: true } : {}),
  };
}

/** One line about the mail for stderr. */
function mailLine(m: MailOutcome): string {
  switch (m.status) {
    case 'sent': {
      const refused = m.rejected.length > 0 ? `; REFUSED ${m.rejected.join(', ')}` : '';
      return `mail: sent to ${m.accepted.join(', ')}${refused}, message id ${m.messageId} (${m.response})`;
    }
    case 'dry-run':
      return `mail: dry run, nothing sent; message for ${m.to.join(', ')} written to ${m.path}`;
    case 'failed':
      return `mail: FAILED to ${m.to.join(', ')}: ${m.message}`;
  }
}

async function alertRules(file: string | undefined): Promise<AlertRule[] | undefined> {
  if (file === undefined) return undefined;
  const loaded = await loadAlertRules(file);
  if (loaded.value === undefined) {
    throw new SweepError(
      'CONFIG_INVALID',
      `alert rules are invalid:\n${loaded.errors.map(formatAlertRuleIssue).join('\n')}`,
    );
  }
  return loaded.value;
}

function logOutcome(o: HostOutcome, format: string): void {
  if (format === 'json') {
    process.stderr.write(
      `${JSON.stringify({ host: o.host, outcome: o.status, code: o.code ?? null, message: o.message, files: o.files, bytes: o.bytes, events: o.events, duration_ms: o.durationMs })}\n`,
    );
    return;
  }
  const code = o.code ? ` ${o.code}` : '';
  process.stderr.write(`${o.status.padEnd(7)} ${o.host}${code}: ${o.message}\n`);
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description(
      'Collect the audit logs of the selected hosts over SSH and write the report set (events, hosts, summary, findings, manifest)',
    )
    .requiredOption(
      '-i, --inventory <file>',
      'inventory file (native YAML, Ansible INI or YAML); repeatable',
      collect,
    )
    .option('--all', 'select every host of the inventory')
    .option('-g, --group <name>', 'select the hosts of a group (nested groups included); repeatable', collect)
    .option(
      '--hosts <pattern>',
      'select hosts by name or glob (web-*, db-0[1-3]), comma-separated; repeatable',
      collect,
    )
    .option('--exclude <pattern>', 'leave out hosts, groups or globs; repeatable', collect)
    .option('--tag <tag>', 'keep only hosts with this tag; repeatable', collect)
    .option('--ssh-config <file>', 'OpenSSH client config to honour (default ~/.ssh/config)')
    .option(
      '--known-hosts <file>',
      'known_hosts file to verify host keys with; repeatable (default: OpenSSH and auditsweep files)',
      collect,
    )
    .option(
      '--identity <file>',
      'private key to log in with (replaces the inventory keys); repeatable',
      collect,
    )
    .option('--user <name>', 'login name for hosts whose inventory gives none')
    .option('--concurrency <n>', 'hosts collected at once', '16')
    .option(
      '--connect-concurrency <n>',
      'simultaneous connection attempts (keep below sshd MaxStartups)',
      '8',
    )
    .option('--host-timeout <seconds>', 'deadline for the whole collection of one host', '1800')
    .option('--connect-timeout <seconds>', 'per hop: TCP connect up to a finished key exchange', '15')
    .option(
      '--retries <n>',
      'extra attempts for transient failures (refused, reset, timeout); never for auth or host keys',
      '2',
    )
    .option('--since <when>', 'review window start: 7d, 24h, 2026-11-16 or an ISO time (default 7d)')
    .option('--until <when>', 'review window end (default now)')
    .option('-o, --out <dir>', 'output folder (default reports/<run-id>); never an earlier report')
    .option('-y, --yes', 'run without asking for confirmation (required when not at a terminal)')
    .option('--incremental', 'read only what was written since the last incremental sweep')
    .option('--state <file>', 'incremental state file', 'reports/.state/incremental.json')
    .option(
      '--keep-raw',
      'also keep the exact bytes received, with SHA-256, under DIR/raw (chain of custody)',
    )
    .option('--passwd <file>', 'passwd file of the hosts, to name uids in RAW logs')
    .option('--group-file <file>', 'group file of the hosts, to name gids in RAW logs')
    .option('--bom', 'start CSV files with a UTF-8 byte order mark (for Excel)')
    .option('--log-format <format>', 'stderr log lines: text or json', 'text')
    .option(
      '--insecure-accept-unknown-host-keys',
      'DANGEROUS: connect to hosts whose key is not in known_hosts; every report then says so',
    )
    .option('--mail-to <addr>', 'mail the report to these addresses (comma-separated); repeatable', collect)
    .option('--mail-cc <addr>', 'copy the mail to these addresses (comma-separated); repeatable', collect)
    .option('--mail-from <addr>', 'sender address (default auditsweep@<this host>)')
    .option(
      '--smtp <url>',
      `SMTP server: smtp://host:587 (STARTTLS when offered) or smtps://host:465; credentials from ${SMTP_USER_ENV} / ${SMTP_PASSWORD_ENV}`,
    )
    .option('--mail-dry-run', 'write the mail to message.eml in the run folder instead of sending it')
    .option('--alerts <file>', 'alert rules (YAML, see README); replaces the built-in rules')
    .option('--fail-on-alert', 'exit 1 when an alert fires (for schedulers)')
    .action(async (flags: SweepFlags) => {
      const include = [...(flags.group ?? []), ...(flags.hosts ?? []).flatMap((p) => p.split(','))];
      if (!flags.all && include.length === 0) {
        throw new SweepError('USAGE', 'choose hosts with --all, --group NAME or --hosts PATTERN');
      }
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json') {
        throw new SweepError('USAGE', `--log-format is text or json, not ${flags.logFormat}`);
      }
      const window = parseWindow(flags.since ?? '7d', flags.until);
      const mail = mailSettings(flags);
      const alerts = await alertRules(flags.alerts);
      // Without --out the library makes reports/<run-id>, with a suffix when that folder exists already.
      const outDir = flags.out === undefined ? undefined : resolve(flags.out);
      const accounts =
        flags.passwd !== undefined || flags.groupFile !== undefined
          ? await loadAccountMaps(flags.passwd, flags.groupFile)
          : undefined;
      if (flags.insecureAcceptUnknownHostKeys) {
        process.stderr.write(
          'WARNING: host keys of unknown hosts will NOT be verified (--insecure-accept-unknown-host-keys); every report says so\n',
        );
      }
      const controller = new AbortController();
      const onSignal = () => controller.abort(new Error('interrupted by signal'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await runSweep({
          inventoryFiles: flags.inventory,
          sshConfigFile: flags.sshConfig,
          selection: {
            include: flags.all ? ['all', ...include] : include,
            exclude: flags.exclude ?? [],
            tags: flags.tag ?? [],
          },
          defaults: flags.user ? { user: flags.user } : undefined,
          outDir,
          reportsDir: resolve('reports'),
          window,
          concurrency: positiveInt(flags.concurrency, '--concurrency'),
          connectConcurrency: positiveInt(flags.connectConcurrency, '--connect-concurrency'),
          hostDeadlineMs: positiveInt(flags.hostTimeout, '--host-timeout') * 1000,
          timeouts: { connectMs: positiveInt(flags.connectTimeout, '--connect-timeout') * 1000 },
          retry: { attempts: 1 + nonNegativeInt(flags.retries, '--retries') },
          knownHostsFiles: flags.knownHosts ?? defaultKnownHostsFiles(),
          auth: {
            ...(flags.identity ? { identityFiles: flags.identity } : {}),
            // Prompts only at a terminal; the environment variables are read first (src/fetch/auth.ts).
            askPassphrase: (file) => askSecret(`Passphrase for ${file}:`),
            askPassword: (t) => askSecret(`Password for ${t.user}@${t.name} (${t.address}:${t.port}):`),
          },
          insecureAcceptUnknownHostKeys: flags.insecureAcceptUnknownHostKeys,
          incremental: flags.incremental,
          stateFile: flags.state,
          keepRaw: flags.keepRaw,
          accounts,
          bom: flags.bom,
          signal: controller.signal,
          onHostDone: (o) => logOutcome(o, flags.logFormat),
          alerts,
          mail,
          // Retries and warnings as they happen; the outcome is one line below.
          onMailLog: (line) => {
            if (!line.startsWith('mail: sent to') && !line.startsWith('mail: dry run'))
              process.stderr.write(`${line}\n`);
          },
          confirm: flags.yes
            ? undefined
            : (hosts, dir) =>
                confirmOrFail(
                  `Sweep ${hosts.length} host${hosts.length === 1 ? '' : 's'} (${hosts
                    .slice(0, 5)
                    .map((h) => h.name)
                    .join(
                      ', ',
                    )}${hosts.length > 5 ? ', …' : ''}), window ${new Date(window.since ?? 0).toISOString()} → ${
                    window.until === undefined ? 'now' : new Date(window.until).toISOString()
                  }, reports in ${dir}?`,
                  '--yes',
                ),
        });
        const failed = summary.outcomes.filter((o) => o.status !== 'ok');
        const c = summary.counters;
        process.stderr.write(
          `${summary.outcomes.length} hosts: ${summary.outcomes.length - failed.length} ok, ${failed.length} failed or partial; ` +
            `${c.events} events, ${c.malformed} bad lines, ${findingCount(summary.findings)} findings; reports in ${summary.outDir}\n`,
        );
        for (const w of summary.warnings) process.stderr.write(`WARNING: ${w}\n`);
        for (const a of summary.alerts) {
          process.stderr.write(`ALERT [${a.severity}] ${a.rule}: ${oneLine(a.message)}\n`);
        }
        if (summary.mail) process.stderr.write(`${mailLine(summary.mail)}\n`);
        // The worst first: mail not sent (reports kept) > hosts failed > alerts with --fail-on-alert.
        process.exitCode =
          summary.mail?.status === 'failed'
            ? EXIT.MAIL_FAILED
            : failed.length > 0 || (flags.failOnAlert && summary.alerts.length > 0)
              ? EXIT.FAILED
              : EXIT.OK;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
