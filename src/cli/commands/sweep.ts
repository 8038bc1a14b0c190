/**
 * `auditsweep sweep [--config FILE] --inventory FILE [--all | --group NAME | --hosts PATTERN] … --out DIR --yes
 *  [--mail-to ADDR --smtp URL | --mail-dry-run] [--alerts FILE] [--fail-on-alert]`.
 *
 * Flags override the config file (auditsweep.yaml, src/config/), which overrides the defaults: the options below
 * carry no commander defaults, so an option is set only when the user typed it (config/merge.ts fills the rest).
 * With a config file, a lock (src/lock.ts) keeps two runs of it from overlapping.
 */
import type { Command } from 'commander';
import {
  DEFAULTS,
  formatConfigIssue,
  resolveSweepSettings,
  type SweepFlagValues,
  type SweepSettings,
} from '../../config/index.js';
import { parseWindow } from '../../config/window.js';
import { SweepError } from '../../errors.js';
import { defaultKnownHostsFiles } from '../../fetch/session.js';
import { acquireLock, type HeldLock, lockPathFor } from '../../lock.js';
import { oneLine, SMTP_PASSWORD_ENV, SMTP_USER_ENV } from '../../mail/index.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { type AlertRule, formatAlertRuleIssue, loadAlertRules } from '../../report/alerts.js';
import { type MailOutcome, runSweep } from '../../sweep.js';
import type { HostOutcome } from '../../types.js';
import { EXIT } from '../exit-codes.js';
import { askSecret, confirmOrFail } from '../prompts.js';

