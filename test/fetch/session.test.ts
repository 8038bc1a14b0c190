import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { type AuthOptions, createAuthSources } from '../../src/fetch/auth.js';
import { isTransientError } from '../../src/fetch/classify-error.js';
import { createConnectLimiter } from '../../src/fetch/connect-limiter.js';
import { addKnownHost } from '../../src/fetch/known-hosts.js';
import { withRetry } from '../../src/fetch/retry.js';
import {
  fetchHostKey,
  hostKeyAlgorithms,
  openSession,
  type Session,
  type SessionLogEvent,
  type SessionOptions,
} from '../../src/fetch/session.js';
import { createSftpTransport } from '../../src/fetch/sftp-transport.js';
import type { InventoryHost, JumpHost } from '../../src/inventory/types.js';
import { inventoryHostOf } from '../helpers/fleet-inventory.js';
import {
  type FleetHost,
  isGone,
  replaceHostKey,
  type SshdFleet,
  sshdProcesses,
  startSshdFleet,
} from '../helpers/sshd-fleet.js';
import { startSilentServer, unusedPort } from '../helpers/tcp-silent.js';

const execFileP = promisify(execFile);

let fleet: SshdFleet;
let tmp: string;
const logEvents: SessionLogEvent[] = [];
const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

function inventoryHost(
  host: { name: string; address: string; port: number },
  overrides: Partial<InventoryHost> = {},
): InventoryHost {
  return inventoryHostOf(fleet, host, overrides);
}

function jumpVia(host: FleetHost): JumpHost {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: fleet.user,
    identityFiles: [fleet.clientKey],
  };
}

