/**
 * A run folder on a disk that fills up (a real tmpfs of 384 KiB, mounted for the test: ENOSPC from the kernel),
 * against a fleet of real OpenSSH sshd processes. The sweep must stop contacting hosts, end with one clear
 * OUTPUT_FAILED line (never a stack trace from a stream nobody listened to), mail nothing, and leave the
 * incremental state where it was, so that the next sweep, with room, reads every byte again: nothing is lost.
 * `auditsweep parse` on the same disk fails the same way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSweepError } from '../../src/errors.js';
import { runSweep, type SweepConfig } from '../../src/sweep.js';
import { runCli } from '../helpers/cli.js';
import { corpusLogs, FIXTURES as FIX, ROTATED } from '../helpers/corpus-logs.js';
import { plainHosts, type SweepFiles, sweepArgs, writeSweepFiles } from '../helpers/fleet-inventory.js';
import { type SmtpSink, startSmtpSink } from '../helpers/smtp-sink.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

/** Less than one host's events.csv: the disk fills in the middle of the sweep. */
const DISK_BYTES = 384 * 1024;

/** Empties the small disk (each case fills it anew). */
function emptied(disk: string): string {
  for (const name of readdirSync(disk)) rmSync(join(disk, name), { recursive: true, force: true });
  return disk;
}

describe('a sweep whose disk fills up', () => {
  let fleet: SshdFleet;
  let sink: SmtpSink;
  let dir: string;
  let disk: string;
  let files: SweepFiles;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs: corpusLogs('enriched') },
        { name: 'web-02', logs: corpusLogs('node-user') },
        { name: 'web-03', logs: corpusLogs('node-hostname') },
      ],
    });
    sink = await startSmtpSink();
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-disk-full-'));
    disk = join(dir, 'disk');
    mkdirSync(disk);
    // Root only, as the sshd fleet: a test that cannot mount fails here, loudly.
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', disk]);
    files = writeSweepFiles(dir, fleet, { web: plainHosts(fleet.hosts.map((h) => h.name)) });
  }, 60_000);

  afterAll(async () => {
    if (disk !== undefined) execFileSync('umount', ['--lazy', disk]);
    await fleet?.stop();
    await sink?.stop();
  });

  const config = (out: string, stateFile: string): SweepConfig => ({
    inventoryFiles: [files.inventory],
    sshConfigFile: files.noSshConfig,
    selection: { include: ['web'] },
    outDir: out,
    window: { since: Date.parse('2026-11-01') },
    knownHostsFiles: [files.knownHosts],
    timeouts: { connectMs: 5_000 },
    retry: { attempts: 1 },
    incremental: true,
    stateFile,
    mail: { url: `smtp://127.0.0.1:${sink.port}`, from: 'auditsweep@test.invalid', to: ['r@test.invalid'] },
  });

  it('stops with OUTPUT_FAILED, mails nothing, keeps the state, and the next sweep with room reads it all', async () => {
    const stateFile = join(dir, 'state', 'incremental.json');
    const out = join(emptied(disk), 'week-47');
    // --keep-raw too: the exact bytes received are the first writes to fail.
    const err: unknown = await runSweep({ ...config(out, stateFile), keepRaw: true }).catch(
      (e: unknown) => e,
    );
    expect(isSweepError(err) && err.code, String(err)).toBe('OUTPUT_FAILED');
    const message = (err as Error).message;
    expect(message).toMatch(/^cannot write .*: no space left on device\. The sweep stopped: /);
    expect(message).toContain('nothing was mailed, the incremental state was not advanced');
    expect(message).toContain(out);
    expect(sink.connections).toBe(0);
    expect(existsSync(stateFile)).toBe(false);
    // No report claims to be whole: no manifest, no hosts.csv.
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
    expect(existsSync(join(out, 'hosts.csv'))).toBe(false);

    // With room, the same state file: every host is read from its first byte.
    const again = join(dir, 'week-47-again');
    const summary = await runSweep(config(again, stateFile));
    expect(summary.outcomes.map((o) => [o.host, o.status])).toEqual([
      ['web-01', 'ok'],
      ['web-02', 'ok'],
      ['web-03', 'ok'],
    ]);
    const fresh = join(dir, 'no-state');
    const full = await runSweep({ ...config(fresh, join(dir, 'other-state.json')), mail: undefined });
    expect(readFileSync(join(again, 'events.csv'))).toEqual(readFileSync(join(fresh, 'events.csv')));
    expect(full.counters.events).toBeGreaterThan(1000);
    expect(sink.messages).toHaveLength(1);
    expect(existsSync(stateFile)).toBe(true);
  }, 120_000);

  it('ends `auditsweep sweep` and `auditsweep parse` with one line and exit 1, no stack trace', async () => {
    const out = join(emptied(disk), 'cli-sweep');
    const sweep = await runCli(sweepArgs(files, out));
    expect(sweep.code, sweep.stderr).toBe(1);
    const last = sweep.stderr.trim().split('\n').at(-1)!;
    expect(last).toMatch(/^auditsweep: cannot write .*: no space left on device\. The sweep stopped: /);
    expect(sweep.stderr).not.toMatch(/Unhandled|\n\s+at /);

    const parse = await runCli([
      'parse',
      ...ROTATED.map((f) => join(FIX, 'raw', f)),
      '--out',
      join(emptied(disk), 'p'),
    ]);
    expect(parse.code, parse.stderr).toBe(1);
    expect(parse.stderr.trim()).toMatch(/^auditsweep: cannot write .*: no space left on device$/);
    expect(parse.stderr).not.toMatch(/Unhandled|\n\s+at /);
    expect(parse.stderr).toContain(join(disk, 'p'));
  }, 120_000);
});
