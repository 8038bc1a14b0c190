/**
 * `auditsweep sweep` in the situations of issue #3 ("Tests against real servers"), each as a user runs it: the
 * built CLI against a fleet of real OpenSSH sshd processes on loopback, its reports read back from disk.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sudoersRule } from '../../src/fetch/transport.js';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import type { EventRow } from '../../src/types.js';
import { isolatedEnv, ROOT, runCli } from '../helpers/cli.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { readCsv } from '../helpers/report-files.js';
import { appendToLog, isGone, rotateLog, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { type CutProxy, startCutProxy } from '../helpers/tcp-cut-proxy.js';

const run = promisify(execFile);
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const SCALE = join(ROOT, '..', 'shared', 'corpus', 'scale.mjs');
const ROTATED = ['audit.log.2', 'audit.log.1', 'audit.log'];
/** Before every event of the corpus and of the logs made here. */
const SINCE = '2026-11-01';
const CONCURRENCY_HOSTS = ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6'];
const VARIANTS = ['enriched', 'raw', 'node-user', 'node-hostname'];
const BIG_MB = 30;
/** Server → client bytes the proxy lets through: about a quarter of the big log. */
const CUT_AFTER = 8 * 1024 * 1024;

/** The commands of the rule auditsweep tells an operator to install, for the fleet's `{logDir}`. */
const PRINTED_SUDO_RULE = { commands: [sudoersRule('x', '{logDir}/audit.log').split('NOPASSWD: ')[1]!] };

const corpus = (variant: string, files: readonly string[]) => files.map((f) => join(FIX, variant, f));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env: isolatedEnv(env) });

function hostsCsv(out: string): Record<string, Record<string, string>> {
  return Object.fromEntries(readCsv(join(out, 'hosts.csv')).map((h) => [h.host, h]));
}

/** The rows the parser makes of the same files read locally (one parser, in order): what the sweep must give. */
async function localRows(host: string, files: readonly string[]): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => rows.push(e.row), issue: () => {} });
  await parseLocalFiles(files, parser);
  return rows;
}

/** Drops the file path (remote vs local) and applies the CSV's formula neutralisation (a leading `'`). */
const withoutSource = (r: Record<string, string> | EventRow) => {
  const { source_file: _f, ...rest } = r as Record<string, string>;
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, /^[=+\-@\t\r]/.test(v) ? `'${v}` : v]));
};

const AUDIT_ID = /msg=audit\((\d+)\.(\d+):(\d+)\)/;

/**
 * What auditd would append next: `count` real events of the corpus (raw/audit.log.1, from its event number
 * `from` on), every record kept byte for byte but under a new timestamp and serial (one second apart).
 */
function freshEvents(from: number, count: number, firstSec: number, firstSerial: number): string {
  const lines = readFileSync(join(FIX, 'raw', 'audit.log.1'), 'utf8').split('\n');
  const order = [...new Set(lines.map((l) => AUDIT_ID.exec(l)?.[0]).filter((id) => id !== undefined))];
  const renamed = new Map(
    order.slice(from, from + count).map((id, j) => {
      const ms = AUDIT_ID.exec(id)![2];
      return [id, `msg=audit(${firstSec + j}.${ms}:${firstSerial + j})`];
    }),
  );
  return lines
    .filter((l) => renamed.has(AUDIT_ID.exec(l)?.[0] ?? ''))
    .map((l) => `${l.replace(AUDIT_ID, (id) => renamed.get(id)!)}\n`)
    .join('');
}

