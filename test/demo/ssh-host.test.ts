/**
 * The demo SSH host against ssh2's real client: public-key login, host key as announced, a byte-exact read with
 * many READs in flight (auditsweep's own SftpReadStream), the directory listing, and refusals (writes, exec,
 * another key).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoSshHost, generateEd25519KeyPair, startDemoSshHost } from '../../src/demo/ssh-host.js';
import { SftpReadStream } from '../../src/fetch/sftp-transport.js';

const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

const clientKey = generateEd25519KeyPair();
const dir = mkdtempSync(join(tmpdir(), 'auditsweep-demo-host-'));
// Not a multiple of any read size, so the last answer is short and the one after it is EOF.
const big = randomBytes(3 * 1024 * 1024 + 12_345);
const small = Buffer.from('type=DAEMON_START msg=audit(1795396101.729:1): op=start\n');
writeFileSync(join(dir, 'big'), big);
writeFileSync(join(dir, 'small'), small);

let host: DemoSshHost;

function connect(privateKey: string = clientKey.private): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({
      host: host.address,
      port: host.port,
      username: 'auditor',
      privateKey,
      hostVerifier: (key: Buffer) => {
        const [, b64] = host.hostPublicKey.split(' ');
        return key.equals(Buffer.from(b64 ?? '', 'base64'));
      },
    });
  });
}

function sftpOf(c: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => c.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

beforeAll(async () => {
  host = await startDemoSshHost({
    files: [
      { name: 'audit.log.1', source: join(dir, 'big'), mtimeMs: Date.parse('2026-11-23T01:10:00Z') },
      { name: 'audit.log', source: join(dir, 'small') },
    ],
    clientPublicKey: clientKey.public,
  });
});

afterAll(async () => {
  await host.stop();
});

describe('generateEd25519KeyPair', () => {
  it('only returns keys that ssh2 can read back (ssh2 mis-writes about 1 in 200)', () => {
    for (let i = 0; i < 600; i++) {
      const pair = generateEd25519KeyPair();
      expect(utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
    }
  });
});

describe('demo SSH host', () => {
  it('serves a file byte-exact to a reader with 16 READs in flight', async () => {
    const c = await connect();
    try {
      const sftp = await sftpOf(c);
      const before = host.requests.READ ?? 0;
      const stream = new SftpReadStream(sftp, '/var/log/audit/audit.log.1', { concurrency: 16 });
      const got = await collect(stream);
      expect(got.length).toBe(big.length);
      expect(got.equals(big)).toBe(true);
      expect((host.requests.READ ?? 0) - before).toBeGreaterThan(50);
    } finally {
      c.end();
    }
  });

  it('answers a read past the end with EOF, and lists the folder with attributes', async () => {
    const c = await connect();
    try {
      const sftp = await sftpOf(c);
      const list = await new Promise<ssh2.FileEntryWithStats[]>((resolve, reject) =>
        sftp.readdir('/var/log/audit', (err, l) => (err ? reject(err) : resolve(l))),
      );
      const byName = Object.fromEntries(list.map((e) => [e.filename, e]));
      expect(Object.keys(byName).sort()).toEqual(['audit.log', 'audit.log.1']);
      expect(byName['audit.log.1']?.attrs.size).toBe(big.length);
      expect(byName['audit.log.1']?.attrs.mtime).toBe(Date.parse('2026-11-23T01:10:00Z') / 1000);
      expect(byName['audit.log']?.longname).toMatch(/^-rw------- .* audit\.log$/);

      const stats = await new Promise<ssh2.Stats>((resolve, reject) =>
        sftp.stat('/var/log/audit/../audit/audit.log', (err, s) => (err ? reject(err) : resolve(s))),
      );
      expect(stats.size).toBe(small.length);

      const handle = await new Promise<Buffer>((resolve, reject) =>
        sftp.open('/var/log/audit/audit.log', 'r', (err, h) => (err ? reject(err) : resolve(h))),
      );
      // ssh2's client turns the EOF status of a READ into 0 bytes read.
      const eof = await new Promise<[unknown, number]>((resolve) =>
        sftp.read(handle, Buffer.alloc(10), 0, 10, small.length, (err, n) => resolve([err, n])),
      );
      expect(eof).toEqual([undefined, 0]);
      const tail = await new Promise<[unknown, number]>((resolve) =>
        sftp.read(handle, Buffer.alloc(64), 0, 64, 5, (err, n) => resolve([err, n])),
      );
      expect(tail).toEqual([undefined, small.length - 5]);
      await new Promise<void>((resolve, reject) =>
        sftp.close(handle, (err) => (err ? reject(err) : resolve())),
      );

      const missing = await new Promise<unknown>((resolve) =>
        sftp.stat('/etc/shadow', (err) => resolve(err)),
      );
      expect((missing as { code?: number }).code).toBe(utils.sftp.STATUS_CODE.NO_SUCH_FILE);
    } finally {
      c.end();
    }
  });

  it('refuses writes, exec and a key it does not know', async () => {
    const c = await connect();
    try {
      const sftp = await sftpOf(c);
      const write = await new Promise<unknown>((resolve) =>
        sftp.open('/var/log/audit/audit.log', 'w', (err) => resolve(err)),
      );
      expect((write as { code?: number }).code).toBe(utils.sftp.STATUS_CODE.PERMISSION_DENIED);
      const exec = await new Promise<unknown>((resolve) => c.exec('id', (err) => resolve(err)));
      expect(exec).toBeInstanceOf(Error);
    } finally {
      c.end();
    }
    const stranger = generateEd25519KeyPair().private;
    await expect(connect(stranger)).rejects.toThrow(/authentication/i);
  });
});
