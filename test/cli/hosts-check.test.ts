/**
 * `auditsweep hosts check` against a fleet of real OpenSSH sshd processes on loopback: one host of each failure a
 * sweep reports in hosts.csv, the library function (`checkHost` / `checkFleet`) for each, and the built CLI for
 * its lines, its JSON and its exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckHostOptions, checkFleet, checkHost, type HostCheck } from '../../src/fetch/check-host.js';
import { sudoersRule } from '../../src/fetch/transport.js';
import { loadInventory } from '../../src/inventory/index.js';
import type { Inventory, InventoryHost } from '../../src/inventory/types.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { fleetInventory, knownHostsLines } from '../helpers/fleet-inventory.js';
import { replaceHostKey, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { startCutProxy } from '../helpers/tcp-cut-proxy.js';
import { type SilentServer, startSilentServer, unusedPort } from '../helpers/tcp-silent.js';

const _run = promisify(execFile);
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const ROTATED = ['audit.log.2', 'audit.log.1', 'audit.log'];
const corpusLogs = () => Object.fromEntries(ROTATED.map((f) => [f, join(FIX, 'enriched', f)]));
const corpusBytes = ROTATED.reduce((n, f) => n + statSync(join(FIX, 'enriched', f)).size, 0);
/** The rule auditsweep's PERMISSION_DENIED message prints, installed for the fleet's `{logDir}`. */
const PRINTED_SUDO_RULE = { commands: [sudoersRule('x', '{logDir}/audit.log').split('NOPASSWD: ')[1]!] };
const BIG_BYTES = 8 * 1024 * 1024;

/** Inventory order: the order `hosts check` prints in. */
const ORDER = [
  'ok-01',
  'root-only',
  'root-only-sftp',
  'unknown-key',
  'changed-key',
  'refused',
  'silent',
  'no-logs',
  'rotated-only',
  'wrong-key',
  'no-dns',
  'big',
];
const EXPECTED: Record<string, string> = {
  'ok-01': 'OK',
  'root-only': 'OK',
  'root-only-sftp': 'PERMISSION_DENIED',
  'unknown-key': 'HOST_KEY_UNKNOWN',
  'changed-key': 'HOST_KEY_CHANGED',
  refused: 'REFUSED',
  silent: 'TIMEOUT',
  'no-logs': 'LOG_MISSING',
  'rotated-only': 'LOG_MISSING',
  'wrong-key': 'AUTH_FAILED',
  'no-dns': 'DNS',
  big: 'OK',
};

const cli = (args: string[], cwd: string) => runCli(args, { cwd });