/** Options that use nothing of the machine running the tests: no agent, no ~/.ssh keys, no env secrets. */
function options(overrides: Partial<SessionOptions> = {}, auth: AuthOptions = {}): SessionOptions {
  return {
    knownHostsFiles: [fleet.knownHostsFile],
    auth: createAuthSources({ agentSocket: null, defaultIdentityFiles: [], env: {}, ...auth }),
    timeouts: { connectMs: 5_000, authMs: 10_000 },
    logger: (e) => logEvents.push(e),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<SweepError> {
  const result = await promise.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  if (result.ok) {
    if (isSession(result.value)) await result.value.close();
    throw new Error('expected a failure, got a success');
  }
  expect(result.err).toBeInstanceOf(SweepError);
  return result.err as SweepError;
}

function isSession(value: unknown): value is Session {
  return typeof value === 'object' && value !== null && 'close' in value && 'facts' in value;
}

async function withSession<T>(
  host: InventoryHost,
  opts: SessionOptions,
  fn: (s: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(host, opts);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

async function readdir(session: Session, dir: string): Promise<string[]> {
  const sftp = await session.sftp();
  try {
    return await new Promise((resolve, reject) =>
      sftp.readdir(dir, (err, list) => (err ? reject(err) : resolve(list.map((f) => f.filename).sort()))),
    );
  } finally {
    sftp.end();
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Per-connection sshd processes under the host's listener (the listener itself excluded). */
function connectionProcesses(host: FleetHost): number[] {
  return sshdProcesses(host).filter((p) => p !== host.pid);
}

/**
 * The fleet's sshd_config says `AllowTcpForwarding no` and `LogLevel VERBOSE`; a jump host needs forwarding,
 * and sshd logs a direct-tcpip request only at DEBUG1. sshd -D re-executes itself (same pid) on SIGHUP and
 * reads its config again.
 */
async function enableForwarding(host: FleetHost): Promise<void> {
  const configFile = path.join(host.dir, 'sshd_config');
  const config = readFileSync(configFile, 'utf8');
  writeFileSync(
    configFile,
    config
      .replace('AllowTcpForwarding no', 'AllowTcpForwarding yes')
      .replace('LogLevel VERBOSE', 'LogLevel DEBUG1'),
  );
  const offset = readFileSync(host.sshdLogFile).length;
  process.kill(host.pid, 'SIGHUP');
  const ok = await waitFor(() =>
    /Server listening on/.test(readFileSync(host.sshdLogFile).subarray(offset).toString('utf8')),
  );
  if (!ok) throw new Error(`sshd of ${host.name} did not come back after SIGHUP`);
}

function knownHostsLineOf(host: FleetHost): number {
  const lines = readFileSync(fleet.knownHostsFile, 'utf8').split('\n');
  return lines.findIndex((l) => l.startsWith(`[${host.address}]:${host.port} `)) + 1;
}

beforeAll(async () => {
  fleet = await startSshdFleet({
    hosts: [
      { name: 'web', logs: { 'audit.log': { content: 'type=EOE msg=audit(1.0:1): \n' } } },
      { name: 'denied', denyClientKey: true },
      { name: 'bastion', chroot: false },
      {
        name: 'inner',
        address: '127.0.0.2',
        logs: { 'audit.log': { content: '' }, 'audit.log.1': { content: '' } },
      },
      { name: 'rekeyed' },
      { name: 'doomed', chroot: false },
    ],
  });
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'auditsweep-session-'));
  await enableForwarding(fleet.host('bastion'));
});

afterEach(() => {
  vi.unstubAllEnvs();
});

afterAll(async () => {
  try {
    // Every session and probe closed its sockets: none may be left open in this process.
    const leftover = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap');
    await waitFor(() => leftover().length === 0, 3_000);
    expect(leftover()).toEqual([]);
    // The logger never saw a secret.
    const logged = JSON.stringify(logEvents);
    expect(logged).not.toContain(fleet.password);
    expect(logged).not.toContain(fleet.passphrase);
    expect(logged).not.toContain('not-the-passphrase');
    expect(logged).not.toContain('not-the-password');
  } finally {
    await fleet?.stop();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  }
});

describe('openSession: host keys', () => {
  it('connects to a trusted host with a key and lists /var/log/audit over SFTP', async () => {
    const web = fleet.host('web');
    await withSession(inventoryHost(web), options(), async (session) => {
      expect(await readdir(session, '/var/log/audit')).toEqual(['audit.log']);
      expect(session.facts.hostKey).toEqual({
        keyType: 'ssh-ed25519',
        fingerprint: web.hostKeyFingerprint,
        status: 'trusted',
        knownHostsEntry: `${fleet.knownHostsFile}:${knownHostsLineOf(web)}`,
      });
      expect(session.facts.algorithms?.serverHostKey).toBe('ssh-ed25519');
      expect(session.facts.algorithms?.kex).toMatch(/\S/);
      expect(session.facts.serverSoftware).toMatch(/^OpenSSH/);
      expect(session.facts.authenticatedWith).toBe(`key ${fleet.clientKey} (ssh-ed25519)`);
      expect(session.facts.warnings).toEqual([]);
      expect(session.facts.jumps).toEqual([]);
    });
  });

  it('refuses an unknown host with its fingerprint and the command that trusts it', async () => {
    const web = fleet.host('web');
    const empty = path.join(tmp, 'empty_known_hosts');
    writeFileSync(empty, '');
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(inventoryHost(web), options({ knownHostsFiles: [empty] }));
      }, fastRetry),
    );
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.message).toContain('web (127.0.0.1:');
    expect(err.message).toContain(web.hostKeyFingerprint);
    expect(err.message).toContain('auditsweep hosts trust web');
    expect(attempts).toBe(1);
  });

  it('accepts an unknown host only with the insecure switch, and records a warning', async () => {
    const web = fleet.host('web');
    const empty = path.join(tmp, 'empty_known_hosts_2');
    writeFileSync(empty, '');
    const seen: SessionLogEvent[] = [];
    await withSession(
      inventoryHost(web),
      options({ knownHostsFiles: [empty], insecureAcceptUnknownHostKeys: true, logger: (e) => seen.push(e) }),
      async (session) => {
        expect(session.facts.hostKey.status).toBe('accepted-unverified');
        expect(session.facts.warnings).toHaveLength(1);
        expect(session.facts.warnings[0]).toMatch(/^INSECURE: /);
        expect(session.facts.warnings[0]).toContain(web.hostKeyFingerprint);
        expect(seen.some((e) => e.level === 'warn' && e.message.startsWith('INSECURE'))).toBe(true);
      },
    );
  });

  it('refuses a changed host key as a possible attack, naming both keys and the old entry, even with the insecure switch', async () => {
    const host = fleet.host('rekeyed');
    const oldFingerprint = host.hostKeyFingerprint;
    const line = knownHostsLineOf(host);
    await replaceHostKey(host);
    for (const insecure of [false, true]) {
      let attempts = 0;
      const err = await failure(
        withRetry(() => {
          attempts++;
          return openSession(inventoryHost(host), options({ insecureAcceptUnknownHostKeys: insecure }));
        }, fastRetry),
      );
      expect(err.code).toBe('HOST_KEY_CHANGED');
      expect(err.message).toContain('man-in-the-middle');
      expect(err.message).toContain(oldFingerprint);
      expect(err.message).toContain(host.hostKeyFingerprint);
      expect(err.message).toContain(`${fleet.knownHostsFile}:${line}`);
      expect(attempts).toBe(1);
    }
  });

  it('refuses a revoked host key', async () => {
    const web = fleet.host('web');
    const revoked = path.join(tmp, 'revoked_known_hosts');
    writeFileSync(revoked, `@revoked * ${web.hostKeyPublic}\n`);
    const err = await failure(
      openSession(inventoryHost(web), options({ knownHostsFiles: [fleet.knownHostsFile, revoked] })),
    );
    expect(err.code).toBe('HOST_KEY_CHANGED');
    expect(err.message).toContain('REVOKED');
    expect(err.message).toContain(`${revoked}:1`);
  });

  it('asks for the key types known_hosts holds first', () => {
    expect(hostKeyAlgorithms([]).slice(0, 1)).toEqual(['ssh-ed25519']);
    expect(hostKeyAlgorithms(['ssh-rsa']).slice(0, 4)).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
    ]);
    expect(hostKeyAlgorithms(['ecdsa-sha2-nistp256', 'ssh-ed25519']).slice(0, 2)).toEqual([
      'ecdsa-sha2-nistp256',
      'ssh-ed25519',
    ]);
    expect(new Set(hostKeyAlgorithms(['ssh-rsa', 'ssh-rsa'])).size).toBe(
      hostKeyAlgorithms(['ssh-rsa']).length,
    );
  });
});

