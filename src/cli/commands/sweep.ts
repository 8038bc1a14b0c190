/** `auditsweep sweep --inventory FILE [--all | --group NAME | --hosts PATTERN] … --out DIR --yes`. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseWindow } from '../../config/window.js';
import { SweepError } from '../../errors.js';
import { defaultKnownHostsFiles } from '../../fetch/session.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { runSweep } from '../../sweep.js';
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
    .action(async (flags: SweepFlags) => {
      const include = [...(flags.group ?? []), ...(flags.hosts ?? []).flatMap((p) => p.split(','))];
      if (!flags.all && include.length === 0) {
        throw new SweepError('USAGE', 'choose hosts with --all, --group NAME or --hosts PATTERN');
      }
      if (flags.logFormat !== 'text' && flags.logFormat !== 'json') {
        throw new SweepError('USAGE', `--log-format is text or json, not ${flags.logFormat}`);
      }
      const window = parseWindow(flags.since ?? '7d', flags.until);
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
        process.exitCode = failed.length > 0 ? EXIT.FAILED : EXIT.OK;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
