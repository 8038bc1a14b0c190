import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SweepError } from '../../src/errors.js';
import { verifyHostKey } from '../../src/fetch/known-hosts.js';
import { catCommand, createSudoTransport, listCommand, parseLsLine } from '../../src/fetch/sudo-transport.js';
import { type LogTransport, sudoersRule } from '../../src/fetch/transport.js';
import { shellQuote } from '../../src/shell-quote.js';
import { cutMidTransfer } from '../helpers/cut-transfer.js';
import { type FleetHost, processTree, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const execFileP = promisify(execFile);
const CORPUS = fileURLToPath(new URL('../../../shared/corpus/enriched', import.meta.url));
const SCALE = fileURLToPath(new URL('../../../shared/corpus/scale.mjs', import.meta.url));

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Connection {
  readonly client: Client;
  readonly transport: LogTransport;
}

function connect(fleet: SshdFleet, host: FleetHost): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let ready = false;
    client.on('error', (err) => {
      if (!ready) reject(err);
    });
    client.on('ready', () => {
      ready = true;
      resolve({ client, transport: createSudoTransport(client, { user: fleet.user }) });
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

/** Runs a shell command over a fresh exec channel. */
function run(
  client: Client,
  command: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) {
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      channel.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      channel.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      channel.on('exit', (c: number | null) => {
        code = c;
      });
      channel.on('close', () => resolve({ code, stdout, stderr }));
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

describe('sudo transport against real sshd', () => {
  let fleet: SshdFleet;
  let tmp: string;
  let bigBytes: Buffer;
  const conns: Connection[] = [];

  async function open(name: string): Promise<Connection> {
    const c = await connect(fleet, fleet.host(name));
    conns.push(c);
    return c;
  }

  const rootOnly = { chroot: false, logMode: 0o600, logDirMode: 0o700 } as const;
  const logs = {
    'audit.log': `${CORPUS}/audit.log`,
    'audit.log.1': `${CORPUS}/audit.log.1`,
    'audit.log.2.gz': `${CORPUS}/audit.log.2`,
    'audit.log.bak': { content: 'not a log\n' },
  };

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'sudo-transport-'));
    const big = path.join(tmp, 'big.log');
    await execFileP(process.execPath, [SCALE, '--size-mb', '30', '--out', big]);
    bigBytes = readFileSync(big);
    fleet = await startSshdFleet({
      hosts: [
        { name: 'sudo', ...rootOnly, sudo: true, logs },
        // Exactly the rule a PERMISSION_DENIED message asks for, nothing else.
        {
          name: 'rule',
          ...rootOnly,
          sudo: { commands: [sudoersRule('x', '{logDir}/audit.log').split('NOPASSWD: ')[1]!] },
          logs,
        },
        { name: 'big', ...rootOnly, sudo: true, logs: { 'audit.log': big } },
        { name: 'doomed', ...rootOnly, sudo: true, logs: { 'audit.log': big } },
        { name: 'no-sudo', ...rootOnly, logs },
        { name: 'no-auditd', chroot: false, sudo: true, createLogDir: false },
      ],
    });
  });

  afterAll(async () => {
    for (const c of conns) c.client.end();
    await fleet?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('lists a 0700 folder of 0600 root logs oldest first, with inode and ms mtime', async () => {
    const h = fleet.host('sudo');
    const { transport } = await open('sudo');
    const files = await transport.listLogs(`${h.logDir}/audit.log`);
    expect(files.map((f) => f.name)).toEqual(['audit.log.2.gz', 'audit.log.1', 'audit.log']);
    for (const f of files) {
      const local = statSync(path.join(h.logDir, f.name));
      expect(f.path).toBe(path.join(h.logDir, f.name));
      expect(f.size).toBe(local.size);
      expect(f.inode).toBe(local.ino);
      expect(f.mode).toBe(0o600);
      expect(Math.abs(f.mtimeMs - local.mtimeMs)).toBeLessThan(1);
    }
    expect(await transport.stat(`${h.logDir}/audit.log.1`)).toEqual(files[1]);
  });

  it('reads each log byte for byte, from an offset, a range and a head', async () => {
    const h = fleet.host('sudo');
    const { transport } = await open('sudo');
    for (const name of ['audit.log', 'audit.log.1', 'audit.log.2.gz']) {
      const expected = readFileSync(path.join(h.logDir, name));
      const got = await readAll(transport.read(path.join(h.logDir, name)));
      expect(sha256(got)).toBe(sha256(expected));
    }
    const log1 = readFileSync(`${CORPUS}/audit.log.1`);
    const p = `${h.logDir}/audit.log.1`;
    expect((await readAll(transport.read(p, { start: 100 }))).equals(log1.subarray(100))).toBe(true);
    expect(
      (await readAll(transport.read(p, { start: 1000, end: 50_000 }))).equals(log1.subarray(1000, 50_000)),
    ).toBe(true);
    expect((await readAll(transport.read(p, { end: 4097 }))).equals(log1.subarray(0, 4097))).toBe(true);
    expect((await readAll(transport.read(p, { start: 7, end: 7 }))).length).toBe(0);
    expect((await transport.head(p, 4096)).equals(log1.subarray(0, 4096))).toBe(true);
    expect((await transport.head(p, 10_000_000)).equals(log1)).toBe(true);
  });

  it('works with exactly the sudoers rule its PERMISSION_DENIED message names', async () => {
    const h = fleet.host('rule');
    const { transport, client } = await open('rule');
    const log = `${h.logDir}/audit.log`;
    expect((await transport.listLogs(log)).map((f) => f.name)).toEqual([
      'audit.log.2.gz',
      'audit.log.1',
      'audit.log',
    ]);
    const expected = readFileSync(`${CORPUS}/audit.log`);
    expect((await readAll(transport.read(log))).equals(expected)).toBe(true);
    expect(
      (await readAll(transport.read(log, { start: 5, end: 500 }))).equals(expected.subarray(5, 500)),
    ).toBe(true);
    expect((await transport.head(log, 10)).equals(expected.subarray(0, 10))).toBe(true);
    // …and nothing more: no extra file smuggled in beside a log name (a sudoers `*` would match the space).
    for (const sneaky of [`${log} /etc/shadow`, `${log}.1 /etc/shadow`, `${log}.1.gz /etc/shadow`]) {
      const out = await run(client, `sudo -n cat ${sneaky}`);
      expect(out.code).not.toBe(0);
      expect(out.stdout).not.toMatch(/root:/);
      expect(out.stderr).toMatch(/a password is required/);
    }
  });

  it('reads a 30 MB log byte for byte, and a range of it', async () => {
    const h = fleet.host('big');
    const { transport } = await open('big');
    const log = `${h.logDir}/audit.log`;
    expect(sha256(await readAll(transport.read(log)))).toBe(sha256(bigBytes));
    const start = 1_234_567;
    const end = start + 3_000_001;
    expect((await readAll(transport.read(log, { start, end }))).equals(bigBytes.subarray(start, end))).toBe(
      true,
    );
  });

  it('checks `opened` once cat has the file open, holding what comes meanwhile: every byte, once, in order', async () => {
    const h = fleet.host('big');
    const { transport } = await open('big');
    const log = `${h.logDir}/audit.log`;
    let checks = 0;
    // A slow check: the first bytes wait for it, and the rest of the 30 MB must follow them whole.
    const slow = () => new Promise<void>((resolve) => setTimeout(() => resolve(void checks++), 300));
    const stream = transport.read(log, { opened: slow });
    let firstBeforeCheck = false;
    stream.once('data', () => {
      firstBeforeCheck = checks === 0;
    });
    expect(sha256(await readAll(stream))).toBe(sha256(bigBytes));
    expect(checks).toBe(1);
    expect(firstBeforeCheck).toBe(false);
    // A check that fails: nothing is delivered, the read fails with its error.
    const refused = new Error('not the file listed');
    const failing = transport.read(log, { start: 5, opened: () => Promise.reject(refused) });
    let delivered = 0;
    failing.on('data', (c: Buffer) => {
      delivered += c.length;
    });
    await expect(readAll(failing)).rejects.toBe(refused);
    expect(delivered).toBe(0);
  });

  it('errors with INTERRUPTED when the file is shorter than the requested end', async () => {
    const h = fleet.host('big');
    const { transport } = await open('big');
    const log = `${h.logDir}/audit.log`;
    await expectSweepError(
      readAll(transport.read(log, { end: bigBytes.length + 1 })),
      'INTERRUPTED',
      /ended at byte/,
    );
    await expectSweepError(
      readAll(transport.read(log, { start: 10, end: bigBytes.length + 1 })),
      'INTERRUPTED',
      /ended at byte/,
    );
    await expectSweepError(readAll(transport.read(log, { start: bigBytes.length + 1 })), 'INTERRUPTED');
  });

  it('maps sudo refusing to PERMISSION_DENIED naming the sudoers rule', async () => {
    const h = fleet.host('no-sudo');
    const { transport } = await open('no-sudo');
    const log = `${h.logDir}/audit.log`;
    const rule = sudoersRule(fleet.user, log);
    const attempts = [
      () => transport.listLogs(log),
      () => readAll(transport.read(log)),
      () => transport.head(log, 10),
    ];
    for (const attempt of attempts) {
      const err = await expectSweepError(attempt(), 'PERMISSION_DENIED', /sudo -n refused/);
      expect(err.message).toContain(rule);
      expect((err.cause as Error).message).toMatch(/a password is required/);
    }
  });

  it('maps a missing log and a missing folder to LOG_MISSING naming the path', async () => {
    const h = fleet.host('sudo');
    const { transport } = await open('sudo');
    const missing = `${h.logDir}/audit.log.9`;
    await expectSweepError(readAll(transport.read(missing)), 'LOG_MISSING', /audit\.log\.9: no such file/);
    await expectSweepError(readAll(transport.read(missing, { end: 10 })), 'LOG_MISSING', /audit\.log\.9/);
    await expectSweepError(transport.head(missing, 10), 'LOG_MISSING', /audit\.log\.9/);
    await expectSweepError(transport.stat(missing), 'LOG_MISSING', /audit\.log\.9/);
    const n = fleet.host('no-auditd');
    const { transport: none } = await open('no-auditd');
    await expectSweepError(none.listLogs(`${n.logDir}/audit.log`), 'LOG_MISSING', /audit\.log/);
  });

  it('keeps its buffer bounded for a slow consumer (the SSH window stops the remote tail)', async () => {
    const h = fleet.host('big');
    const { transport } = await open('big');
    const stream = transport.read(`${h.logDir}/audit.log`, { start: 1 });
    let maxBuffered = 0;
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      maxBuffered = Math.max(maxBuffered, stream.readableLength);
      if (n++ % 16 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(hash.digest('hex')).toBe(sha256(bigBytes.subarray(1)));
    expect(maxBuffered).toBeLessThanOrEqual(stream.readableHighWaterMark + 64 * 1024);
  });

  it('errors with INTERRUPTED, not a clean end, when the connection is killed mid-transfer', async () => {
    const h = fleet.host('doomed');
    const { transport, client } = await open('doomed');
    const {
      error: err,
      ended,
      received,
    } = await cutMidTransfer(transport.read(`${h.logDir}/audit.log`), h, client);
    expect(err).toBeInstanceOf(SweepError);
    expect((err as SweepError).code).toBe('INTERRUPTED');
    expect(ended).toBe(false);
    expect(received).toBeLessThan(bigBytes.length);
    await expectSweepError(transport.head(`${h.logDir}/audit.log`, 10), 'INTERRUPTED');
  });

  it('settles commands under way when the connection goes (INTERRUPTED, never a hang)', async () => {
    const h = fleet.host('big');
    const log = `${h.logDir}/audit.log`;
    for (let round = 0; round < 30; round++) {
      const { client } = await connect(fleet, h);
      // What the session gives the transport: a promise that settles once the connection is gone.
      const gone = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const transport = createSudoTransport(client, { user: fleet.user, closed: gone });
      const drain = async (stream: AsyncIterable<unknown>) => {
        for await (const _ of stream) {
          // the bytes do not matter
        }
      };
      const pending = Promise.allSettled([
        transport.listLogs(log),
        drain(transport.read(log)),
        transport.stat(log),
        transport.head(log, 64),
      ]);
      // Round 0 ends the connection at once, later rounds after a growing number of turns of the event loop.
      for (let turn = 0; turn < round; turn++) await new Promise((r) => setImmediate(r));
      client.end();
      const settled = await Promise.race([
        pending,
        new Promise<'hang'>((r) => setTimeout(() => r('hang'), 10_000)),
      ]);
      expect(settled, `round ${round}`).not.toBe('hang');
      for (const outcome of settled as PromiseSettledResult<unknown>[]) {
        // The server may refuse an exec request that crosses the end of the connection ("Unable to exec"): a
        // channel that could not be opened, PROTOCOL. Either way the command is answered, which is the point.
        if (outcome.status === 'rejected') {
          expect(outcome.reason, String(outcome.reason)).toBeInstanceOf(SweepError);
          expect(['INTERRUPTED', 'PROTOCOL'], String(outcome.reason)).toContain(
            (outcome.reason as SweepError).code,
          );
        }
      }
    }
  }, 240_000);

  it('errors, not a clean end, when the root-side cat dies mid-read', async () => {
    const h = fleet.host('big');
    const { transport } = await open('big');
    const log = `${h.logDir}/audit.log`;
    const stream = transport.read(log, { start: 3 });
    const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
    let ended = false;
    stream.on('end', () => {
      ended = true;
    });
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.pause();
    // The `cat` that sudo runs as root under this host's sshd.
    const cat = processTree(h.pid).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === `cat\0${log}\0`;
      } catch {
        return false;
      }
    });
    expect(cat).toBeDefined();
    process.kill(cat!, 'SIGTERM');
    stream.resume();
    const err = await failed;
    expect(err).toBeInstanceOf(SweepError);
    expect((err as SweepError).code).toBe('INTERRUPTED');
    expect(ended).toBe(false);
  });
});

