import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, type SFTPWrapper } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { verifyHostKey } from '../../src/fetch/known-hosts.js';
import { createSftpTransport, SftpReadStream } from '../../src/fetch/sftp-transport.js';
import type { LogTransport } from '../../src/fetch/transport.js';
import { cutMidTransfer } from '../helpers/cut-transfer.js';
import { type FleetHost, type SshdFleet, sshdProcesses, startSshdFleet } from '../helpers/sshd-fleet.js';

const execFileP = promisify(execFile);
const CORPUS = fileURLToPath(new URL('../../../shared/corpus/enriched', import.meta.url));
const SCALE = fileURLToPath(new URL('../../../shared/corpus/scale.mjs', import.meta.url));
const LOG = '/var/log/audit/audit.log';

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a stream to the end, hashing it; resolves with the hash and the byte count. */
async function hashStream(stream: Readable): Promise<{ sha: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha: hash.digest('hex'), bytes };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Connection {
  readonly client: Client;
  readonly sftp: SFTPWrapper;
  readonly transport: LogTransport;
  readonly errors: Error[];
}

/** Connects with ssh2 directly, accepting only the key the fleet's known_hosts lists for the host. */
function connect(fleet: SshdFleet, host: FleetHost): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const errors: Error[] = [];
    let ready = false;
    client.on('error', (err) => {
      errors.push(err);
      if (!ready) reject(err);
    });
    client.on('ready', () => {
      ready = true;
      client.sftp((err, sftp) => {
        if (err) {
          reject(err);
          return;
        }
        resolve({ client, sftp, transport: createSftpTransport(sftp, { user: fleet.user }), errors });
      });
    });
    client.connect({
      host: host.address,
      port: host.port,
      username: fleet.user,
      privateKey: readFileSync(fleet.clientKey),
      readyTimeout: 10_000,
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey({ host: host.address, port: host.port }, key, [fleet.knownHostsFile]).then(
          (v) => verify(v.status === 'trusted'),
          () => verify(false),
        );
      },
    });
  });
}

async function expectSweepError(p: Promise<unknown>, code: string, message?: RegExp): Promise<SweepError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SweepError);
  const sweep = err as SweepError;
  expect(sweep.code, `${sweep.message} (cause: ${String(sweep.cause)})`).toBe(code);
  if (message) expect(sweep.message).toMatch(message);
  return sweep;
}

/** Descriptors the host's sshd processes (internal-sftp runs inside them) hold open on `file`. */
function openDescriptors(host: FleetHost, file: string): number {
  let n = 0;
  for (const pid of sshdProcesses(host)) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone meanwhile
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === file) n++;
      } catch {
        // closed meanwhile
      }
    }
  }
  return n;
}