describe('auditsweep sweep: the scenarios of issue #3 against real sshd', () => {
  let fleet: SshdFleet;
  let proxy: CutProxy;
  let dir: string;
  let bigLog: string;
  let inventory: string;
  let knownHosts: string;
  let noSshConfig: string;

  const sweep = (args: string[], env: Record<string, string> = {}) =>
    cli(
      [
        'sweep',
        '--inventory',
        inventory,
        '--known-hosts',
        knownHosts,
        '--ssh-config',
        noSshConfig,
        ...(args.includes('--since') ? [] : ['--since', SINCE]),
        '--yes',
        ...args,
      ],
      env,
    );

  /** Gives a file the mtime auditd would have left: its last event's time (+1 s). */
  async function mtimeAtLastEvent(file: string, source: string = file): Promise<void> {
    const rows = await localRows('x', [source]);
    const last = new Date(Date.parse(rows[rows.length - 1]!.time) + 1000);
    utimesSync(file, last, last);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-scenarios-'));
    bigLog = join(dir, 'big-audit.log');
    // A big, realistic log: the corpus events replayed, starting three days ago.
    const start = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await run(process.execPath, [SCALE, '--size-mb', String(BIG_MB), '--out', bigLog, '--start', start]);

    const rawLogs = Object.fromEntries(ROTATED.slice(1).map((f) => [f, join(FIX, 'raw', f)]));
    fleet = await startSshdFleet({
      hosts: [
        // auditd's default: the log is root's, 0600; the login user reads it through sudo -n, allowed exactly the
        // sudoers rule that auditsweep's PERMISSION_DENIED message prints.
        {
          name: 'root-only',
          chroot: false,
          sudo: PRINTED_SUDO_RULE,
          logMode: 0o600,
          logOwner: 'root',
          logs: { 'audit.log.2.gz': join(FIX, 'raw', 'audit.log.2'), ...rawLogs },
        },
        { name: 'pw', logs: { 'audit.log': join(FIX, 'enriched', 'audit.log') } },
        { name: 'bastion', chroot: false, createLogDir: false, allowTcpForwarding: true, logLevel: 'DEBUG1' },
        {
          name: 'inner',
          address: '127.0.0.2',
          logs: Object.fromEntries(ROTATED.map((f) => [f, join(FIX, 'node-user', f)])),
        },
        {
          name: 'gz',
          logs: Object.fromEntries(ROTATED.map((f, i) => [i < 2 ? `${f}.gz` : f, join(FIX, 'enriched', f)])),
        },
        { name: 'incr', logs: rawLogs },
        { name: 'incr-sudo', chroot: false, sudo: PRINTED_SUDO_RULE, logMode: 0o600, logs: rawLogs },
        { name: 'big', logs: { 'audit.log': bigLog } },
        ...CONCURRENCY_HOSTS.map((name, i) => ({
          name,
          logs: { 'audit.log': join(FIX, VARIANTS[i % VARIANTS.length]!, 'audit.log') },
        })),
      ],
    });
    const big = fleet.host('big');
    proxy = await startCutProxy({ target: big, cutAfterBytes: CUT_AFTER });
    for (const name of ['incr', 'incr-sudo']) {
      for (const f of ROTATED.slice(1)) await mtimeAtLastEvent(join(fleet.host(name).logDir, f));
    }

    noSshConfig = join(dir, 'no-ssh-config');
    writeFileSync(noSshConfig, '');
    // The fleet's keys, and the big host's key under the proxy's address too (the client sees the proxy).
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(
      knownHosts,
      knownHostsLines([...fleet.hosts, { ...proxy, hostKeyPublic: big.hostKeyPublic }]),
    );
    const sudo = (name: string) => ({
      transport: 'sudo',
      logPath: `${fleet.host(name).remoteLogDir}/audit.log`,
    });
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      fleetInventory(fleet, {
        fleet: {
          'root-only': sudo('root-only'),
          // The same host and log, read over SFTP as the login user.
          'root-only-sftp': {
            address: fleet.host('root-only').address,
            port: fleet.host('root-only').port,
            logPath: `${fleet.host('root-only').remoteLogDir}/audit.log`,
          },
          bastion: {},
          inner: { jump: 'bastion' },
          gz: {},
          incr: {},
          'incr-sudo': sudo('incr-sudo'),
          big: {},
          'big-cut': { address: proxy.address, port: proxy.port },
          ...plainHosts(CONCURRENCY_HOSTS),
        },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await fleet?.stop();
    // Nothing of the fleet outlives the test.
    for (const h of fleet?.hosts ?? []) expect(isGone(h.pid), `sshd of ${h.name}`).toBe(true);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a root-only 0600 log through the sudo transport, and names the three remedies when SFTP is denied', async () => {
    const host = fleet.host('root-only');
    const out = join(dir, 'sudo');
    const { code, stderr } = await sweep(['--hosts', 'root-only,root-only-sftp', '--out', out]);
    expect(code, stderr).toBe(1);
    const byHost = hostsCsv(out);
    expect(byHost['root-only']).toMatchObject({ outcome: 'ok', code: '', transport: 'sudo', files: '3' });
    const rows = readCsv(join(out, 'events.csv'));
    const expected = await localRows('root-only', corpus('raw', ROTATED));
    expect(rows.map(withoutSource)).toEqual(expected.map(withoutSource));
    expect(byHost['root-only']!.events).toBe(String(expected.length));
    expect(new Set(rows.map((r) => r.source_file))).toEqual(
      new Set(['audit.log.2.gz', 'audit.log.1', 'audit.log'].map((f) => `${host.remoteLogDir}/${f}`)),
    );

    // The same log over SFTP: denied, and the message leads to each way out.
    const denied = byHost['root-only-sftp']!;
    expect(denied).toMatchObject({
      outcome: 'failed',
      code: 'PERMISSION_DENIED',
      transport: 'sftp',
      events: '0',
    });
    expect(denied.message).toContain(`${host.remoteLogDir}/audit.log`);
    expect(denied.message).toContain(`add ${fleet.user} to auditd's log_group`);
    expect(denied.message).toContain('log in as root with a key');
    expect(denied.message).toContain('use transport: sudo');
    expect(stderr).toMatch(/failed\s+root-only-sftp PERMISSION_DENIED/);
  }, 60_000);

  it('rejects a wrong password as AUTH_FAILED, logs in with the right one, and never writes either anywhere', async () => {
    const host = fleet.host('pw');
    // No identity file in the inventory, no agent, an empty home (no ~/.ssh keys): a password is all there is.
    const pwInventory = join(dir, 'inventory-password.yaml');
    writeFileSync(
      pwInventory,
      [
        'auditsweep: 1',
        'hosts:',
        '  pw:',
        `    address: ${host.address}`,
        `    port: ${host.port}`,
        `    user: ${fleet.user}`,
        '',
      ].join('\n'),
    );
    const home = mkdtempSync(join(dir, 'home-'));
    const wrong = `Wrong-${createHash('sha256').update(fleet.password).digest('hex').slice(0, 12)}`;
    const base = [
      'sweep',
      '--inventory',
      pwInventory,
      '--all',
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      noSshConfig,
    ];
    const secrets = [wrong, fleet.password];
    const leaks = (out: string, r: { stdout: string; stderr: string }) => {
      const texts = [r.stdout, r.stderr, readFileSync(join(out, 'hosts.csv'), 'utf8')];
      texts.push(readFileSync(join(out, 'events.csv'), 'utf8'));
      return secrets.filter((s) => texts.some((t) => t.includes(s)));
    };

    const badOut = join(dir, 'password-wrong');
    const bad = await cli([...base, '--since', SINCE, '--out', badOut, '--yes'], {
      AUDITSWEEP_SSH_PASSWORD: wrong,
      HOME: home,
    });
    expect(bad.code, bad.stderr).toBe(1);
    const failed = hostsCsv(badOut).pw!;
    expect(failed).toMatchObject({ outcome: 'failed', code: 'AUTH_FAILED' });
    expect(failed.message).toContain('password from AUDITSWEEP_SSH_PASSWORD');
    expect(leaks(badOut, bad)).toEqual([]);

    const goodOut = join(dir, 'password-right');
    const good = await cli([...base, '--since', SINCE, '--out', goodOut, '--yes'], {
      AUDITSWEEP_SSH_PASSWORD: fleet.password,
      HOME: home,
    });
    expect(good.code, good.stderr).toBe(0);
    expect(hostsCsv(goodOut).pw).toMatchObject({ outcome: 'ok', code: '' });
    const expected = await localRows('pw', corpus('enriched', ['audit.log']));
    expect(readCsv(join(goodOut, 'events.csv')).map(withoutSource)).toEqual(expected.map(withoutSource));
    expect(leaks(goodOut, good)).toEqual([]);
  }, 60_000);

  it('reaches a host through its jump host: the jump host forwards to it, and its rows arrive', async () => {
    const bastion = fleet.host('bastion');
    const inner = fleet.host('inner');
    const offset = statSync(bastion.sshdLogFile).size;
    const out = join(dir, 'jump');
    const { code, stderr } = await sweep(['--hosts', 'inner', '--out', out]);
    expect(code, stderr).toBe(0);
    expect(hostsCsv(out).inner).toMatchObject({ outcome: 'ok', files: '3' });
    const expected = await localRows('inner', corpus('node-user', ROTATED));
    expect(readCsv(join(out, 'events.csv')).map(withoutSource)).toEqual(expected.map(withoutSource));
    // The bastion's sshd (LogLevel DEBUG1) opened the forward to the inner host's own address and port.
    const log = readFileSync(bastion.sshdLogFile).subarray(offset).toString('utf8');
    const target = `target ${inner.address.replaceAll('.', '\\.')} port ${inner.port}\\b`;
    expect(log).toMatch(new RegExp(`server_request_direct_tcpip: originator .*, ${target}`));
  }, 60_000);

  it('reads only the rotated and gzipped files that can hold events of the window', async () => {
    const host = fleet.host('gz');
    for (const f of ROTATED.slice(0, 2))
      await mtimeAtLastEvent(join(host.logDir, `${f}.gz`), join(FIX, 'enriched', f));
    const all = await localRows('gz', corpus('enriched', ROTATED));
    // A window that starts inside audit.log.1.gz: that file and audit.log, not audit.log.2.gz.
    const middle = await localRows('gz', corpus('enriched', ['audit.log.1']));
    const since = middle[Math.floor(middle.length / 2)]!.time;
    const out = join(dir, 'window-gz');
    const { code, stderr } = await sweep(['--hosts', 'gz', '--since', since, '--out', out]);
    expect(code, stderr).toBe(0);
    const rows = readCsv(join(out, 'events.csv'));
    const expected = all.filter((r) => r.time >= since);
    expect(rows.map(withoutSource)).toEqual(expected.map(withoutSource));
    expect(hostsCsv(out).gz).toMatchObject({ outcome: 'ok', files: '2', events: String(expected.length) });
    expect(new Set(rows.map((r) => r.source_file))).toEqual(
      new Set(['/var/log/audit/audit.log.1.gz', '/var/log/audit/audit.log']),
    );
  }, 60_000);

  it('--keep-raw keeps exactly the bytes of every remote file, with a manifest to check them by', async () => {
    const out = join(dir, 'keep-raw');
    const { code, stderr } = await sweep(['--hosts', 'gz,root-only', '--keep-raw', '--out', out]);
    expect(code, stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'raw', 'manifest.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>[]
    >;
    expect(Object.keys(manifest).sort()).toEqual(['gz', 'root-only']);
    for (const name of ['gz', 'root-only']) {
      const host = fleet.host(name);
      const remote = ['audit.log.2.gz', 'audit.log.1', 'audit.log'].map((f) =>
        name === 'gz' && f === 'audit.log.1' ? 'audit.log.1.gz' : f,
      );
      expect(manifest[name]!.map((e) => e.name)).toEqual(remote);
      expect(readdirSync(join(out, 'raw', name)).sort()).toEqual([...remote].sort());
      for (const entry of manifest[name]!) {
        const source = join(host.logDir, String(entry.name));
        const st = statSync(source);
        const bytes = readFileSync(source);
        expect(entry, `${name} ${entry.name}`).toMatchObject({
          path: `${host.remoteLogDir}/${entry.name}`,
          sha256: sha256(bytes),
          start: 0,
          end: st.size,
          remoteSize: st.size,
          rawFile: `${name}/${entry.name}`,
          complete: true,
        });
        expect(sha256(readFileSync(join(out, 'raw', String(entry.rawFile))))).toBe(sha256(bytes));
        // SFTP v3 carries whole seconds; the sudo transport's listing carries the full time.
        expect(Math.abs(Date.parse(String(entry.remoteMtime)) - st.mtimeMs)).toBeLessThan(1000);
        // Inodes: known through sudo, not over SFTP v3.
        expect(entry.inode).toBe(name === 'root-only' ? st.ino : undefined);
      }
    }
    // The run's manifest points at the raw manifest and hashes every raw file with the rest of the run folder.
    const run = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      rawManifest: string;
      files: { name: string; sha256: string; bytes: number }[];
    };
    expect(run.rawManifest).toBe('raw/manifest.json');
    const listed = new Map(run.files.map((f) => [f.name, f]));
    expect(listed.has('raw/manifest.json')).toBe(true);
    for (const name of ['gz', 'root-only']) {
      for (const entry of manifest[name]!) {
        const f = listed.get(`raw/${entry.rawFile}`);
        expect(f, String(entry.rawFile)).toBeDefined();
        expect(f!.sha256).toBe(entry.sha256);
      }
    }
  }, 60_000);

  for (const name of ['incr', 'incr-sudo']) {
    it(`${name}: incremental sweeps read only what was appended, follow a rotation, notice a truncation, and read nothing twice`, async () => {
      const host = fleet.host(name);
      const state = join(dir, `state-${name}.json`);
      const step = async (label: string) => {
        const out = join(dir, `${name}-${label}`);
        const r = await sweep(['--hosts', name, '--incremental', '--state', state, '--out', out]);
        expect(r.code, r.stderr).toBe(0);
        return { rows: readCsv(join(out, 'events.csv')), summary: hostsCsv(out)[name]! };
      };
      const rowsOf = async (texts: string[]) => {
        const files = texts.map((t, i) => {
          const f = join(dir, `${name}-expected-${i}.log`);
          writeFileSync(f, t);
          return f;
        });
        return (await localRows(name, files)).map(withoutSource);
      };
      // Six batches of new events, an hour old and a hundred seconds apart, serials no corpus log uses.
      const t0 = Math.floor(Date.now() / 1000) - 3600;
      const [l1, l2, l3, l4, l5, l6] = [0, 1, 2, 3, 4, 5].map((k) =>
        freshEvents(10 + 30 * k, 30, t0 + 100 * k, 900_000 + 1000 * k),
      );

      // 1. The first sweep reads everything there is.
      const first = await step('1');
      expect(first.rows.map(withoutSource)).toEqual(
        (await localRows(name, corpus('raw', ROTATED.slice(1)))).map(withoutSource),
      );

      // 2. Lines appended: only they are read.
      await appendToLog(host, 'audit.log', l1!);
      const second = await step('2');
      expect(second.rows.map(withoutSource), second.summary.message).toEqual(await rowsOf([l1!]));
      expect(second.summary).toMatchObject({
        outcome: 'ok',
        files: '1',
        bytes: String(Buffer.byteLength(l1!)),
      });

      // 3. More lines, then a rotation, then lines in the new file: the rest of the rotated file, then the new one.
      await appendToLog(host, 'audit.log', l2!);
      await rotateLog(host);
      // auditd leaves a rotated file with the mtime of its last write, here well before the next sweep.
      const rotatedAt = new Date((t0 + 100 + 30) * 1000);
      utimesSync(join(host.logDir, 'audit.log.1'), rotatedAt, rotatedAt);
      await appendToLog(host, 'audit.log', l3!);
      const third = await step('3');
      expect(third.rows.map(withoutSource), third.summary.message).toEqual(await rowsOf([l2!, l3!]));
      expect(third.summary).toMatchObject({
        outcome: 'ok',
        files: '2',
        bytes: String(Buffer.byteLength(l2!) + Buffer.byteLength(l3!)),
      });
      expect(third.summary.message).toMatch(
        /rotated since the last sweep: reading audit\.log\.1 from byte \d+/,
      );
      expect(new Set(third.rows.map((r) => r.source_file))).toEqual(
        new Set([`${host.remoteLogDir}/audit.log.1`, `${host.remoteLogDir}/audit.log`]),
      );

      // 4. The live log truncated and written again: noticed, read from its start, nothing older again.
      truncateSync(join(host.logDir, 'audit.log'), 0);
      await appendToLog(host, 'audit.log', l4!);
      const fourth = await step('4');
      expect(fourth.rows.map(withoutSource), fourth.summary.message).toEqual(await rowsOf([l4!]));
      expect(fourth.summary).toMatchObject({
        outcome: 'ok',
        files: '1',
        bytes: String(Buffer.byteLength(l4!)),
      });
      expect(fourth.summary.message).toMatch(/audit\.log .*truncated/);

      // 5. Lines, then a rotation that leaves the new live log empty (a sweep comes before auditd writes to it),
      // then lines in it: each sweep reads only what it has not read before.
      await appendToLog(host, 'audit.log', l5!);
      await rotateLog(host);
      const fifth = await step('5');
      expect(fifth.rows.map(withoutSource), fifth.summary.message).toEqual(await rowsOf([l5!]));
      await appendToLog(host, 'audit.log', l6!);
      const sixth = await step('6');
      expect(sixth.rows.map(withoutSource), sixth.summary.message).toEqual(await rowsOf([l6!]));
      expect(sixth.summary).toMatchObject({ files: '1', bytes: String(Buffer.byteLength(l6!)) });
    }, 60_000);
  }

  /** The parser's rows of the big log read locally, under `host`'s name (made once: it has ~33,000 events). */
  let bigRowsOnce: Promise<EventRow[]> | undefined;
  const bigRows = async (host: string) => {
    bigRowsOnce ??= localRows('big', [bigLog]);
    return (await bigRowsOnce).map((r) => ({ ...r, host }));
  };

  /**
   * The host `big-cut` of a sweep (its connection cut by the proxy): partial or failed, never ok; a partial host
   * keeps the first rows of a complete read, none made up of half an event; summary.csv agrees with events.csv.
   * Returns summary.csv by host.
   */
  async function expectCutHost(out: string, rows: readonly Record<string, string>[]) {
    const cut = hostsCsv(out)['big-cut']!;
    expect(['partial', 'failed']).toContain(cut.outcome);
    expect(['INTERRUPTED', 'PROTOCOL']).toContain(cut.code);
    expect(Number(cut.bytes)).toBeLessThan(statSync(bigLog).size);
    const cutRows = rows.filter((r) => r.host === 'big-cut');
    const summary = Object.fromEntries(readCsv(join(out, 'summary.csv')).map((r) => [r.host, r]));
    // A partial host's counts are kept, a failed one's are zero: summary.csv agrees with events.csv either way.
    expect(summary['big-cut']!.events).toBe(String(cutRows.length));
    if (cut.outcome === 'partial') {
      expect(cut.message).toMatch(/collection stopped after \d+ bytes/);
      expect(cutRows.length).toBe(Number(cut.events));
      expect(cutRows.length).toBeGreaterThan(0);
      const full = await bigRows('big-cut');
      expect(cutRows.length).toBeLessThan(full.length);
      expect(cutRows.map(withoutSource)).toEqual(full.slice(0, cutRows.length).map(withoutSource));
    } else {
      expect(cutRows).toEqual([]);
    }
    return summary;
  }

  // One host alone is parsed on the main thread and its rows built by row workers (parse/row-workers.ts): from the
  // first event when their number is forced, else once the host has brought 16,000 events (sweep.ts), which the
  // big log passes halfway. The rows are the parser's either way, and a cut is never taken for a short log.
  it.each([
    ['the main thread', '0'],
    ['two row workers from the first event', '2'],
    ['row workers from the 16,000th event on (the default on two CPUs)', undefined],
  ])(
    "sweeps one big host alone, its rows built on %s: the parser's rows, and a cut host ends partial or failed",
    async (_, workers) => {
      const env: Record<string, string> = workers === undefined ? {} : { AUDITSWEEP_PARSE_WORKERS: workers };
      const out = join(dir, `one-${workers ?? 'default'}`);
      const whole = await sweep(['--hosts', 'big', '--out', out], env);
      expect(whole.code, whole.stderr).toBe(0);
      const rows = readCsv(join(out, 'events.csv'));
      expect(rows.length).toBeGreaterThan(16_000);
      expect(hostsCsv(out).big).toMatchObject({ outcome: 'ok', code: '', events: String(rows.length) });
      expect(rows.map(withoutSource)).toEqual((await bigRows('big')).map(withoutSource));

      const cutOut = join(dir, `one-cut-${workers ?? 'default'}`);
      const cutsBefore = proxy.cuts;
      const cut = await sweep(['--hosts', 'big-cut', '--retries', '0', '--out', cutOut], env);
      expect(cut.code, cut.stderr).toBe(1);
      expect(proxy.cuts).toBeGreaterThan(cutsBefore);
      const summary = await expectCutHost(cutOut, readCsv(join(cutOut, 'events.csv')));
      expect(Object.keys(summary).sort()).toEqual(['(all)', 'big-cut']);
    },
    60_000,
  );

  // The logs are parsed on the main thread, or on two host parse workers (parse/host-parse-workers.ts) that each
  // parse the hosts pinned to them while the connections stream: the cut host's rows must be the same either way.
  it.each([
    ['the main thread', '0'],
    ['two host parse workers', '2'],
  ])(
    'cuts one host mid-transfer: it ends partial or failed, never ok, and six others collected two at a time are whole (rows on %s)',
    async (_, workers) => {
      const out = join(dir, `cut-${workers}`);
      const cutsBefore = proxy.cuts;
      const { code, stderr } = await sweep(
        [
          '--hosts',
          `big-cut,${CONCURRENCY_HOSTS.join(',')}`,
          '--concurrency',
          '2',
          '--retries',
          '0',
          '--out',
          out,
        ],
        { AUDITSWEEP_PARSE_WORKERS: workers },
      );
      expect(code, stderr).toBe(1);
      expect(proxy.cuts).toBeGreaterThan(cutsBefore);
      const byHost = hostsCsv(out);
      expect(Object.keys(byHost).sort()).toEqual(['big-cut', ...CONCURRENCY_HOSTS].sort());
      const rows = readCsv(join(out, 'events.csv'));

      const summary = await expectCutHost(out, rows);

      for (const [i, name] of CONCURRENCY_HOSTS.entries()) {
        expect(byHost[name], name).toMatchObject({ outcome: 'ok', code: '', files: '1' });
        const expected = await localRows(name, corpus(VARIANTS[i % VARIANTS.length]!, ['audit.log']));
        expect(rows.filter((r) => r.host === name).map(withoutSource), name).toEqual(
          expected.map(withoutSource),
        );
        expect(summary[name]!.events, name).toBe(String(expected.length));
      }
      expect(summary['(all)']!.events).toBe(String(rows.length));
    },
    60_000,
  );
});