/** A stand-in for an ssh2 exec channel: scripted stdout, stderr and exit status. */
class FakeChannel extends PassThrough {
  readonly stderr = new PassThrough();
  close(): void {
    this.destroy();
  }
}

function fakeClient(
  script: (command: string, channel: FakeChannel) => void,
): Client & { commands: string[] } {
  const commands: string[] = [];
  const client = Object.assign(new EventEmitter(), {
    commands,
    setNoDelay: () => client,
    exec(command: string, cb: (err: Error | undefined, channel: FakeChannel) => void) {
      commands.push(command);
      const channel = new FakeChannel();
      cb(undefined, channel);
      setImmediate(() => script(command, channel));
      return client;
    },
  });
  return client as unknown as Client & { commands: string[] };
}

function finish(channel: FakeChannel, code: number, stderr = ''): void {
  if (stderr) channel.stderr.write(stderr);
  channel.end();
  channel.emit('exit', code);
  channel.stderr.end();
  setImmediate(() => channel.emit('close'));
}

describe('sudo transport, exit status and parsing', () => {
  it('turns a non-zero exit after partial output into an error, never a clean short file', async () => {
    const client = fakeClient((_command, channel) => {
      channel.write(Buffer.alloc(1000, 0x61));
      finish(channel, 1, 'head: error reading /var/log/audit/audit.log: Input/output error\n');
    });
    const transport = createSudoTransport(client, { user: 'alice' });
    const stream = transport.read('/var/log/audit/audit.log', { end: 5000 });
    const err = await expectSweepError(readAll(stream), 'PROTOCOL', /Input\/output error/);
    expect(err.message).toContain('exit 1');
    expect(client.commands).toEqual(['export LC_ALL=C; sudo -n cat /var/log/audit/audit.log | head -c 5000']);
  });

  it('errors when a channel closes without an exit status', async () => {
    const client = fakeClient((_command, channel) => {
      channel.write(Buffer.alloc(10));
      channel.end();
      setImmediate(() => channel.emit('close'));
    });
    await expectSweepError(
      readAll(createSudoTransport(client).read('/l/audit.log', { end: 10 })),
      'INTERRUPTED',
    );
  });

  it('reads a head: a short file is fine unless stderr says why', async () => {
    const ok = fakeClient((_c, channel) => {
      channel.write(Buffer.from('short'));
      finish(channel, 0, 'sudo: unable to resolve host web-01: Name or service not known\n');
    });
    expect((await createSudoTransport(ok).head('/l/audit.log', 100)).toString()).toBe('short');
    const denied = fakeClient((_c, channel) => finish(channel, 0, 'sudo: a password is required\n'));
    await expectSweepError(createSudoTransport(denied).head('/l/audit.log', 100), 'PERMISSION_DENIED');
    const missing = fakeClient((_c, channel) =>
      finish(channel, 0, 'cat: /l/audit.log: No such file or directory\n'),
    );
    await expectSweepError(createSudoTransport(missing).head('/l/audit.log', 100), 'LOG_MISSING');
  });

  it('quotes every path for the remote shell and keeps numbers out of sudo', () => {
    expect(shellQuote("/var/log/it's here; rm -rf /")).toBe(`'/var/log/it'\\''s here; rm -rf /'`);
    expect(catCommand('/a b/audit.log', 0, 10)).toBe(
      "export LC_ALL=C; sudo -n cat '/a b/audit.log' | head -c 10",
    );
    expect(catCommand('/var/log/audit/audit.log.1', 10, 5)).toBe(
      'export LC_ALL=C; sudo -n cat /var/log/audit/audit.log.1 | tail -c +11 | head -c 5',
    );
    expect(listCommand('/var/log/$(reboot)')).toBe(
      "export LC_ALL=C; sudo -n ls -lani --full-time '/var/log/$(reboot)'",
    );
    expect(() => createSudoTransport(fakeClient(() => {})).read('audit.log')).toThrow(/absolute/);
    expect(() => createSudoTransport(fakeClient(() => {})).read('-n/x')).toThrow(/absolute/);
  });

  it('parses ls -lani --full-time lines', () => {
    const dir = '/var/log/audit';
    expect(
      parseLsLine('1234567 -rw------- 1 0 0 288577 2026-11-23 01:33:20.123456789 +0100 audit.log', dir),
    ).toEqual({
      file: {
        path: '/var/log/audit/audit.log',
        name: 'audit.log',
        size: 288577,
        mtimeMs: Date.parse('2026-11-23T00:33:20.123Z'),
        inode: 1234567,
        mode: 0o600,
      },
      regular: true,
    });
    expect(parseLsLine('  42 -rwsr-x--T. 1 0 0 1 2026-11-23 01:33:20 +0000 a b|c', dir)?.file).toMatchObject({
      name: 'a b|c',
      mode: 0o5750,
      mtimeMs: Date.parse('2026-11-23T01:33:20Z'),
    });
    expect(parseLsLine('7 drwx------ 2 0 0 4096 2026-11-23 01:33:20.0 +0000 sub', dir)?.regular).toBe(false);
    expect(parseLsLine('7 drwx------ 2 0 0 4096 2026-11-23 01:33:20.0 +0000 ..', dir)).toBeUndefined();
    expect(parseLsLine('total 1240', dir)).toBeUndefined();
  });
});
