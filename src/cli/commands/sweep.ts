/**
 * `auditsweep sweep [--config FILE] --inventory FILE [--all | --group NAME | --hosts PATTERN] … --out DIR --yes
 *  [--mail-to ADDR --smtp URL | --mail-dry-run] [--alerts FILE] [--fail-on-alert] [--events-only]`.
 *
 * Flags override the config file (auditsweep.yaml, src/config/), which overrides the defaults: the options below
 * carry no commander defaults, so an option is set only when the user typed it (config/merge.ts fills the rest).
 * With a config file, a lock (src/lock.ts) keeps two runs of it from overlapping.
 */
import { relative, sep } from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULTS,
  formatConfigIssue,
  resolveSweepSettings,
  type SweepFlagValues,
  type SweepSettings,
} from '../../config/index.js';
import { parseWindow } from '../../config/window.js';
import { isSweepError, SweepError } from '../../errors.js';
import { addKnownHost } from '../../fetch/known-hosts.js';
import { auditsweepKnownHostsFile, defaultKnownHostsFiles, fetchHostKey } from '../../fetch/session.js';
import { formatIssue, loadInventory } from '../../inventory/index.js';
import type { InventoryHost } from '../../inventory/types.js';
import { acquireLock, type HeldLock, lockPathFor } from '../../lock.js';
import { oneLine, SMTP_PASSWORD_ENV, SMTP_USER_ENV } from '../../mail/index.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { type AlertRule, formatAlertRuleIssue, loadAlertRules } from '../../report/alerts.js';
import { type MailOutcome, runSweep, type SweepSummary } from '../../sweep.js';
import { EXIT } from '../exit-codes.js';
import { loadLastSelection, saveLastSelection } from '../last-selection.js';
import { boundsOptions, collect, connectOptions, selectionOptions, sourceOptions } from '../options.js';
import { createProgress, type SweepProgress } from '../progress.js';
import { askSecret, askTrustUnknownHost, canPrompt, confirmOrFail } from '../prompts.js';
import { runSweepWizard } from '../select-interactive.js';

interface SweepFlags extends SweepFlagValues {
  config?: string;
  yes?: boolean;
}

function findingCount(findings: Readonly<Record<string, number>>): number {
  return Object.values(findings).reduce((a, b) => a + b, 0);
}

/**
 * What the run counted, for the closing line: events and bad lines, then the findings; an events-only run
 * classified none, so it names the files it wrote instead of claiming zero findings.
 */
function countsLine(summary: SweepSummary, eventsOnly: boolean): string {
  const c = summary.counters;
  const counted = `${c.events} events, ${c.malformed} bad lines`;
  return eventsOnly
    ? `${counted}; events only: ${writtenNames(summary).join(', ')}`
    : `${counted}, ${findingCount(summary.findings)} findings`;
}