interface SweepFlags extends SweepFlagValues {
  config?: string;
  yes?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function findingCount(findings: Readonly<Record<string, number>>): number {
  return Object.values(findings).reduce((a, b) => a + b, 0);
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

async function alertRules(alerts: SweepSettings['alerts']): Promise<readonly AlertRule[] | undefined> {
  if (alerts === undefined) return undefined;
  if ('rules' in alerts) return alerts.rules;
  const loaded = await loadAlertRules(alerts.file);
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

/** Config file + flags + defaults, or a CONFIG_INVALID error listing every issue; warnings go to stderr. */
async function settingsOf(flags: SweepFlags): Promise<SweepSettings> {
  const { config, yes: _yes, ...values } = flags;
  const resolved = await resolveSweepSettings(values, { configFlag: config });
  for (const w of resolved.warnings) process.stderr.write(`WARNING: ${formatConfigIssue(w)}\n`);
  if (resolved.value === undefined) {
    throw new SweepError('CONFIG_INVALID', resolved.errors.map(formatConfigIssue).join('\n'));
  }
  return resolved.value;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description(
      'Collect the audit logs of the selected hosts over SSH and write the report set (events, hosts, summary, findings, manifest)',
    )
    .option(
      '-c, --config <file>',
      'config file (default $AUDITSWEEP_CONFIG, ./auditsweep.yaml, then ~/.config/auditsweep/auditsweep.yaml); flags override it',
    )
    .option(
      '-i, --inventory <file>',
      'inventory file (native YAML, Ansible INI or YAML); repeatable; or `inventory:` in the config file',
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
    .option('--concurrency <n>', `hosts collected at once (default ${DEFAULTS.concurrency})`)
    .option(
      '--connect-concurrency <n>',
      `simultaneous connection attempts, keep below sshd MaxStartups (default ${DEFAULTS.connectConcurrency})`,
    )
    .option(
      '--host-timeout <seconds>',
      `deadline for the whole collection of one host (default ${DEFAULTS.hostTimeout})`,
    )
    .option(
      '--connect-timeout <seconds>',
      `per hop: TCP connect up to a finished key exchange (default ${DEFAULTS.connectTimeout})`,
    )
    .option(
      '--retries <n>',
      `extra attempts for transient failures (refused, reset, timeout); never for auth or host keys (default ${DEFAULTS.retries})`,
    )
    .option(
      '--since <when>',
      `review window start: 7d, 24h, 2026-11-16 or an ISO time (default ${DEFAULTS.since})`,
    )
    .option('--until <when>', 'review window end (default now)')
    .option('-o, --out <dir>', 'output folder (default <reports folder>/<run-id>); never an earlier report')
    .option('-y, --yes', 'run without asking for confirmation (required when not at a terminal)')
    .option('--incremental', 'read only what was written since the last incremental sweep')
    .option('--no-incremental', 'read the whole window even when the config file says incremental')
    .option('--state <file>', `incremental state file (default <reports folder>/${DEFAULTS.state})`)
    .option(
      '--keep-raw',
      'also keep the exact bytes received, with SHA-256, under DIR/raw (chain of custody)',
    )
    .option('--no-keep-raw', 'do not keep the raw bytes even when the config file says so')
    .option('--passwd <file>', 'passwd file of the hosts, to name uids in RAW logs')
    .option('--group-file <file>', 'group file of the hosts, to name gids in RAW logs')
    .option('--bom', 'start CSV files with a UTF-8 byte order mark (for Excel)')
    .option('--no-bom', 'no byte order mark even when the config file asks for one')
    .option('--log-format <format>', 'stderr log lines: text or json (default text)')
    .option(
      '--insecure-accept-unknown-host-keys',
      'DANGEROUS: connect to hosts whose key is not in known_hosts; every report then says so (never from a config file)',
    )
    .option('--mail-to <addr>', 'mail the report to these addresses (comma-separated); repeatable', collect)
    .option('--mail-cc <addr>', 'copy the mail to these addresses (comma-separated); repeatable', collect)
    .option('--mail-from <addr>', 'sender address (default auditsweep@<this host>)')
    .option(
      '--smtp <url>',
      `SMTP server: smtp://host:587 (STARTTLS when offered) or smtps://host:465; credentials from ${SMTP_USER_ENV} / ${SMTP_PASSWORD_ENV}`,
    )
    .option('--mail-dry-run', 'write the mail to message.eml in the run folder instead of sending it')
    .option(
      '--alerts <file>',
      "alert rules (YAML, see README); replaces the config file's and the built-in rules",
    )
    .option('--fail-on-alert', 'exit 1 when an alert fires (for schedulers)')
    .option('--no-fail-on-alert', 'exit 0 on alerts even when the config file says failOnAlert')
    .action(async (flags: SweepFlags) => {
      const settings = await settingsOf(flags);
      const window = parseWindow(settings.since, settings.until);
      const alerts = await alertRules(settings.alerts);
      const accounts =
        settings.passwd !== undefined || settings.groupFile !== undefined
          ? await loadAccountMaps(settings.passwd, settings.groupFile)
          : undefined;
      if (settings.insecureAcceptUnknownHostKeys) {
        process.stderr.write(
          'WARNING: host keys of unknown hosts will NOT be verified (--insecure-accept-unknown-host-keys); every report says so\n',
        );
      }
      // One run per config file at a time; the lock goes with the process (exit, SIGINT, SIGTERM).
      let lock: HeldLock | undefined;
      if (settings.configFile !== undefined) {
        lock = await acquireLock(lockPathFor(settings.configFile, settings.reportsDir), {
          onWarning: (m) => process.stderr.write(`WARNING: ${m}\n`),
        });
      }
      const controller = new AbortController();
      const onSignal = () => controller.abort(new Error('interrupted by signal'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const summary = await runSweep({
          inventoryFiles: settings.inventory,
          sshConfigFile: settings.sshConfig,
          selection: settings.selection,
          defaults: settings.user ? { user: settings.user } : undefined,
          // Without --out the library makes <reports folder>/<run-id>, with a suffix when that folder exists.
          outDir: settings.outDir,
          reportsDir: settings.reportsDir,
          window,
          concurrency: settings.concurrency,
          connectConcurrency: settings.connectConcurrency,
          hostDeadlineMs: settings.hostTimeout * 1000,
          timeouts: { connectMs: settings.connectTimeout * 1000 },
          retry: { attempts: 1 + settings.retries },
          knownHostsFiles: settings.knownHosts ?? defaultKnownHostsFiles(),
          auth: {
            ...(settings.identity ? { identityFiles: settings.identity } : {}),
            // Prompts only at a terminal; the environment variables are read first (src/fetch/auth.ts).
            askPassphrase: (file) => askSecret(`Passphrase for ${file}:`),
            askPassword: (t) => askSecret(`Password for ${t.user}@${t.name} (${t.address}:${t.port}):`),
          },
          insecureAcceptUnknownHostKeys: settings.insecureAcceptUnknownHostKeys,
          incremental: settings.incremental,
          stateFile: settings.stateFile,
          keepRaw: settings.keepRaw,
          accounts,
          bom: settings.bom,
          signal: controller.signal,
          onHostDone: (o) => logOutcome(o, settings.logFormat),
          alerts,
          mail: settings.mail,
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
            : failed.length > 0 || (settings.failOnAlert && summary.alerts.length > 0)
              ? EXIT.FAILED
              : EXIT.OK;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await lock?.release();
      }
    });
}
