import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Client, type ConnectConfig } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendToLog,
  type FleetHost,
  isGone,
  replaceHostKey,
  rotateLog,
  type SshdFleet,
  sshdProcesses,
  startSshdFleet,
} from './sshd-fleet.js';

const execFileP = promisify(execFile);
// shared/ lies beside the repository (here and in CI's fresh clone).
const CORPUS = fileURLToPath(new URL('../../../shared/corpus/enriched', import.meta.url));

/** Accepts only the host key the fleet says this host has, so a test can never talk to the wrong sshd. */
function pinnedTo(host: FleetHost): (key: Buffer) => boolean {
  return (key) => key.toString('base64') === host.hostKeyPublic.split(' ')[1];
}

function connectConfig(fleet: SshdFleet, host: FleetHost, auth: Partial<ConnectConfig> = {}): ConnectConfig {
  return {
    host: host.address,
    port: host.port,
    username: fleet.user,
    hostVerifier: pinnedTo(host),
    readyTimeout: 10_000,
    ...(Object.keys(auth).length > 0 ? auth : { privateKey: readFileSync(fleet.clientKey) }),
  };
}

async function withSftp<T>(
  fleet: SshdFleet,
  host: FleetHost,
  fn: (sftp: SftpClient) => Promise<T>,
  auth: Partial<ConnectConfig> = {},
): Promise<T> {
  const sftp = new SftpClient();
  await sftp.connect(connectConfig(fleet, host, auth));
  try {
    return await fn(sftp);
  } finally {
    await sftp.end();
  }
}

/** Runs one command over an exec channel; resolves with its exit code and output. */
function exec(
  fleet: SshdFleet,
  host: FleetHost,
  command: string,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () => {
      client.exec(command, (err, channel) => {
        if (err) {
          client.end();
          reject(err);
          return;
        }
        const out: Buffer[] = [];
        let stderr = '';
        let code: number | null = null;
        channel.on('data', (d: Buffer) => out.push(d));
        channel.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        channel.on('exit', (c: number | null) => {
          code = c;
        });
        channel.on('close', () => {
          client.end();
          resolve({ code, stdout: Buffer.concat(out), stderr });
        });
      });
    });
    client.connect(connectConfig(fleet, host));
  });
}

/** Resolves with the authentication error message, or 'ok' if the login succeeded. */
function tryLogin(config: ConnectConfig): Promise<string> {
  return new Promise((resolve) => {
    const client = new Client();
    client.on('error', (err) => resolve(err.message));
    client.on('ready', () => {
      client.end();
      resolve('ok');
    });
    client.connect(config);
  });
}