/** The files the run wrote, relative to its folder (`events.csv`, `raw/manifest.json`, …). */
function writtenNames(summary: SweepSummary): string[] {
  return summary.written.map((p) => relative(summary.outDir, p).split(sep).join('/'));
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

/** The merge's complaint that no host was chosen: the one error the interactive picker can answer. */
const NO_SELECTION = 'choose hosts with --all, --group NAME or --hosts PATTERN';

function hasSelectionFlags(flags: SweepFlags): boolean {
  return Boolean(flags.all) || (flags.group ?? []).length > 0 || (flags.hosts ?? []).length > 0;
}

/**
 * Config file + flags + defaults, or a CONFIG_INVALID error listing every issue; warnings go to stderr.
 * `interactive` is true when no host was chosen (no --all/--group/--hosts, no `selection:` in the config file)
 * but a person is at the terminal: the selection is then a placeholder that the wizard replaces.
 */
async function settingsOf(flags: SweepFlags): Promise<{ settings: SweepSettings; interactive: boolean }> {
  const { config, yes: _yes, ...values } = flags;
  let resolved = await resolveSweepSettings(values, { configFlag: config });
  let interactive = false;
  if (
    resolved.value === undefined &&
    !hasSelectionFlags(flags) &&
    canPrompt() &&
    resolved.errors.every((e) => formatConfigIssue(e).includes(NO_SELECTION))
  ) {
    interactive = true;
    resolved = await resolveSweepSettings({ ...values, all: true }, { configFlag: config });
  }
  for (const w of resolved.warnings) process.stderr.write(`WARNING: ${formatConfigIssue(w)}\n`);
  if (resolved.value === undefined) {
    throw new SweepError('CONFIG_INVALID', resolved.errors.map(formatConfigIssue).join('\n'));
  }
  return { settings: resolved.value, interactive };
}

/**
 * Asks for the hosts, window and mail recipients (select-interactive.ts) and returns the settings with the
 * answers in; remembers the selection for next time. A "no" at the summary cancels (USAGE, nothing contacted).
 * Mail is offered only when it can go out (SMTP or a dry run configured); the wizard says so otherwise.
 */
async function askSweep(settings: SweepSettings): Promise<SweepSettings> {
  const loaded = await loadInventory(settings.inventory, {
    ...(settings.sshConfig !== undefined ? { sshConfigFile: settings.sshConfig } : {}),
    ...(settings.user ? { defaults: { user: settings.user } } : {}),
  });
  if (loaded.value === undefined) {
    throw new SweepError('INVENTORY_INVALID', loaded.errors.map(formatIssue).join('\n'));
  }
  const answers = await runSweepWizard(loaded.value, {
    lastSelection: await loadLastSelection(settings.inventory),
    defaults: {
      since: settings.since,
      ...(settings.until === undefined ? {} : { until: settings.until }),
      ...(settings.mail ? { mailTo: settings.mail.to } : {}),
      ...(settings.outDir === undefined ? {} : { outDir: settings.outDir }),
    },
    mailAvailable: settings.mail !== undefined,
    // --exclude and --tag (or the config file's) bound what the picker offers.
    within: { exclude: settings.selection.exclude, tags: settings.selection.tags },
  });
  if (!answers.confirmed) throw new SweepError('USAGE', 'sweep cancelled; nothing was contacted');
  await saveLastSelection(settings.inventory, answers.selection);
  return {
    ...settings,
    // The ticked hosts, which --exclude and --tag already bounded; kept in the selection so the manifest shows them.
    selection: {
      include: [...(answers.selection.include ?? [])],
      exclude: [...new Set([...(answers.selection.exclude ?? []), ...settings.selection.exclude])],
      tags: [...settings.selection.tags],
    },
    since: answers.since,
    until: answers.until,
    mail: settings.mail && answers.mailTo.length > 0 ? { ...settings.mail, to: answers.mailTo } : undefined,
  };
}

/**
 * At a terminal, after the run: offers to trust each host refused for an unknown key, as `auditsweep hosts
 * trust` does (the key is fetched again and shown with its fingerprint; default no). Trusted keys go into
 * auditsweep's own known_hosts file, so the next sweep reaches those hosts.
 */
async function offerTrust(
  summary: SweepSummary,
  knownHostsFiles: readonly string[],
  connectMs: number,
): Promise<void> {
  const unknown = summary.outcomes.filter((o) => o.code === 'HOST_KEY_UNKNOWN');
  if (unknown.length === 0 || !canPrompt()) return;
  const write = auditsweepKnownHostsFile();
  const byName = new Map<string, InventoryHost>(summary.selected.map((h) => [h.name, h]));
  for (const o of unknown) {
    const host = byName.get(o.host);
    if (host === undefined) continue;
    try {
      const key = await fetchHostKey(host, {
        knownHostsFiles: [...knownHostsFiles, write],
        timeouts: { connectMs },
      });
      if (key.status !== 'unknown') {
        process.stderr.write(`${host.name}: its key is ${key.status} now; not asking\n`);
        continue;
      }
      if (await askTrustUnknownHost(host, key.fingerprint, key.keyType)) {
        await addKnownHost(write, { host: host.address, port: host.port }, key.publicKeyLine, {
          hashed: false,
        });
        process.stderr.write(`${host.name}: key recorded in ${write}; the next sweep will reach it\n`);
      }
    } catch (err) {
      // A prompt cancelled with ctrl-c ends the offers; a host that cannot be reached now is only reported.
      if (isSweepError(err) && err.code === 'USAGE') return;
      process.stderr.write(
        `${host.name}: could not fetch its key again: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
  }
}

export function registerSweep(program: Command): void {
  const sweep = program
    .command('sweep')
    .description(
      'Collect the audit logs of the selected hosts over SSH and write the report set (events, hosts, summary, findings, manifest)',
    );
  boundsOptions(connectOptions(selectionOptions(sourceOptions(sweep))), 'collected')
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
    .option(
      '--events-only',
      'write events.csv, hosts.csv and manifest.json only (no summary, findings, report.html, alerts or mail): the fast path for another tool to ingest',
    )
    .action(async (flags: SweepFlags) => {
      const resolved = await settingsOf(flags);
      // At a terminal without a host choice: ask (hosts, window, mail, then a summary to confirm).
      const settings = resolved.interactive ? await askSweep(resolved.settings) : resolved.settings;
      const window = parseWindow(settings.since, settings.until);
      const alerts = await alertRules(settings.alerts);
      const accounts =
        settings.passwd !== undefined || settings.groupFile !== undefined
          ? await loadAccountMaps(settings.passwd, settings.groupFile)
          : undefined;
      const format = settings.logFormat === 'json' ? 'json' : 'text';
      // The live view only on a terminal and in text; elsewhere the per-host lines the command always wrote.
      const live = format === 'text' && Boolean(process.stderr.isTTY);
      const note = (kind: 'warning' | 'alert' | 'mail', text: string, json: unknown) =>
        process.stderr.write(format === 'json' ? `${JSON.stringify({ [kind]: json })}\n` : `${text}\n`);
      if (settings.insecureAcceptUnknownHostKeys) {
        const w =
          'host keys of unknown hosts will NOT be verified (--insecure-accept-unknown-host-keys); every report says so';
        note('warning', `WARNING: ${w}`, w);
      }
      // One run per config file at a time; the lock goes with the process (exit, SIGINT, SIGTERM).
      let lock: HeldLock | undefined;
      if (settings.configFile !== undefined) {
        lock = await acquireLock(lockPathFor(settings.configFile, settings.reportsDir), {
          onWarning: (m) => note('warning', `WARNING: ${m}`, m),
        });
      }
      const controller = new AbortController();
      const onSignal = () => controller.abort(new Error('interrupted by signal'));
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // Made once the hosts are known (its total); prompts take the live view down while they ask.
      let progress: SweepProgress | undefined;
      const aside = <T>(ask: () => Promise<T>): Promise<T> => (progress ? progress.interrupt(ask) : ask());
      // Once every host is done, the live view is held down while reports are written and mail goes out (their
      // lines would otherwise be erased by the next frame); it comes back for a last frame and the table.
      let hostsLeft = 0;
      let releaseView: () => void = () => {};
      let viewHeld: Promise<void> | undefined;
      const knownHostsFiles = settings.knownHosts ?? defaultKnownHostsFiles();
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
          knownHostsFiles,
          auth: {
            ...(settings.identity ? { identityFiles: settings.identity } : {}),
            // Prompts only at a terminal; the environment variables are read first (src/fetch/auth.ts).
            askPassphrase: (file) => aside(() => askSecret(`Passphrase for ${file}:`)),
            askPassword: (t) =>
              aside(() => askSecret(`Password for ${t.user}@${t.name} (${t.address}:${t.port}):`)),
          },
          insecureAcceptUnknownHostKeys: settings.insecureAcceptUnknownHostKeys,
          incremental: settings.incremental,
          stateFile: settings.stateFile,
          keepRaw: settings.keepRaw,
          eventsOnly: settings.eventsOnly,
          accounts,
          bom: settings.bom,
          signal: controller.signal,
          onHostsSelected: (hosts) => {
            hostsLeft = hosts.length;
            progress = createProgress({ total: hosts.length, stream: process.stderr, format });
          },
          onHostStart: (h) => progress?.hostStarted(h.name),
          onHostProgress: (h, bytes, events) => progress?.hostProgress(h.name, bytes, events),
          onHostDone: (o) => {
            progress?.hostDone(o);
            if (--hostsLeft === 0 && live && progress) {
              const held = new Promise<void>((r) => {
                releaseView = r;
              });
              viewHeld = progress.interrupt(() => held);
            }
          },
          alerts,
          mail: settings.mail,
          // Retries and warnings as they happen; the outcome is one line below.
          onMailLog: (line) => {
            if (!line.startsWith('mail: sent to') && !line.startsWith('mail: dry run'))
              note('mail', line, { log: line });
          },
          // The wizard has shown a summary and been answered yes: no second question.
          confirm:
            flags.yes || resolved.interactive
              ? undefined
              : (hosts, dir) =>
                  aside(() =>
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
                  ),
        });
        releaseView();
        await viewHeld;
        const failed = summary.outcomes.filter((o) => o.status !== 'ok');
        const c = summary.counters;
        const counted = countsLine(summary, settings.eventsOnly);
        if (format === 'json') {
          // The table as one JSON line, then the counters the text summary carries.
          progress?.finish({ outDir: summary.outDir });
          const totals = settings.eventsOnly
            ? {
                totals: { events: c.events, malformed: c.malformed },
                eventsOnly: true,
                written: writtenNames(summary),
              }
            : {
                totals: {
                  events: c.events,
                  malformed: c.malformed,
                  findings: findingCount(summary.findings),
                },
              };
          process.stderr.write(`${JSON.stringify({ ...totals, reports: summary.outDir })}\n`);
        } else if (live) {
          progress?.finish({ outDir: summary.outDir });
          process.stderr.write(`${counted}\n`);
        } else {
          process.stderr.write(
            `${summary.outcomes.length} hosts: ${summary.outcomes.length - failed.length} ok, ${failed.length} failed or partial; ` +
              `${counted}; reports in ${summary.outDir}\n`,
          );
        }
        for (const w of summary.warnings) note('warning', `WARNING: ${w}`, w);
        for (const a of summary.alerts) {
          note('alert', `ALERT [${a.severity}] ${a.rule}: ${oneLine(a.message)}`, {
            severity: a.severity,
            rule: a.rule,
            message: oneLine(a.message),
          });
        }
        if (summary.mail) note('mail', mailLine(summary.mail), summary.mail);
        await offerTrust(summary, knownHostsFiles, settings.connectTimeout * 1000);
        // The worst first: mail not sent (reports kept) > hosts failed > alerts with --fail-on-alert.
        process.exitCode =
          summary.mail?.status === 'failed'
            ? EXIT.MAIL_FAILED
            : failed.length > 0 || (settings.failOnAlert && summary.alerts.length > 0)
              ? EXIT.FAILED
              : EXIT.OK;
      } finally {
        releaseView();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await lock?.release();
      }
    });
}
