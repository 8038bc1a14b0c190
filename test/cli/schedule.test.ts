/**
 * `auditsweep schedule`: the deploy/ examples are what it prints; `--install` writes the units and the crontab
 * line; and the crontab line's command, run exactly as cron runs it (sh -c, no TTY, cron's PATH and HOME only),
 * sweeps a real sshd fleet and mails the reports to a real SMTP server.
 */
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli } from '../helpers/cli.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const _exec = promisify(execFile);
const DEPLOY = join(ROOT, 'deploy');
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const ROTATED = ['audit.log.2', 'audit.log.1', 'audit.log'];

function corpusLogs(variant: string): Record<string, string> {
  return Object.fromEntries(ROTATED.map((f) => [f, join(FIX, variant, f)]));
}

const cli = (args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) => runCli(args, options);

const tmp = (name: string) => realpathSync(mkdtempSync(join(tmpdir(), `auditsweep-${name}-`)));

/** The crontab entry of `schedule --only crontab`: its time fields and its command. */
function crontabEntry(text: string): { fields: string[]; command: string } {
  const line = text.split('\n').find((l) => l !== '' && !l.startsWith('#'));
  expect(line).toBeDefined();
  const m = /^(\S+) (\S+) (\S+) (\S+) (\S+) (.*)$/.exec(line!);
  expect(m).not.toBeNull();
  return { fields: m!.slice(1, 6), command: m![6]! };
}