describe('fetchHostKey', () => {
  it('returns the presented key without logging in; trusting it lets openSession connect', async () => {
    const web = fleet.host('web');
    const file = path.join(tmp, 'trust_known_hosts');
    writeFileSync(file, '');
    const before = readFileSync(web.sshdLogFile, 'utf8').length;
    const presented = await fetchHostKey(inventoryHost(web), options({ knownHostsFiles: [file] }));
    expect(presented).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: web.hostKeyFingerprint,
      publicKeyLine: web.hostKeyPublic,
      knownHostsName: `[127.0.0.1]:${web.port}`,
      status: 'unknown',
      knownEntries: [],
    });
    // No authentication was attempted.
    expect(readFileSync(web.sshdLogFile, 'utf8').slice(before)).not.toMatch(
      /Accepted|Failed (publickey|password)/,
    );

    await addKnownHost(file, { host: web.address, port: web.port }, presented.publicKeyLine);
    await withSession(inventoryHost(web), options({ knownHostsFiles: [file] }), async (session) => {
      expect(session.facts.hostKey.knownHostsEntry).toBe(`${file}:1`);
    });
  });

  it('reports a changed key as such', async () => {
    const host = fleet.host('rekeyed'); // replaced by the test above
    const presented = await fetchHostKey(inventoryHost(host), options());
    expect(presented.fingerprint).toBe(host.hostKeyFingerprint);
    expect(presented.status).toBe('changed');
    expect(presented.knownEntries).toEqual([`${fleet.knownHostsFile}:${knownHostsLineOf(host)}`]);
  });
});