describe('SFTP transport against real sshd', () => {
  let fleet: SshdFleet;
  let tmp: string;
  let big: string;
  let bigBytes: Buffer;
  const conns: Connection[] = [];

  async function open(name: string): Promise<Connection> {
    const c = await connect(fleet, fleet.host(name));
    conns.push(c);
    return c;
  }

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sftp-transport-'));
    big = path.join(tmp, 'big.log');
    await execFileP(process.execPath, [SCALE, '--size-mb', '30', '--out', big]);
    bigBytes = readFileSync(big);
    fleet = await startSshdFleet({
      hosts: [
        {
          name: 'rotated',
          logs: {
            'audit.log': `${CORPUS}/audit.log`,
            'audit.log.1': `${CORPUS}/audit.log.1`,
            'audit.log.2.gz': `${CORPUS}/audit.log.2`,
            'audit.log.bak': { content: 'not a log\n' },
            'audit.log.1.tmp': { content: 'half written\n' },
          },
        },
        { name: 'big', logs: { 'audit.log': big } },
        { name: 'doomed', logs: { 'audit.log': big } },
        { name: 'unreadable', logMode: 0o600, logs: { 'audit.log': `${CORPUS}/audit.log` } },
        {
          name: 'closed-dir',
          logDirMode: 0o700,
          logMode: 0o600,
          logs: { 'audit.log': `${CORPUS}/audit.log` },
        },
        { name: 'empty', logs: {} },
        { name: 'no-auditd', createLogDir: false },
      ],
    });
  });

  afterAll(async () => {
    for (const c of conns) c.client.end();
    await fleet?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('lists audit.log and its rotated siblings oldest first, ignoring other names', async () => {
    const { transport } = await open('rotated');
    const h = fleet.host('rotated');
    const files = await transport.listLogs(LOG);
    expect(files.map((f) => f.name)).toEqual(['audit.log.2.gz', 'audit.log.1', 'audit.log']);
    for (const f of files) {
      const local = statSync(path.join(h.logDir, f.name));
      expect(f.path).toBe(`/var/log/audit/${f.name}`);
      expect(f.size).toBe(local.size);
      // SFTP v3 carries whole seconds.
      expect(f.mtimeMs).toBe(Math.floor(local.mtimeMs / 1000) * 1000);
      expect(f.mode).toBe(0o644);
    }
    expect(await transport.stat(`${LOG}.1`)).toEqual(files[1]);
  });

  it('reads every corpus file byte for byte, the .gz as stored', async () => {
    const { transport } = await open('rotated');
    const h = fleet.host('rotated');
    for (const name of ['audit.log', 'audit.log.1', 'audit.log.2.gz']) {
      const expected = readFileSync(path.join(h.logDir, name));
      const got = await hashStream(transport.read(`/var/log/audit/${name}`));
      expect(got).toEqual({ sha: sha256(expected), bytes: expected.length });
    }
  });

  it('reads a 30 MB log byte for byte with many reads in flight, in order', async () => {
    const { sftp } = await open('big');
    const stream = new SftpReadStream(sftp, LOG);
    let maxInFlight = 0;
    stream.on('data', () => {
      maxInFlight = Math.max(maxInFlight, stream.requestsInFlight);
    });
    const got = await hashStream(stream);
    expect(got).toEqual({ sha: sha256(bigBytes), bytes: bigBytes.length });
    // The structure that makes it fast (no wall-clock floor here: CI machines are shared and noisy).
    expect(maxInFlight).toBeGreaterThanOrEqual(8);
  });

  it('reads a range, a head, and an empty range', async () => {
    const { transport } = await open('big');
    const start = 123_457;
    const end = start + 5_000_003;
    expect((await readAll(transport.read(LOG, { start, end }))).equals(bigBytes.subarray(start, end))).toBe(
      true,
    );
    expect(
      (await readAll(transport.read(LOG, { start: bigBytes.length - 10 }))).equals(bigBytes.subarray(-10)),
    ).toBe(true);
    expect((await transport.head(LOG, 4096)).equals(bigBytes.subarray(0, 4096))).toBe(true);
    expect((await readAll(transport.read(LOG, { start: 10, end: 10 }))).length).toBe(0);
    const small = readFileSync(`${CORPUS}/audit.log`);
    const { transport: t2 } = await open('rotated');
    // head of a file shorter than n: the whole file.
    expect((await t2.head(LOG, 10_000_000)).equals(small)).toBe(true);
  });

  it('errors with INTERRUPTED, never a clean short file, when the file ends before `end`', async () => {
    const { transport } = await open('big');
    await expectSweepError(
      readAll(transport.read(LOG, { start: 0, end: bigBytes.length + 1 })),
      'INTERRUPTED',
      /ended at byte 31457\d+, before the expected/,
    );
    await expectSweepError(readAll(transport.read(LOG, { start: bigBytes.length + 5 })), 'INTERRUPTED');
  });

  it('keeps the bytes held bounded for a slow consumer, and still delivers them all in order', async () => {
    const { sftp } = await open('big');
    const concurrency = 8;
    const chunkSize = 64 * 1024;
    const highWaterMark = 256 * 1024;
    const stream = new SftpReadStream(sftp, LOG, {
      end: 6 * 1024 * 1024,
      concurrency,
      chunkSize,
      highWaterMark,
    });
    let maxHeld = 0;
    let maxInFlight = 0;
    const hash = createHash('sha256');
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        maxHeld = Math.max(maxHeld, stream.readableLength + stream.pendingBytes);
        maxInFlight = Math.max(maxInFlight, stream.requestsInFlight);
        setTimeout(cb, 3);
      },
    });
    await pipeline(stream, slow);
    expect(hash.digest('hex')).toBe(sha256(bigBytes.subarray(0, 6 * 1024 * 1024)));
    // Readable buffer + answered-but-undelivered + requested: never more than hwm + concurrency chunks (+1 pushed).
    expect(maxHeld).toBeLessThanOrEqual(highWaterMark + (concurrency + 1) * chunkSize);
    // …and the bound was reached: the consumer really was the slow side.
    expect(maxHeld).toBeGreaterThan(highWaterMark);
    expect(maxInFlight).toBeLessThanOrEqual(concurrency);
  });

  it('closes every handle: after end, after destroy mid-read, after an error, after a failed open check', async () => {
    const h = fleet.host('big');
    const file = path.join(h.logDir, 'audit.log');
    const { sftp, transport } = await open('big');
    const waitForDescriptors = async (want: number): Promise<number> => {
      let n = openDescriptors(h, file);
      for (let i = 0; i < 100 && n !== want; i++) {
        await new Promise((r) => setTimeout(r, 20));
        n = openDescriptors(h, file);
      }
      return n;
    };
    expect(await waitForDescriptors(0)).toBe(0);
    // While a stream is open the server holds the file: the check can see a leak.
    const destroyed = new SftpReadStream(sftp, LOG);
    await new Promise<void>((resolve) => destroyed.once('data', () => resolve()));
    destroyed.pause();
    expect(await waitForDescriptors(1)).toBe(1);
    const closed = new Promise<void>((resolve) => destroyed.once('close', () => resolve()));
    destroyed.destroy();
    await closed;
    expect(openDescriptors(h, file)).toBe(0); // 'close' comes after the server answered CLOSE
    await readAll(transport.read(LOG, { end: 1_000_000 }));
    await readAll(transport.read(LOG, { end: bigBytes.length + 1 })).catch(() => undefined);
    await transport.head(LOG, 100);
    await expectSweepError(readAll(transport.read(LOG, { start: bigBytes.length + 1 })), 'INTERRUPTED');
    // A read whose `opened` check fails (the log rotated since it was listed): its error, no byte, handle closed.
    const refused = new Error('not the file listed');
    let checkedOpen = -1;
    const rejected = transport.read(LOG, {
      end: 1_000_000,
      opened: async () => {
        checkedOpen = openDescriptors(h, file);
        throw refused;
      },
    });
    let delivered = 0;
    rejected.on('data', (c: Buffer) => {
      delivered += c.length;
    });
    await expect(readAll(rejected)).rejects.toBe(refused);
    expect([checkedOpen, delivered]).toEqual([1, 0]);
    expect(await waitForDescriptors(0)).toBe(0);
  });

  it('maps a missing log, a missing folder and an empty folder to LOG_MISSING naming the path', async () => {
    const { transport } = await open('rotated');
    await expectSweepError(
      readAll(transport.read(`${LOG}.9`)),
      'LOG_MISSING',
      /\/var\/log\/audit\/audit\.log\.9/,
    );
    await expectSweepError(transport.stat(`${LOG}.9`), 'LOG_MISSING', /audit\.log\.9/);
    await expectSweepError(transport.head(`${LOG}.9`, 10), 'LOG_MISSING');
    const { transport: empty } = await open('empty');
    await expectSweepError(empty.listLogs(LOG), 'LOG_MISSING', /\/var\/log\/audit\/audit\.log/);
    const { transport: none } = await open('no-auditd');
    await expectSweepError(none.listLogs(LOG), 'LOG_MISSING', /\/var\/log\/audit/);
  });

  it('maps an unreadable 0600 root log to PERMISSION_DENIED with the remedies', async () => {
    const { transport } = await open('unreadable');
    const files = await transport.listLogs(LOG);
    expect(files.map((f) => [f.name, f.mode])).toEqual([['audit.log', 0o600]]);
    const err = await expectSweepError(readAll(transport.read(LOG)), 'PERMISSION_DENIED');
    expect(err.message).toContain(LOG);
    expect(err.message).toContain(`add ${fleet.user} to auditd's log_group`);
    expect(err.message).toContain('log in as root with a key');
    expect(err.message).toContain('use transport: sudo');
    expect(err.message).toContain(
      `${fleet.user} ALL=(root) NOPASSWD: /usr/bin/ls -lani --full-time /var/log/audit, /usr/bin/cat /var/log/audit/audit.log,`,
    );
    expect(err.cause).toBeDefined();
    await expectSweepError(transport.head(LOG, 10), 'PERMISSION_DENIED');
    // auditd's own default: a 0700 root folder. The remedy still names the log's rule, not the folder's.
    const { transport: closed } = await open('closed-dir');
    const listing = await expectSweepError(closed.listLogs(LOG), 'PERMISSION_DENIED', /^\/var\/log\/audit: /);
    expect(listing.message).toContain(
      '/usr/bin/cat /var/log/audit/audit.log, /usr/bin/cat /var/log/audit/audit.log.[1-9],',
    );
  });

  it('errors with INTERRUPTED, not a clean end, when the connection is killed mid-transfer', async () => {
    const h = fleet.host('doomed');
    const { transport, client } = await open('doomed');
    const { error: err, ended, received } = await cutMidTransfer(transport.read(LOG), h, client);
    expect(err).toBeInstanceOf(SweepError);
    expect((err as SweepError).code).toBe('INTERRUPTED');
    expect(ended).toBe(false);
    expect(received).toBeLessThan(bigBytes.length);
    // The same channel afterwards: INTERRUPTED at once, no hang.
    await expectSweepError(readAll(transport.read(LOG)), 'INTERRUPTED');
    await expectSweepError(transport.listLogs(LOG), 'INTERRUPTED');
  });
});
