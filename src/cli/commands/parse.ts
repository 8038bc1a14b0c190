/**
 * `auditsweep parse FILE... (--out DIR [--events-only] | --stdout) [--alerts FILE] [--fail-on-alert]`: the report
 * set of a sweep of one host, from log files collected by other means (issue #4).
 */
import type { Command } from 'commander';
import { parseWindow } from '../../config/window.js';
import { SweepError } from '../../errors.js';
// The subject's one-line rule alone: mail/index.js would load the mail transport and the archive writer.
import { oneLine } from '../../mail/subject.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { parseLogs } from '../../parse-logs.js';
import type { AlertRule } from '../../report/alerts.js';
import { EXIT } from '../exit-codes.js';

interface ParseFlags {
  out?: string;
  stdout?: boolean;
  host: string;
  passwd?: string;
  group?: string;
  since?: string;
  until?: string;
  bom?: boolean;
  eventsOnly?: boolean;
  alerts?: string;
  failOnAlert?: boolean;
}

/** The rules of `--alerts FILE`, or undefined for the built-in ones; an invalid file is a usage error. */
async function alertRules(file: string | undefined): Promise<readonly AlertRule[] | undefined> {
  if (file === undefined) return undefined;
  // Loaded only for --alerts: the YAML parser and the schema library cost ~0.1 s of start-up.
  const { formatAlertRuleIssue, loadAlertRules } = await import('../../report/alerts.js');
  const loaded = await loadAlertRules(file);
  if (loaded.value === undefined) {
    throw new SweepError(
      'CONFIG_INVALID',
      `alert rules are invalid:\n${loaded.errors.map(formatAlertRuleIssue).join('\n')}`,
    );
  }
  return loaded.value;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description(
      'Parse audit.log files of one host (oldest first; .gz read transparently) into the report set of a sweep of that host',
    )
    .argument('<files...>', 'audit log files of one host, oldest first (audit.log.2 audit.log.1 audit.log)')
    .option(
      '-o, --out <dir>',
      'write the report set into DIR, a new or empty folder (events.csv, hosts.csv, summary.csv, findings-*.csv, report.html, manifest.json)',
    )
    .option(
      '--events-only',
      'with --out: write only events.csv (and parse-issues.csv); fastest on large logs',
    )
    .option('--stdout', 'print the events CSV on standard output')
    .option('--host <name>', 'value of the host column', 'local')
    .option('--passwd <file>', "the audited host's passwd file, to name uids in RAW logs")
    .option('--group <file>', "the audited host's group file, to name gids in RAW logs")
    .option('--since <when>', 'keep events from this time: 7d, 24h, 2026-11-16, or an ISO time (UTC)')
    .option('--until <when>', 'keep events before this time')
    .option('--bom', 'start CSV files with a UTF-8 byte order mark (for Excel)')
    .option('--alerts <file>', 'alert rules (YAML, see README); replaces the built-in rules')
    .option('--fail-on-alert', 'exit 1 when an alert fires (for schedulers)')
    .action(async (files: string[], flags: ParseFlags) => {
      if (flags.out === undefined && !flags.stdout) {
        throw new SweepError('USAGE', 'parse needs --out DIR or --stdout');
      }
      const reportSet = !flags.stdout && !flags.eventsOnly;
      if (!reportSet && (flags.alerts !== undefined || flags.failOnAlert)) {
        throw new SweepError(
          'USAGE',
          '--alerts and --fail-on-alert need the report set: use --out DIR without --events-only',
        );
      }
      const alerts = await alertRules(flags.alerts);
      const window = parseWindow(flags.since, flags.until);
      const accounts =
        flags.passwd !== undefined || flags.group !== undefined
          ? await loadAccountMaps(flags.passwd, flags.group)
          : undefined;
      // `parse … --stdout | head`: the reader has what it wanted and closed the pipe. Stop there, quietly and
      // successfully, as cat and grep do, rather than report a failed write.
      if (flags.stdout) {
        process.stdout.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'EPIPE') process.exit(0);
        });
      }
      const result = await parseLogs({
        files,
        host: flags.host,
        outDir: flags.stdout ? undefined : flags.out,
        stdout: flags.stdout ? process.stdout : undefined,
        accounts,
        since: window.since,
        until: window.until,
        bom: flags.bom,
        eventsOnly: flags.eventsOnly,
        alerts,
      });
      const c = result.counters;
      const reasons = Object.entries(result.issuesByReason)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      process.stderr.write(
        `parsed ${c.lines} lines, ${c.records} records, ${c.events} events` +
          (c.outsideWindow > 0 ? `, ${c.outsideWindow} outside the window` : '') +
          (c.malformed > 0 ? `; ${c.malformed} bad lines (${reasons})` : '') +
          (result.report !== undefined
            ? `; wrote ${result.written.length} report files into ${result.report.outDir}`
            : result.written.length > 0
              ? `; wrote ${result.written.join(', ')}`
              : '') +
          '\n',
      );
      for (const u of result.unreadable)
        process.stderr.write(`auditsweep: cannot read ${u.file}: ${u.error}\n`);
      const report = result.report;
      if (report !== undefined) {
        const findings = Object.values(report.findings).reduce((a, b) => a + b, 0);
        process.stderr.write(`${report.outcome.host}: ${report.outcome.status}; ${findings} findings\n`);
        for (const w of report.warnings) process.stderr.write(`WARNING: ${w}\n`);
        for (const a of report.alerts) {
          process.stderr.write(`ALERT [${a.severity}] ${a.rule}: ${oneLine(a.message)}\n`);
        }
      }
      // A file not read, or an alert with --fail-on-alert.
      process.exitCode =
        result.unreadable.length > 0 || (flags.failOnAlert && (report?.alerts.length ?? 0) > 0)
          ? EXIT.FAILED
          : EXIT.OK;
    });
}
