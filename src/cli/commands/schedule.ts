/**
 * `auditsweep schedule [--config FILE] [--on 'Mon 06:00'] [--env-file FILE] [--only PART] [--install [systemd|cron]]
 *  [--user-units]`: prints (and with --install writes) a systemd service + timer and a crontab line that run
 * `sweep --config ABS --yes` weekly. systemctl is never called: the commands to enable the timer are printed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { formatConfigIssue, mergeSettings, resolveConfigFile } from '../../config/index.js';
import {
  DEFAULT_SCHEDULE,
  parseScheduleTime,
  renderSchedule,
  type ScheduleUnits,
} from '../../config/schedule-units.js';
import { SweepError } from '../../errors.js';
import { shellQuote } from '../../shell-quote.js';

interface ScheduleFlags {
  config?: string;
  on: string;
  envFile?: string;
  only?: string;
  install?: string | boolean;
  userUnits?: boolean;
}

const PARTS = ['service', 'timer', 'crontab'] as const;

/** bin/auditsweep.js of this installation (dist/cli/commands → ../../../bin). */
function binPath(): string {
  return fileURLToPath(new URL('../../../bin/auditsweep.js', import.meta.url));
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

async function installSystemd(
  units: ScheduleUnits,
  system: boolean,
  writable: readonly string[],
): Promise<void> {
  const dir = system
    ? '/etc/systemd/system'
    : join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
  await mkdir(dir, { recursive: true });
  // ReadWritePaths= must exist when the service starts.
  for (const w of writable) await mkdir(w, { recursive: true });
  await writeFile(join(dir, 'auditsweep.service'), units.service);
  await writeFile(join(dir, 'auditsweep.timer'), units.timer);
  const ctl = system ? 'systemctl' : 'systemctl --user';
  process.stdout.write(
    [
      `wrote ${join(dir, 'auditsweep.service')} and ${join(dir, 'auditsweep.timer')}; enable the timer with:`,
      `  ${ctl} daemon-reload`,
      `  ${ctl} enable --now auditsweep.timer`,
      ...(system
        ? []
        : [
            `  loginctl enable-linger ${userInfo().username}   # so the timer also runs while you are logged out`,
          ]),
      `  ${ctl} list-timers auditsweep.timer        # next run`,
      '',
    ].join('\n'),
  );
}

function installCron(units: ScheduleUnits, configFile: string): void {
  if (!onPath('crontab')) {
    process.stdout.write(
      `crontab is not installed here; add this to the crontab of the user who runs sweeps:\n${units.crontab}`,
    );
    return;
  }
  const current = spawnSync('crontab', ['-l'], { encoding: 'utf8' });
  // `crontab -l` fails when the user has no crontab yet: start from an empty one.
  const lines = current.status === 0 ? current.stdout.split('\n') : [];
  const marker = `sweep --config ${shellQuote(configFile)} --yes`;
  const kept = lines.filter(
    (l) => !l.includes(marker) && !(l.startsWith('# auditsweep: ') && l.includes(configFile)),
  );
  while (kept.length > 0 && kept.at(-1) === '') kept.pop();
  const next = `${[...kept, ...units.crontab.trimEnd().split('\n')].join('\n')}\n`;
  const wrote = spawnSync('crontab', ['-'], { input: next, encoding: 'utf8' });
  if (wrote.status !== 0) {
    throw new SweepError(
      'OUTPUT_FAILED',
      `crontab - failed: ${wrote.stderr.trim() || `exit ${wrote.status}`}`,
    );
  }
  process.stdout.write(
    `added to your crontab (an earlier entry for this config replaced):\n${units.crontab}`,
  );
}

export function registerSchedule(program: Command): void {
  program
    .command('schedule')
    .description(
      'Print (or --install) a systemd service + timer and a crontab line that sweep with the config file weekly, unattended',
    )
    .option('-c, --config <file>', 'the config file to run (default: found as `sweep` finds it)')
    .option('--on <when>', 'day and time of the weekly run, local time', DEFAULT_SCHEDULE)
    .option('--env-file <file>', 'file of VAR=value lines with the secrets (AUDITSWEEP_SMTP_PASSWORD, …)')
    .option('--only <part>', `print one part only: ${PARTS.join(', ')}`)
    .option(
      '--install [target]',
      'write the systemd units (target systemd, the default) or add the crontab line (target cron)',
    )
    .option(
      '--user-units',
      'as root, install user units (~/.config/systemd/user) instead of /etc/systemd/system',
    )
    .action(async (flags: ScheduleFlags) => {
      const on = parseScheduleTime(flags.on);
      const loaded = await resolveConfigFile({ configFlag: flags.config });
      for (const w of loaded.warnings) process.stderr.write(`WARNING: ${formatConfigIssue(w)}\n`);
      if (loaded.errors.length > 0) {
        throw new SweepError('CONFIG_INVALID', loaded.errors.map(formatConfigIssue).join('\n'));
      }
      const config = loaded.value;
      if (config === undefined) {
        throw new SweepError(
          'USAGE',
          'schedule runs a config file: pass --config FILE (or write ./auditsweep.yaml, see README)',
        );
      }
      // The scheduled command passes no other flag: the file alone must make a complete sweep.
      const merged = mergeSettings({}, config);
      if (merged.value === undefined) {
        throw new SweepError(
          'CONFIG_INVALID',
          `the scheduled run gives only --config and --yes, so ${config.path} must hold everything else:\n${merged.errors
            .map(formatConfigIssue)
            .join('\n')}`,
        );
      }
      const s = merged.value;
      const writable = [s.reportsDir];
      if (s.incremental && relative(s.reportsDir, s.stateFile).startsWith('..'))
        writable.push(dirname(s.stateFile));
      const workdir = process.cwd();
      const system = process.getuid?.() === 0 && !flags.userUnits;
      const units = renderSchedule({
        node: process.execPath,
        bin: binPath(),
        configFile: config.path,
        workdir,
        writable,
        on,
        envFile: flags.envFile === undefined ? undefined : resolve(flags.envFile),
        systemUser: system ? userInfo().username : undefined,
        logFile: join(workdir, 'auditsweep-cron.log'),
      });
      if (flags.only !== undefined) {
        if (!(PARTS as readonly string[]).includes(flags.only)) {
          throw new SweepError('USAGE', `--only is one of ${PARTS.join(', ')}, not ${flags.only}`);
        }
        process.stdout.write(units[flags.only as (typeof PARTS)[number]]);
      } else if (flags.install === undefined) {
        process.stdout.write(
          [
            '### auditsweep.service',
            units.service,
            '### auditsweep.timer',
            units.timer,
            '### crontab (instead of the timer, where there is no systemd)',
            units.crontab,
          ].join('\n'),
        );
      }
      if (flags.install !== undefined) {
        const target = flags.install === true ? 'systemd' : flags.install;
        if (target === 'systemd') await installSystemd(units, system, writable);
        else if (target === 'cron') installCron(units, config.path);
        else throw new SweepError('USAGE', `--install takes systemd or cron, not ${String(target)}`);
      }
    });
}