describe('auditsweep schedule prints the deploy/ examples', () => {
  it('prints deploy/auditsweep.service, .timer and crontab for deploy/auditsweep.yaml, modulo paths', async () => {
    const dir = tmp('schedule-deploy');
    copyFileSync(join(DEPLOY, 'auditsweep.yaml'), join(dir, 'auditsweep.yaml'));
    const generic = (s: string) =>
      s
        .replaceAll(process.execPath, '/usr/bin/node')
        .replaceAll(BIN, '/opt/auditsweep/bin/auditsweep.js')
        .replaceAll(dir, '/var/lib/auditsweep');
    for (const [part, file] of [
      ['service', 'auditsweep.service'],
      ['timer', 'auditsweep.timer'],
      ['crontab', 'crontab'],
    ] as const) {
      const r = await cli(['schedule', '--config', 'auditsweep.yaml', '--user-units', '--only', part], {
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(0);
      // WRITE_DEPLOY=1 regenerates the examples; review them in the diff.
      if (process.env.WRITE_DEPLOY === '1') writeFileSync(join(DEPLOY, file), generic(r.stdout));
      expect(generic(r.stdout), file).toBe(readFileSync(join(DEPLOY, file), 'utf8'));
    }
  });

  it('runs weekly at --on, and refuses a time that is not one', async () => {
    const dir = tmp('schedule-on');
    copyFileSync(join(DEPLOY, 'auditsweep.yaml'), join(dir, 'auditsweep.yaml'));
    const timer = await cli(
      ['schedule', '--config', 'auditsweep.yaml', '--on', 'sunday 23:05', '--only', 'timer'],
      {
        cwd: dir,
      },
    );
    expect(timer.stdout).toContain('OnCalendar=Sun *-*-* 23:05:00\n');
    const cron = await cli(
      ['schedule', '--config', 'auditsweep.yaml', '--on', 'Wed 7:00', '--only', 'crontab'],
      {
        cwd: dir,
      },
    );
    expect(crontabEntry(cron.stdout).fields).toEqual(['0', '7', '*', '*', '3']);
    const bad = await cli(['schedule', '--config', 'auditsweep.yaml', '--on', 'weekly'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--on "weekly" is not a weekly time: .*'Mon 06:00'/);
  });

  it('refuses a config that does not make a complete unattended sweep (exit 2)', async () => {
    const dir = tmp('schedule-incomplete');
    writeFileSync(join(dir, 'auditsweep.yaml'), 'inventory: inv.yaml\n');
    const r = await cli(['schedule', '--config', 'auditsweep.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the scheduled run gives only --config and --yes.*\n.*choose hosts/);
    const none = await cli(['schedule'], { cwd: dir.replace(/\/[^/]+$/, '') });
    expect(none.code).toBe(2);
  });

  it('--install writes the user units and prints the systemctl commands; --install cron edits the crontab', async () => {
    const dir = tmp('schedule-install');
    copyFileSync(join(DEPLOY, 'auditsweep.yaml'), join(dir, 'auditsweep.yaml'));
    const xdg = join(dir, 'xdg');
    const env = { ...process.env, XDG_CONFIG_HOME: xdg };
    const r = await cli(['schedule', '--config', 'auditsweep.yaml', '--user-units', '--install'], {
      cwd: dir,
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    const unit = readFileSync(join(xdg, 'systemd', 'user', 'auditsweep.service'), 'utf8');
    expect(unit).toContain(
      `ExecStart=${process.execPath} ${BIN} sweep --config ${dir}/auditsweep.yaml --yes`,
    );
    expect(unit).toContain(`ReadWritePaths=${dir}/reports\n`);
    expect(readFileSync(join(xdg, 'systemd', 'user', 'auditsweep.timer'), 'utf8')).toContain(
      'OnCalendar=Mon *-*-* 06:00:00',
    );
    expect(r.stdout).toContain('systemctl --user enable --now auditsweep.timer');

    // A stand-in crontab(1): -l prints the table (exit 1 when there is none), - replaces it.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const table = join(dir, 'crontab.txt');
    writeFileSync(
      join(bin, 'crontab'),
      `#!/bin/sh\nif [ "$1" = -l ]; then [ -f ${table} ] && exec cat ${table}; echo "no crontab" >&2; exit 1; fi\ncat > ${table}\n`,
    );
    chmodSync(join(bin, 'crontab'), 0o755);
    writeFileSync(table, 'MAILTO=ops@example.test\n0 1 * * * /usr/bin/true\n');
    const cronEnv = { ...env, PATH: `${bin}:${process.env.PATH}` };
    for (let i = 0; i < 2; i++) {
      const c = await cli(['schedule', '--config', 'auditsweep.yaml', '--install', 'cron'], {
        cwd: dir,
        env: cronEnv,
      });
      expect(c.code, c.stderr).toBe(0);
    }
    const lines = readFileSync(table, 'utf8').split('\n');
    expect(lines.slice(0, 2)).toEqual(['MAILTO=ops@example.test', '0 1 * * * /usr/bin/true']);
    // Installed twice, present once.
    expect(lines.filter((l) => l.includes('sweep --config')).length).toBe(1);
  });
});

describe('the crontab line, run as cron runs it', () => {
  let fleet: SshdFleet;
  let sink: SmtpSink;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs: corpusLogs('enriched') },
        { name: 'web-02', logs: corpusLogs('raw') },
      ],
    });
    sink = await startSmtpSink();
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await sink?.stop();
  });

  it('sweeps both hosts with no TTY and a minimal env, mails the reports and exits 0', async () => {
    const dir = tmp('schedule-cron');
    const home = join(dir, 'home');
    mkdirSync(home);
    writeFileSync(join(dir, 'no-ssh-config'), '');
    writeFileSync(join(dir, 'known_hosts'), knownHostsLines(fleet.hosts));
    writeFileSync(
      join(dir, 'inventory.yaml'),
      fleetInventory(fleet, { fleet: plainHosts(fleet.hosts.map((h) => h.name)) }),
    );
    writeFileSync(
      join(dir, 'auditsweep.yaml'),
      [
        'inventory: inventory.yaml',
        'selection: { include: all }',
        'window: { since: 2026-11-01 }',
        'knownHosts: known_hosts',
        'sshConfig: no-ssh-config',
        'connectTimeout: 5',
        'retries: 0',
        'output: reports',
        'mail:',
        '  to: [ops@example.test]',
        '  from: auditsweep@example.test',
        `  smtp: smtp://127.0.0.1:${sink.port}`,
        '',
      ].join('\n'),
    );
    const printed = await cli(
      ['schedule', '--config', 'auditsweep.yaml', '--only', 'crontab', '--user-units'],
      {
        cwd: dir,
      },
    );
    expect(printed.code, printed.stderr).toBe(0);
    const { command } = crontabEntry(printed.stdout);
    expect(command).toContain('--yes');

    const before = sink.messages.length;
    // cron: /bin/sh -c COMMAND, stdin and stdout not terminals, PATH=/usr/bin:/bin, HOME, LOGNAME, SHELL.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', HOME: home, LOGNAME: 'auditsweep', SHELL: '/bin/sh' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const log = readFileSync(join(dir, 'auditsweep-cron.log'), 'utf8');
    expect(code, `${out}\n${log}`).toBe(0);
    expect(out).toBe(''); // everything went to the log file
    expect(log).toMatch(/^ok\s+web-01: /m);
    expect(log).toMatch(/^ok\s+web-02: /m);
    expect(log).toMatch(/^2 hosts: 2 ok, 0 failed or partial;/m);
    expect(log).toMatch(/^mail: sent to ops@example\.test, message id <[^>]+> \(250 /m);

    expect(sink.messages.length).toBe(before + 1);
    const received = sink.messages.at(-1)!;
    expect(received.to).toEqual(['ops@example.test']);
    const mail = await simpleParser(received.raw);
    expect(mail.subject).toMatch(/^\[auditsweep\] .*2 hosts/);
    const names = mail.attachments.map((a) => a.filename);
    expect(names).toEqual(expect.arrayContaining(['summary.csv', 'hosts.csv', 'report.html']));
    // The attachments are the reports on disk, byte for byte.
    const runDir = /reports in (\S+)/.exec(log)![1]!;
    expect(runDir.startsWith(join(dir, 'reports'))).toBe(true);
    for (const name of ['summary.csv', 'hosts.csv']) {
      const att = mail.attachments.find((a) => a.filename === name)!;
      expect(Buffer.compare(att.content, readFileSync(join(runDir, name))), name).toBe(0);
    }
    // The lock went with the run.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(dir, 'reports', '.locks'))).toEqual([]);
  }, 120_000);
});