describe('sshd fleet helper', () => {
  let fleet: SshdFleet;
  let special: SshdFleet;
  const sources = [
    `${CORPUS}/audit.log`,
    `${CORPUS}/audit.log.1`,
    `${CORPUS}/audit.log.2`,
    `${CORPUS}/audit.log.1`,
    `${CORPUS}/audit.log`,
  ];

  beforeAll(async () => {
    const started = Date.now();
    [fleet, special] = await Promise.all([
      startSshdFleet({
        hosts: sources.map((source, i) => ({
          name: `web-0${i + 1}`,
          // Each host gets a distinct audit.log: the corpus file plus a line naming the host.
          logs: {
            'audit.log': { content: Buffer.concat([readFileSync(source), Buffer.from(`# web-0${i + 1}\n`)]) },
            'audit.log.1': `${CORPUS}/audit.log.1`,
            'audit.log.2.gz': `${CORPUS}/audit.log.2`,
          },
        })),
      }),
      startSshdFleet({
        hosts: [
          { name: 'denied', denyClientKey: true, logs: { 'audit.log': `${CORPUS}/audit.log` } },
          { name: 'unreadable', logMode: 0o600, logs: { 'audit.log': `${CORPUS}/audit.log` } },
          { name: 'empty', logs: {} },
          { name: 'no-auditd', createLogDir: false },
          {
            name: 'sudo-01',
            chroot: false,
            sudo: true,
            logMode: 0o600,
            logDirMode: 0o700,
            logs: { 'audit.log': `${CORPUS}/audit.log`, 'audit.log.1': `${CORPUS}/audit.log.1` },
          },
        ],
      }),
    ]);
    // Two fleets of five started in parallel; generous bound for a loaded 2-core machine.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  afterAll(async () => {
    await fleet?.stop();
    await special?.stop();
  });

  it('starts five hosts, each with its own port and host key, listed in knownHostsFile', async () => {
    expect(fleet.hosts).toHaveLength(5);
    expect(new Set(fleet.hosts.map((h) => h.port)).size).toBe(5);
    expect(new Set(fleet.hosts.map((h) => h.hostKeyFingerprint)).size).toBe(5);
    const knownHosts = readFileSync(fleet.knownHostsFile, 'utf8');
    for (const h of fleet.hosts) {
      expect(h.hostKeyPublic).toMatch(/^ssh-ed25519 AAAA\S+$/);
      expect(h.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(knownHosts).toContain(`[${h.address}]:${h.port} ${h.hostKeyPublic}\n`);
      // ssh-keygen finds the host under its [address]:port name.
      const { stdout } = await execFileP('ssh-keygen', [
        '-F',
        `[${h.address}]:${h.port}`,
        '-f',
        fleet.knownHostsFile,
      ]);
      expect(stdout).toContain(h.hostKeyPublic);
    }
  });

  it('serves each host its own audit.log at /var/log/audit over SFTP, byte for byte', async () => {
    await Promise.all(
      fleet.hosts.map(async (h, i) => {
        const expected = Buffer.concat([readFileSync(sources[i]!), Buffer.from(`# ${h.name}\n`)]);
        await withSftp(fleet, h, async (sftp) => {
          const got = (await sftp.get('/var/log/audit/audit.log')) as Buffer;
          expect(got.equals(expected)).toBe(true);
          const names = (await sftp.list('/var/log/audit')).map((f) => f.name).sort();
          expect(names).toEqual(['audit.log', 'audit.log.1', 'audit.log.2.gz']);
          const gz = (await sftp.get('/var/log/audit/audit.log.2.gz')) as Buffer;
          expect(gunzipSync(gz).equals(readFileSync(`${CORPUS}/audit.log.2`))).toBe(true);
          // Chrooted: nothing of the real system is visible.
          expect(await sftp.exists('/etc/passwd')).toBe(false);
        });
      }),
    );
  });

  it('accepts password and encrypted-key logins, refuses unlisted keys and wrong passwords', async () => {
    const h = fleet.hosts[0]!;
    expect(await tryLogin(connectConfig(fleet, h, { password: fleet.password }))).toBe('ok');
    expect(
      await tryLogin(
        connectConfig(fleet, h, {
          privateKey: readFileSync(fleet.encryptedClientKey),
          passphrase: fleet.passphrase,
        }),
      ),
    ).toBe('ok');
    expect(
      await tryLogin(connectConfig(fleet, h, { privateKey: readFileSync(fleet.unlistedClientKey) })),
    ).toMatch(/authentication methods failed/);
    expect(await tryLogin(connectConfig(fleet, h, { password: `${fleet.password}x` }))).toMatch(
      /authentication methods failed/,
    );
  });

  it('refuses the client key on a denyClientKey host', async () => {
    const h = special.host('denied');
    expect(await tryLogin(connectConfig(special, h))).toMatch(/authentication methods failed/);
    expect(await tryLogin(connectConfig(special, h, { password: special.password }))).toBe('ok');
  });

  it('makes a 0600 root log unreadable, and missing logs missing', async () => {
    await withSftp(special, special.host('unreadable'), async (sftp) => {
      await expect(sftp.get('/var/log/audit/audit.log')).rejects.toThrow(/[Pp]ermission denied/);
    });
    await withSftp(special, special.host('empty'), async (sftp) => {
      expect(await sftp.list('/var/log/audit')).toEqual([]);
      await expect(sftp.get('/var/log/audit/audit.log')).rejects.toThrow(/[Nn]o such file/);
    });
    await withSftp(special, special.host('no-auditd'), async (sftp) => {
      expect(await sftp.exists('/var/log/audit')).toBe(false);
      expect(await sftp.exists('/var/log')).toBe('d');
    });
  });

  it('lets the user read a 0600 log without chroot only through sudo -n', async () => {
    const h = special.host('sudo-01');
    expect(h.remoteLogDir).toBe(h.logDir);
    expect(h.sudoersFile && existsSync(h.sudoersFile)).toBe(true);
    const plain = await exec(special, h, `cat ${h.logDir}/audit.log`);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Permission denied/);
    const viaSudo = await exec(special, h, `sudo -n cat ${h.logDir}/audit.log`);
    expect(viaSudo.stderr).toBe('');
    expect(viaSudo.code).toBe(0);
    expect(viaSudo.stdout.equals(readFileSync(`${CORPUS}/audit.log`))).toBe(true);
    const tail = await exec(special, h, `sudo -n tail -c +101 ${h.logDir}/audit.log.1`);
    expect(tail.stdout.equals(readFileSync(`${CORPUS}/audit.log.1`).subarray(100))).toBe(true);
    // Nothing beyond the listed commands.
    const other = await exec(special, h, 'sudo -n id -u');
    expect(other.code).not.toBe(0);
  });

  it('appends to and rotates a host log, visible over SFTP', async () => {
    const h = fleet.hosts[1]!;
    const before = readFileSync(`${h.logDir}/audit.log`);
    const line = 'type=USER_LOGIN msg=audit(1700000000.000:1): res=success\n';
    await appendToLog(h, 'audit.log', line);
    await withSftp(fleet, h, async (sftp) => {
      const got = (await sftp.get('/var/log/audit/audit.log')) as Buffer;
      expect(got.length).toBe(before.length + line.length);
    });
    await rotateLog(h, { newContent: 'type=EOE msg=audit(1700000001.000:2): \n' });
    await withSftp(fleet, h, async (sftp) => {
      const names = (await sftp.list('/var/log/audit')).map((f) => f.name).sort();
      expect(names).toEqual(['audit.log', 'audit.log.1', 'audit.log.2', 'audit.log.3.gz']);
      expect(((await sftp.get('/var/log/audit/audit.log.1')) as Buffer).length).toBe(
        before.length + line.length,
      );
      expect(((await sftp.get('/var/log/audit/audit.log')) as Buffer).toString()).toMatch(/^type=EOE/);
    });
  });

  it('replaces a host key on the same port', async () => {
    const h = fleet.hosts[2]!;
    const old = h.hostKeyFingerprint;
    const oldPort = h.port;
    const replaced = await replaceHostKey(h);
    expect(replaced.hostKeyFingerprint).not.toBe(old);
    expect(h.hostKeyFingerprint).toBe(replaced.hostKeyFingerprint);
    expect(h.port).toBe(oldPort);
    // pinnedTo() reads the updated key: the login works against the new key.
    expect(await tryLogin(connectConfig(fleet, h))).toBe('ok');
  });

  it('stop() kills every sshd, open sessions included, and removes its folder and sudoers drop-ins', async () => {
    const extra = await startSshdFleet({
      hosts: [
        { name: 'a', logs: { 'audit.log': `${CORPUS}/audit.log` } },
        { name: 'b', chroot: false, sudo: true },
      ],
    });
    // The connection dies under it: keep ssh2-sftp-client's default listeners from printing.
    const sftp = new SftpClient('doomed', { error: () => {}, end: () => {}, close: () => {} });
    await sftp.connect(connectConfig(extra, extra.host('a')));
    const client = new Client();
    client.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect(connectConfig(extra, extra.host('b')));
    });
    const pids = extra.hosts.flatMap((h) => sshdProcesses(h));
    // Listener + per-connection processes for each host.
    expect(pids.length).toBeGreaterThanOrEqual(4);
    const sudoers = extra.host('b').sudoersFile!;
    await extra.stop();
    expect(pids.filter((p) => !isGone(p))).toEqual([]);
    expect(existsSync(extra.dir)).toBe(false);
    expect(existsSync(sudoers)).toBe(false);
    client.end();
    await sftp.end().catch(() => {});
  });
});