describe('openSession: authentication', () => {
  it('refuses a key the host does not authorize as AUTH_FAILED, naming the key, without retrying', async () => {
    const web = fleet.host('web');
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(inventoryHost(web, { identityFiles: [fleet.unlistedClientKey] }), options());
      }, fastRetry),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toContain(fleet.unlistedClientKey);
    expect(err.message).toContain('the server accepts: publickey, password');
    expect(attempts).toBe(1);
  });

  it('says what was missing when there was nothing to offer', async () => {
    const err = await failure(
      openSession(inventoryHost(fleet.host('web'), { identityFiles: [] }), options()),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toContain('password: none given (set AUDITSWEEP_SSH_PASSWORD)');
    expect(err.message).toContain('no ssh-agent (SSH_AUTH_SOCK unset) and no identity file (none given)');
  });

  it('refuses the fleet key on a denyClientKey host as AUTH_FAILED', async () => {
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(inventoryHost(fleet.host('denied')), options());
      }, fastRetry),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toContain(`authentication as ${fleet.user} failed`);
    expect(attempts).toBe(1);
  });

  it('logs in with the password from AUDITSWEEP_SSH_PASSWORD, and refuses a wrong one', async () => {
    const denied = inventoryHost(fleet.host('denied'), { identityFiles: [] });
    vi.stubEnv('AUDITSWEEP_SSH_PASSWORD', fleet.password);
    const auth = { agentSocket: null, defaultIdentityFiles: [] };
    await withSession(denied, { ...options(), auth: createAuthSources(auth) }, async (session) => {
      expect(session.facts.authenticatedWith).toBe('password from AUDITSWEEP_SSH_PASSWORD');
    });

    vi.stubEnv('AUDITSWEEP_SSH_PASSWORD', 'not-the-password');
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(denied, { ...options(), auth: createAuthSources(auth) });
      }, fastRetry),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toContain('password from AUDITSWEEP_SSH_PASSWORD');
    expect(err.message).not.toContain('not-the-password');
    expect(attempts).toBe(1);
  });

  it('tries the key first and falls back to a password asked for by the callback', async () => {
    const asked: unknown[] = [];
    const host = inventoryHost(fleet.host('denied'));
    await withSession(
      host,
      options(
        {},
        {
          askPassword: async (target) => {
            asked.push(target);
            return fleet.password;
          },
        },
      ),
      async (session) => {
        expect(session.facts.authenticatedWith).toBe('password typed');
      },
    );
    expect(asked).toEqual([{ name: 'denied', address: host.address, port: host.port, user: fleet.user }]);
  });

  it('decrypts an encrypted key with the passphrase from AUDITSWEEP_SSH_PASSPHRASE', async () => {
    vi.stubEnv('AUDITSWEEP_SSH_PASSPHRASE', fleet.passphrase);
    const host = inventoryHost(fleet.host('web'), { identityFiles: [fleet.encryptedClientKey] });
    await withSession(
      host,
      { ...options(), auth: createAuthSources({ agentSocket: null, defaultIdentityFiles: [] }) },
      async (session) => {
        expect(session.facts.authenticatedWith).toBe(`key ${fleet.encryptedClientKey} (ssh-ed25519)`);
      },
    );
  });

  it('reports a wrong passphrase as AUTH_FAILED naming the key, never the passphrase', async () => {
    vi.stubEnv('AUDITSWEEP_SSH_PASSPHRASE', 'not-the-passphrase');
    vi.stubEnv('AUDITSWEEP_SSH_PASSWORD', '');
    const host = inventoryHost(fleet.host('web'), { identityFiles: [fleet.encryptedClientKey] });
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(host, {
          ...options(),
          auth: createAuthSources({ agentSocket: null, defaultIdentityFiles: [] }),
        });
      }, fastRetry),
    );
    expect(err.code).toBe('AUTH_FAILED');
    expect(err.message).toContain(
      `key ${fleet.encryptedClientKey}: wrong passphrase (from AUDITSWEEP_SSH_PASSPHRASE)`,
    );
    expect(err.message).not.toContain('not-the-passphrase');
    expect(attempts).toBe(1);
  });

  it('asks for a passphrase once per key and run, however many sessions use it', async () => {
    const asked: string[] = [];
    const auth = createAuthSources({
      agentSocket: null,
      defaultIdentityFiles: [],
      env: {},
      askPassphrase: async (file) => {
        asked.push(file);
        await new Promise((r) => setTimeout(r, 50));
        return asked.length === 1 ? 'not-the-passphrase' : fleet.passphrase;
      },
    });
    const host = inventoryHost(fleet.host('web'), { identityFiles: [fleet.encryptedClientKey] });
    const sessions = await Promise.all([1, 2, 3].map(() => openSession(host, { ...options(), auth })));
    try {
      // One wrong answer, one right one: the key is then decrypted for every session.
      expect(asked).toEqual([fleet.encryptedClientKey, fleet.encryptedClientKey]);
      for (const s of sessions) expect(s.facts.authenticatedWith).toContain(fleet.encryptedClientKey);
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it('logs in with a key held by ssh-agent (SSH_AUTH_SOCK), and moves on when the agent is unreachable', async () => {
    const socket = path.join(tmp, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      expect(await waitFor(() => existsSync(socket))).toBe(true);
      await execFileP('ssh-add', ['-q', fleet.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      vi.stubEnv('SSH_AUTH_SOCK', socket);
      const host = inventoryHost(fleet.host('web'), { identityFiles: [] });
      await withSession(
        host,
        {
          ...options(),
          auth: createAuthSources({ defaultIdentityFiles: [], env: { SSH_AUTH_SOCK: socket } }),
        },
        async (session) => {
          expect(session.facts.authenticatedWith).toBe('ssh-agent keys');
        },
      );
    } finally {
      agent.kill();
      await waitFor(() => agent.exitCode !== null || agent.signalCode !== null);
    }

    const seen: SessionLogEvent[] = [];
    await withSession(
      inventoryHost(fleet.host('web')),
      options({ logger: (e) => seen.push(e) }, { agentSocket: path.join(tmp, 'no-agent.sock') }),
      async (session) => {
        expect(session.facts.authenticatedWith).toBe(`key ${fleet.clientKey} (ssh-ed25519)`);
      },
    );
    expect(seen.some((e) => e.level === 'warn' && e.message.startsWith('ssh-agent:'))).toBe(true);
  });
});

describe('openSession: network failures', () => {
  it('reports a port with nothing listening as REFUSED after the configured attempts', async () => {
    const port = await unusedPort();
    let attempts = 0;
    const err = await failure(
      withRetry(() => {
        attempts++;
        return openSession(inventoryHost({ name: 'closed', address: '127.0.0.1', port }), options());
      }, fastRetry),
    );
    expect(err.code).toBe('REFUSED');
    expect(err.message).toBe(
      `closed (127.0.0.1:${port}): connection refused (is sshd running on that port?)`,
    );
    expect(attempts).toBe(3);
  });

  it('times out on a server that accepts and never speaks SSH, and closes the socket', async () => {
    const silent = await startSilentServer();
    try {
      const started = Date.now();
      const err = await failure(
        openSession(
          inventoryHost({ name: 'silent', address: silent.address, port: silent.port }),
          options({ timeouts: { connectMs: 700 } }),
        ),
      );
      const elapsed = Date.now() - started;
      expect(err.code).toBe('TIMEOUT');
      expect(err.message).toBe(
        `silent (127.0.0.1:${silent.port}): connected, but no SSH handshake within 0.7 s`,
      );
      expect(isTransientError(err)).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(650);
      expect(elapsed).toBeLessThan(3_000);
      expect(await silent.waitForAllClosed()).toBe(true);
    } finally {
      await silent.close();
    }
  });

  it('reports a server that is not SSH as PROTOCOL, not retried', async () => {
    const http = await startSilentServer({
      greeting: 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n',
    });
    try {
      let attempts = 0;
      const err = await failure(
        withRetry(() => {
          attempts++;
          return openSession(
            inventoryHost({ name: 'http', address: http.address, port: http.port }),
            options({ timeouts: { connectMs: 500 } }),
          );
        }, fastRetry),
      );
      expect(err.code).toBe('PROTOCOL');
      expect(err.message).toContain('not an SSH server');
      expect(err.message).toContain('HTTP/1.1 400 Bad Request');
      expect(attempts).toBe(1);
      expect(await http.waitForAllClosed()).toBe(true);
    } finally {
      await http.close();
    }
  });

  it('reports a name that does not resolve as DNS', async () => {
    const err = await failure(
      openSession(inventoryHost({ name: 'ghost', address: 'no-such-host.invalid', port: 22 }), options()),
    );
    expect(err.code).toBe('DNS');
    expect(err.message).toMatch(/^ghost \(no-such-host\.invalid:22\): cannot resolve the host name/);
  });
});

describe('openSession: abort, close and limits', () => {
  it('is interrupted by the abort signal in the middle of a connect', async () => {
    const silent = await startSilentServer();
    try {
      const controller = new AbortController();
      const started = Date.now();
      const pending = openSession(
        inventoryHost({ name: 'silent', address: silent.address, port: silent.port }),
        options({ signal: controller.signal, timeouts: { connectMs: 30_000 } }),
      );
      await silent.waitForConnections(1);
      controller.abort();
      const err = await failure(pending);
      expect(err.code).toBe('INTERRUPTED');
      expect(err.message).toContain('silent');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(await silent.waitForAllClosed()).toBe(true);
    } finally {
      await silent.close();
    }
  });

  it('closes an open session when the signal aborts, and refuses new channels', async () => {
    const controller = new AbortController();
    const session = await openSession(
      inventoryHost(fleet.host('web')),
      options({ signal: controller.signal }),
    );
    controller.abort();
    const failureOf = await session.closed;
    expect(failureOf?.code).toBe('INTERRUPTED');
    expect(session.isClosed).toBe(true);
    await expect(session.sftp()).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });

  it('settles a listing and reads that the abort catches under way (INTERRUPTED, never a hang)', async () => {
    const host = inventoryHost(fleet.host('web'));
    const log = '/var/log/audit/audit.log';
    // Many rounds: where the abort lands in the exchange varies; each request must settle either way.
    for (let round = 0; round < 40; round++) {
      const controller = new AbortController();
      const session = await openSession(host, options({ signal: controller.signal }));
      const transport = createSftpTransport(await session.sftp(), { closed: session.closed });
      const drain = async (stream: AsyncIterable<unknown>) => {
        for await (const _ of stream) {
          // the bytes do not matter
        }
      };
      // Watched from the start: a request may also fail before the abort (that is not what is tested here).
      const pending = Promise.allSettled([
        transport.listLogs(log),
        drain(transport.read(log, { start: 0 })),
        transport.stat(log),
        drain(transport.read(log, { start: 0, end: 16 })),
      ]);
      // Round 0 aborts at once, later rounds after a growing number of turns of the event loop.
      for (let turn = 0; turn < round; turn++) await new Promise((r) => setImmediate(r));
      controller.abort();
      const settled = await Promise.race([
        pending,
        new Promise<'hang'>((r) => setTimeout(() => r('hang'), 10_000)),
      ]);
      expect(settled, `round ${round}`).not.toBe('hang');
      for (const outcome of settled as PromiseSettledResult<unknown>[]) {
        if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'INTERRUPTED' });
      }
      await session.close();
    }
  }, 240_000);

  it('leaves no sshd session process behind after close()', async () => {
    const web = fleet.host('web');
    const session = await openSession(inventoryHost(web), options());
    expect(connectionProcesses(web).length).toBeGreaterThan(0);
    await session.close();
    expect(await session.closed).toBeUndefined();
    expect(await waitFor(() => connectionProcesses(web).every((p) => isGone(p)))).toBe(true);
  });

  it('reports a connection the server drops after login as INTERRUPTED', async () => {
    const doomed = fleet.host('doomed');
    const session = await openSession(inventoryHost(doomed), options());
    const channel = await session.exec('echo hello');
    const out = await new Promise<string>((resolve) => {
      let text = '';
      channel.on('data', (d: Buffer) => {
        text += d.toString();
      });
      channel.on('close', () => resolve(text));
    });
    expect(out).toBe('hello\n');
    for (const pid of connectionProcesses(doomed)) process.kill(pid, 'SIGKILL');
    const failureOf = await session.closed;
    expect(failureOf?.code).toBe('INTERRUPTED');
    expect(failureOf?.message).toMatch(/^doomed \(127\.0\.0\.1:\d+\): /);
    await session.close();
  });

  it('closes a session left without a channel for idleMs, but not one in use', async () => {
    const session = await openSession(
      inventoryHost(fleet.host('web')),
      options({ timeouts: { idleMs: 300 } }),
    );
    const sftp = await session.sftp();
    await new Promise((r) => setTimeout(r, 500));
    expect(session.isClosed).toBe(false);
    sftp.end();
    expect(await session.closed).toBeUndefined();
    expect(session.isClosed).toBe(true);
  });

  it('does not count a slow password prompt against the authentication timeout', async () => {
    const host = inventoryHost(fleet.host('denied'), { identityFiles: [] });
    const opts = options(
      { timeouts: { connectMs: 5_000, authMs: 300 } },
      {
        askPassword: async () => {
          await new Promise((r) => setTimeout(r, 800));
          return fleet.password;
        },
      },
    );
    await withSession(host, opts, async (session) => {
      expect(session.facts.authenticatedWith).toBe('password typed');
    });
  });

  it('gives up waiting for a connection slot when the signal aborts', async () => {
    const limiter = createConnectLimiter(1);
    const release = await limiter.acquire();
    try {
      const controller = new AbortController();
      const pending = openSession(
        inventoryHost(fleet.host('web')),
        options({ connectLimiter: limiter, signal: controller.signal }),
      );
      controller.abort();
      const err = await failure(pending);
      expect(err.code).toBe('INTERRUPTED');
      expect(err.message).toBe('web: interrupted while waiting for a connection slot');
    } finally {
      release();
    }
  });

  it('holds a connection slot only until login', async () => {
    const limiter = createConnectLimiter(1);
    let maxActive = 0;
    const web = fleet.host('web');
    const sessions = await Promise.all(
      [1, 2, 3].map(() =>
        openSession(
          inventoryHost(web),
          options({
            connectLimiter: limiter,
            logger: () => {
              maxActive = Math.max(maxActive, limiter.activeCount);
            },
          }),
        ),
      ),
    );
    try {
      expect(maxActive).toBe(1);
      // All three are logged in and open, and none holds a slot.
      expect(limiter.activeCount).toBe(0);
      expect(sessions.every((s) => !s.isClosed)).toBe(true);
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
    const port = await unusedPort();
    await failure(
      openSession(
        inventoryHost({ name: 'closed', address: '127.0.0.1', port }),
        options({ connectLimiter: limiter }),
      ),
    );
    expect(limiter.activeCount).toBe(0);
  });
});

describe('openSession: jump hosts', () => {
  it('reaches a host through a jump host, verifying both keys', async () => {
    const bastion = fleet.host('bastion');
    const inner = fleet.host('inner');
    const offset = readFileSync(bastion.sshdLogFile).length;
    const host = inventoryHost(inner, { jump: [jumpVia(bastion)] });
    await withSession(host, options(), async (session) => {
      expect(await readdir(session, '/var/log/audit')).toEqual(['audit.log', 'audit.log.1']);
      expect(session.facts.hostKey.fingerprint).toBe(inner.hostKeyFingerprint);
      expect(session.facts.jumps).toHaveLength(1);
      expect(session.facts.jumps[0]?.name).toBe('bastion');
      expect(session.facts.jumps[0]?.hostKey.fingerprint).toBe(bastion.hostKeyFingerprint);
      expect(connectionProcesses(bastion).length).toBeGreaterThan(0);
    });
    // The bastion's sshd opened the forward to the inner host's address and port.
    const log = readFileSync(bastion.sshdLogFile).subarray(offset).toString('utf8');
    expect(log).toContain(`target 127.0.0.2 port ${inner.port}`);
    // Closing the session closed the whole chain.
    expect(await waitFor(() => connectionProcesses(bastion).every((p) => isGone(p)))).toBe(true);
    expect(await waitFor(() => connectionProcesses(inner).every((p) => isGone(p)))).toBe(true);
  });

  it('attributes an unknown jump host key to the jump host', async () => {
    const bastion = fleet.host('bastion');
    const inner = fleet.host('inner');
    const onlyInner = path.join(tmp, 'inner_known_hosts');
    writeFileSync(onlyInner, `[${inner.address}]:${inner.port} ${inner.hostKeyPublic}\n`);
    const err = await failure(
      openSession(
        inventoryHost(inner, { jump: [jumpVia(bastion)] }),
        options({ knownHostsFiles: [onlyInner] }),
      ),
    );
    expect(err.code).toBe('HOST_KEY_UNKNOWN');
    expect(err.message).toMatch(/^inner: jump host bastion \(127\.0\.0\.1:\d+\): unknown host key/);
    expect(err.message).toContain(bastion.hostKeyFingerprint);
    expect(err.message).toContain('auditsweep hosts trust bastion');
  });

  it('attributes a refused forward and a jump host without forwarding to the jump host', async () => {
    const bastion = fleet.host('bastion');
    const port = await unusedPort('127.0.0.2');
    const refused = await failure(
      openSession(
        inventoryHost({ name: 'gone', address: '127.0.0.2', port }, { jump: [jumpVia(bastion)] }),
        options(),
      ),
    );
    expect(refused.code).toBe('REFUSED');
    expect(refused.message).toContain('bastion could not forward the connection');

    const prohibited = await failure(
      openSession(inventoryHost(fleet.host('inner'), { jump: [jumpVia(fleet.host('web'))] }), options()),
    );
    expect(prohibited.code).toBe('PROTOCOL');
    expect(prohibited.message).toContain('web could not forward the connection: administratively prohibited');
    expect(await waitFor(() => connectionProcesses(bastion).every((p) => isGone(p)))).toBe(true);
    expect(await waitFor(() => connectionProcesses(fleet.host('web')).every((p) => isGone(p)))).toBe(true);
  });

  it('fetches a host key through a jump host', async () => {
    const inner = fleet.host('inner');
    const presented = await fetchHostKey(
      inventoryHost(inner, { jump: [jumpVia(fleet.host('bastion'))] }),
      options(),
    );
    expect(presented.fingerprint).toBe(inner.hostKeyFingerprint);
    expect(presented.status).toBe('trusted');
    expect(presented.knownHostsName).toBe(`[127.0.0.2]:${inner.port}`);
  });
});