describe('auditsweep hosts check against real sshd', () => {
  let fleet: SshdFleet;
  let silent: SilentServer;
  let dir: string;
  let inventoryFile: string;
  let inventory: Inventory;
  let knownHosts: string;
  let noSshConfig: string;
  let options: CheckHostOptions;
  const host = (name: string): InventoryHost => {
    const h = inventory.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name} in the test inventory`);
    return h;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-hosts-check-'));
    const big = join(dir, 'big-audit.log');
    const line = readFileSync(join(FIX, 'enriched', 'audit.log'), 'utf8').split('\n')[0]!;
    writeFileSync(big, `${line}\n`.repeat(Math.ceil(BIG_BYTES / (line.length + 1))));
    fleet = await startSshdFleet({
      hosts: [
        { name: 'ok-01', logs: corpusLogs() },
        // auditd's default: root's 0600 log, read through the sudoers rule auditsweep prints, or denied over SFTP.
        { name: 'root-only', chroot: false, sudo: PRINTED_SUDO_RULE, logMode: 0o600, logs: corpusLogs() },
        { name: 'unknown-key', logs: corpusLogs() },
        { name: 'changed-key', logs: corpusLogs() },
        { name: 'no-logs', createLogDir: false },
        // Rotated away, and no live log written since.
        { name: 'rotated-only', logs: { 'audit.log.1': join(FIX, 'enriched', 'audit.log.1') } },
        { name: 'wrong-key', logs: corpusLogs(), denyClientKey: true },
        { name: 'big', logs: { 'audit.log': big } },
      ],
    });
    silent = await startSilentServer();
    noSshConfig = join(dir, 'no-ssh-config');
    writeFileSync(noSshConfig, '');
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, knownHostsLines(fleet.hosts.filter((h) => h.name !== 'unknown-key')));
    await replaceHostKey(fleet.host('changed-key'));
    const rootLog = `${fleet.host('root-only').remoteLogDir}/audit.log`;
    inventoryFile = join(dir, 'inventory.yaml');
    writeFileSync(
      inventoryFile,
      fleetInventory(fleet, {
        fleet: {
          'ok-01': { tags: ['pci'] },
          'root-only': { transport: 'sudo', logPath: rootLog },
          'root-only-sftp': {
            address: fleet.host('root-only').address,
            port: fleet.host('root-only').port,
            logPath: rootLog,
          },
          'unknown-key': {},
          'changed-key': {},
          refused: { address: '127.0.0.1', port: await unusedPort() },
          silent: { address: silent.address, port: silent.port },
          'no-logs': {},
          'rotated-only': {},
          'wrong-key': {},
          'no-dns': { address: 'no-such-host.invalid' },
          big: {},
        },
      }),
    );
    const loaded = await loadInventory(inventoryFile, { sshConfigFile: false });
    expect(loaded.errors).toEqual([]);
    inventory = loaded.value!;
    expect(inventory.hosts.map((h) => h.name)).toEqual(ORDER);
    options = {
      session: {
        knownHostsFiles: [knownHosts],
        timeouts: { connectMs: 2000 },
        auth: { agentSocket: null, env: {} },
      },
      retry: { attempts: 1 },
    };
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await silent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('checkHost', () => {
    it('finds the rotated family of a healthy host, reads the first bytes of its live log, and verifies its key', async () => {
      const r = await checkHost(host('ok-01'), options);
      expect(r.status, r.message).toBe('ok');
      if (r.status !== 'ok') return;
      expect(r.files.map((f) => f.name)).toEqual(ROTATED);
      expect(r.bytes).toBe(corpusBytes);
      expect(r.probedBytes).toBe(512);
      expect(r.user).toBe(fleet.user);
      expect(r.hostKey.fingerprint).toBe(fleet.host('ok-01').hostKeyFingerprint);
      expect(r.message).toMatch(
        new RegExp(
          `^3 files, ${corpusBytes} bytes; audit\\.log readable over sftp as ${fleet.user}, last written 20`,
        ),
      );
    });

    it('reads a root-only log through sudo, and names log_group, root and the exact sudoers rule over SFTP', async () => {
      const viaSudo = await checkHost(host('root-only'), options);
      expect(viaSudo.status, viaSudo.message).toBe('ok');
      expect(viaSudo.message).toContain(`readable over sudo as ${fleet.user}`);
      expect(viaSudo.status === 'ok' && viaSudo.files.map((f) => f.name)).toEqual(ROTATED);

      const denied = await checkHost(host('root-only-sftp'), options);
      const logPath = `${fleet.host('root-only').remoteLogDir}/audit.log`;
      expect(denied).toMatchObject({ status: 'failed', code: 'PERMISSION_DENIED', stage: 'read' });
      expect(denied.message).toContain(`${logPath}: permission denied for user ${fleet.user}`);
      expect(denied.message).toContain(`add ${fleet.user} to auditd's log_group`);
      expect(denied.message).toContain(sudoersRule(fleet.user, logPath));
    });

    it('refuses an unknown host key and gives its fingerprint and the trust command', async () => {
      const r = await checkHost(host('unknown-key'), {
        ...options,
        // Even when asked to: a check never accepts an unknown key.
        session: { ...options.session, insecureAcceptUnknownHostKeys: true },
        trustCommand: (name) => `auditsweep hosts trust ${name} -i ${inventoryFile}`,
      });
      const fingerprint = fleet.host('unknown-key').hostKeyFingerprint;
      expect(r).toMatchObject({
        status: 'failed',
        code: 'HOST_KEY_UNKNOWN',
        stage: 'connect',
        fingerprint,
        keyHolder: 'unknown-key',
      });
      expect(r.status === 'failed' && r.remedy).toContain(
        `${fingerprint} with the host's administrator (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on unknown-key), then run: auditsweep hosts trust unknown-key -i ${inventoryFile}`,
      );
    });

    it('refuses a changed host key, naming the key presented now', async () => {
      const r = await checkHost(host('changed-key'), options);
      expect(r).toMatchObject({
        status: 'failed',
        code: 'HOST_KEY_CHANGED',
        stage: 'connect',
        fingerprint: fleet.host('changed-key').hostKeyFingerprint,
      });
      expect(r.message).toContain('man-in-the-middle');
      expect(r.status === 'failed' && r.remedy).toMatch(/ssh-keygen -R.*auditsweep hosts trust changed-key$/);
    });

    it('tells a closed port, a silent server and an unknown name apart', async () => {
      const refused = await checkHost(host('refused'), options);
      expect(refused).toMatchObject({ status: 'failed', code: 'REFUSED', stage: 'connect' });
      expect(refused.status === 'failed' && refused.remedy).toContain('start sshd');

      const started = Date.now();
      const timeout = await checkHost(host('silent'), options);
      expect(timeout).toMatchObject({ status: 'failed', code: 'TIMEOUT', stage: 'connect' });
      expect(timeout.message).toMatch(/no SSH handshake within 2 s/);
      expect(timeout.status === 'failed' && timeout.remedy).toContain('--connect-timeout');
      expect(Date.now() - started).toBeLessThan(10_000);

      const dns = await checkHost(host('no-dns'), options);
      expect(dns).toMatchObject({ status: 'failed', code: 'DNS', stage: 'connect' });
    });

    it('reports a host without the log folder, and one whose live log is gone, as LOG_MISSING', async () => {
      const noLogs = await checkHost(host('no-logs'), options);
      expect(noLogs).toMatchObject({ status: 'failed', code: 'LOG_MISSING', stage: 'list' });
      expect(noLogs.message).toContain('/var/log/audit');
      // Its rotated sibling is listed, but the live log the sweep reads last cannot be opened.
      const rotated = await checkHost(host('rotated-only'), options);
      expect(rotated).toMatchObject({ status: 'failed', code: 'LOG_MISSING', stage: 'read' });
      expect(rotated.message).toContain('/var/log/audit/audit.log: no such file or directory');
    });

    it('reports a key the host does not authorize as AUTH_FAILED, with what to check', async () => {
      const r = await checkHost(host('wrong-key'), options);
      expect(r).toMatchObject({ status: 'failed', code: 'AUTH_FAILED', stage: 'connect' });
      expect(r.message).toContain(fleet.clientKey);
      expect(r.status === 'failed' && r.remedy).toContain('--identity');
    });

    it('never reads a whole log: far less than the log crosses the wire', async () => {
      // Through a proxy that cuts the connection after 256 KiB from the server: reading the 8 MiB log would fail.
      const big = fleet.host('big');
      const proxy = await startCutProxy({ target: big, cutAfterBytes: 256 * 1024 });
      try {
        const viaProxy = join(dir, 'known_hosts-proxy');
        writeFileSync(viaProxy, `[${proxy.address}]:${proxy.port} ${big.hostKeyPublic}\n`);
        const r = await checkHost(
          { ...host('big'), address: proxy.address, port: proxy.port },
          { ...options, session: { ...options.session, knownHostsFiles: [viaProxy] } },
        );
        expect(r.status, r.message).toBe('ok');
        expect(r.status === 'ok' && r.probedBytes).toBe(512);
        expect(r.status === 'ok' && r.bytes).toBeGreaterThanOrEqual(BIG_BYTES);
        expect(proxy.accepted).toBe(1);
        expect(proxy.cuts).toBe(0);
      } finally {
        await proxy.close();
      }
    });
  });

  describe('checkFleet', () => {
    it('checks every host and answers in inventory order, each with the code hosts.csv would carry', async () => {
      const seen: string[] = [];
      const results = await checkFleet(inventory.hosts, {
        ...options,
        concurrency: 4,
        onHostDone: (r, i) => {
          expect(inventory.hosts[i]!.name).toBe(r.host);
          seen.push(r.host);
        },
      });
      expect(results.map((r) => r.host)).toEqual(ORDER);
      expect(
        Object.fromEntries(results.map((r: HostCheck) => [r.host, r.status === 'ok' ? 'OK' : r.code])),
      ).toEqual(EXPECTED);
      expect(seen.sort()).toEqual([...ORDER].sort());
    });

    it('holds connection attempts to the connect limit', async () => {
      const silentHosts = [1, 2, 3].map((i) => ({ ...host('silent'), name: `silent-${i}` }));
      const started = Date.now();
      const results = await checkFleet(silentHosts, {
        ...options,
        session: { ...options.session, timeouts: { connectMs: 600 } },
        concurrency: 3,
        connectConcurrency: 1,
      });
      expect(results.map((r) => r.status === 'failed' && r.code)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
      // One attempt at a time: three timeouts end to end, not side by side.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 600 - 50);
    });
  });

  describe('the CLI', () => {
    const base = () => [
      'hosts',
      'check',
      '-i',
      inventoryFile,
      '--known-hosts',
      knownHosts,
      '--ssh-config',
      noSshConfig,
      '--connect-timeout',
      '2',
      '--retries',
      '0',
    ];

    it('prints one line per host in inventory order with OK or the code, the remedy, and exits 1', async () => {
      const { code, stdout, stderr } = await cli(base(), dir);
      expect(code, stderr).toBe(1);
      const lines = stdout.trimEnd().split('\n');
      expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(ORDER);
      expect(Object.fromEntries(lines.map((l) => l.split(/\s+/).slice(0, 2) as [string, string]))).toEqual(
        EXPECTED,
      );
      const line = (name: string) => lines.find((l) => l.startsWith(`${name} `))!;
      expect(line('ok-01')).toMatch(
        new RegExp(`^ok-01 +OK +3 files, ${corpusBytes} bytes; audit\\.log readable`),
      );
      // The trust command as it can be pasted: the same inventory, ssh config and known_hosts, written there.
      const unknown = line('unknown-key');
      expect(unknown).toContain(fleet.host('unknown-key').hostKeyFingerprint);
      expect(unknown).toContain(
        `fix: check ${fleet.host('unknown-key').hostKeyFingerprint} with the host's administrator`,
      );
      expect(unknown).toContain(
        `then run: auditsweep hosts trust unknown-key -i ${inventoryFile} --ssh-config ${noSshConfig} --known-hosts ${knownHosts} --write ${knownHosts}`,
      );
      expect(line('root-only-sftp')).toContain("to auditd's log_group");
      expect(stderr).toContain(
        '12 hosts: 3 OK, 9 failed (LOG_MISSING 2, AUTH_FAILED 1, DNS 1, HOST_KEY_CHANGED 1, HOST_KEY_UNKNOWN 1, PERMISSION_DENIED 1, REFUSED 1, TIMEOUT 1)',
      );
    });

    it('emits one JSON object per host with --log-format json', async () => {
      const { code, stdout, stderr } = await cli([...base(), '--log-format', 'json'], dir);
      expect(code, stderr).toBe(1);
      const objects = stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(objects.map((o) => o.host)).toEqual(ORDER);
      expect(Object.fromEntries(objects.map((o) => [o.host, o.code ?? 'OK']))).toEqual(EXPECTED);
      const ok = objects.find((o) => o.host === 'ok-01')!;
      expect(ok).toMatchObject({
        outcome: 'ok',
        code: null,
        remedy: null,
        files: 3,
        bytes: corpusBytes,
        transport: 'sftp',
        log_path: '/var/log/audit/audit.log',
        user: fleet.user,
        host_key: { type: 'ssh-ed25519', fingerprint: fleet.host('ok-01').hostKeyFingerprint },
      });
      expect((ok.log_files as { name: string }[]).map((f) => f.name)).toEqual(ROTATED);
      expect(objects.find((o) => o.host === 'unknown-key')).toMatchObject({
        outcome: 'failed',
        code: 'HOST_KEY_UNKNOWN',
        stage: 'connect',
        fingerprint: fleet.host('unknown-key').hostKeyFingerprint,
        key_holder: 'unknown-key',
        remedy: expect.stringContaining('auditsweep hosts trust unknown-key'),
      });
      expect(JSON.parse(stderr.trim().split('\n').at(-1)!)).toEqual({
        summary: {
          hosts: 12,
          ok: 3,
          failed: 9,
          codes: {
            LOG_MISSING: 2,
            AUTH_FAILED: 1,
            DNS: 1,
            HOST_KEY_CHANGED: 1,
            HOST_KEY_UNKNOWN: 1,
            PERMISSION_DENIED: 1,
            REFUSED: 1,
            TIMEOUT: 1,
          },
        },
      });
    });

    it('exits 0 when every selected host passes, and takes --exclude and --tag as the sweep does', async () => {
      const all = await cli([...base(), '--hosts', 'ok-01,root-only,big'], dir);
      expect(all.code, all.stderr).toBe(0);
      expect(
        all.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.split(/\s+/).slice(0, 2).join(' ')),
      ).toEqual(['ok-01 OK', 'root-only OK', 'big OK']);
      const tagged = await cli([...base(), '--tag', 'pci'], dir);
      expect(tagged.code, tagged.stderr).toBe(0);
      expect(tagged.stdout).toMatch(/^ok-01 +OK /);
      expect(tagged.stdout.trimEnd().split('\n')).toHaveLength(1);
      const excluded = await cli([...base(), '--all', '--exclude', 'fleet'], dir);
      expect(excluded.code).toBe(2);
      expect(excluded.stderr).toContain('the selection matched no host');
      expect(excluded.stdout).toBe('');
    });

    it('exits 2 for a usage error before contacting any host', async () => {
      const noInventory = await cli(['hosts', 'check'], dir);
      expect(noInventory.code).toBe(2);
      expect(noInventory.stderr).toContain('no inventory: pass --inventory FILE');
      expect(noInventory.stdout).toBe('');
      const badTag = await cli([...base(), '--tag', 'pcj'], dir);
      expect(badTag.code).toBe(2);
      expect(badTag.stderr).toContain('no host has the tag "pcj"');
      const badFormat = await cli([...base(), '--log-format', 'xml'], dir);
      expect(badFormat.code).toBe(2);
      expect(badFormat.stderr).toContain('--log-format is text or json, not xml');
    });
  });
});
