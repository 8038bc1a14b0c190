import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addKnownHost,
  entryMatchesName,
  fingerprintSha256,
  formatPublicKey,
  type HostKeyVerdict,
  hostKeyFailureCode,
  judgeHostKey,
  knownHostName,
  parseKnownHosts,
  verifyHostKey,
} from '../../src/fetch/known-hosts.js';
import { replaceHostKey, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const execFileP = promisify(execFile);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'known-hosts-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

interface KeyPair {
  /** `type base64` */
  line: string;
  blob: Buffer;
  pubFile: string;
}

let keyCounter = 0;
async function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): Promise<KeyPair> {
  const file = path.join(tmp, `key-${keyCounter++}`);
  await execFileP('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'test comment', '-f', file]);
  const [t, b64] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return { line: `${t} ${b64}`, blob: Buffer.from(b64!, 'base64'), pubFile: `${file}.pub` };
}

async function keygenFingerprint(pubFile: string): Promise<string> {
  const { stdout } = await execFileP('ssh-keygen', ['-lf', pubFile]);
  return stdout.split(' ')[1]!;
}

function writeTemp(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

/** Line numbers `ssh-keygen -F name` reports as matching: OpenSSH's own answer. */
async function opensshMatches(file: string, name: string): Promise<number[]> {
  const { stdout } = await execFileP('ssh-keygen', ['-F', name, '-f', file]).catch(
    (err: { stdout?: string }) => ({
      stdout: err.stdout ?? '',
    }),
  );
  return [...stdout.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

describe('fingerprintSha256', () => {
  it('prints what ssh-keygen -lf prints, for ed25519 and ecdsa keys', async () => {
    for (const type of ['ed25519', 'ecdsa'] as const) {
      const k = await newKey(type);
      expect(fingerprintSha256(k.blob)).toBe(await keygenFingerprint(k.pubFile));
    }
  });
});

describe('parseKnownHosts', () => {
  it('skips comments and blank lines, and counts malformed lines with their numbers', async () => {
    const k = await newKey();
    const [type, b64] = k.line.split(' ');
    const text = [
      '# a comment',
      '',
      `web-01 ${k.line} a trailing comment`,
      'only-a-host',
      `web-02 ${type} not*base64`,
      `web-03 ssh-rsa ${b64}`,
      `@bogus web-04 ${k.line}`,
      'web-05 1024 35 12345678901234567890',
      `|1|bad|hash ${k.line}`,
      `   \t@revoked\tweb-06\t${k.line}`,
      '\r',
    ].join('\n');
    const parsed = parseKnownHosts(text, 'kh');
    expect(parsed.entries.map((e) => [e.line, e.marker, e.patterns])).toEqual([
      [3, undefined, ['web-01']],
      [10, 'revoked', ['web-06']],
    ]);
    expect(parsed.entries[0]!.comment).toBe('a trailing comment');
    expect(parsed.issues.map((i) => i.line)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(parsed.issues.find((i) => i.line === 6)!.reason).toMatch(/does not match/);
  });

  it('never throws, whatever the input', async () => {
    const k = await newKey();
    const b64 = fc.uint8Array({ minLength: 0, maxLength: 24 }).map((b) => Buffer.from(b).toString('base64'));
    const fragment = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.tuple(b64, b64).map(([salt, hash]) => `|1|${salt}|${hash}`),
      b64,
      fc.constantFrom(
        ...[
          '@revoked',
          '@cert-authority',
          '@',
          '|',
          '[h]:22',
          '!',
          '*',
          '?',
          ',',
          ' ',
          '\t',
          '\n',
          '\r',
          '#',
        ],
        ...[k.line, ...k.line.split(' '), 'ssh-rsa', '1024 35', 'AAAA', '===='],
      ),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const parsed = parseKnownHosts(text, 'fuzz');
        expect(parsed.entries.length + parsed.issues.length).toBeLessThanOrEqual(text.split('\n').length);
        judgeHostKey({ host: 'h', port: 2222, aliases: ['10.0.0.1'] }, k.blob, [parsed]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('matching host names', () => {
  it('uses [host]:port for non-22 ports', () => {
    expect(knownHostName('Web-01', 22)).toBe('web-01');
    expect(knownHostName('web-01')).toBe('web-01');
    expect(knownHostName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('agrees with ssh-keygen -F on wildcards, negation, ports and case (differential)', async () => {
    const k = await newKey();
    const piece = fc.constantFrom(
      'web-01',
      'web-02',
      'db-01',
      'WEB-01',
      '[web-01]:2222',
      '10.0.0.5',
      '[10.0.0.5]:2222',
    );
    const wild = fc.constantFrom(
      '*',
      'web-*',
      'web-0?',
      '*-01',
      '[*]:2222',
      '[web-0?]:*',
      '10.0.0.*',
      '?',
      '',
    );
    const pattern = fc
      .tuple(fc.boolean(), fc.oneof(piece, wild))
      .map(([neg, p]) => (neg ? `!${p}` : p))
      .filter((p) => p !== '');
    const line = fc.array(pattern, { minLength: 1, maxLength: 4 }).map((ps) => `${ps.join(',')} ${k.line}`);
    const names = ['web-01', '[web-01]:2222', '10.0.0.5', '[10.0.0.5]:2222', 'db-01', 'other'];
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 6 }), async (lines) => {
        const file = writeTemp(`diff-${run++}`, `${lines.join('\n')}\n`);
        const parsed = parseKnownHosts(readFileSync(file, 'utf8'), file);
        for (const name of names) {
          const ours = parsed.entries.filter((e) => entryMatchesName(e, name)).map((e) => e.line);
          expect(ours, `${name} in\n${lines.join('\n')}`).toEqual(await opensshMatches(file, name));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('matches entries hashed by real ssh-keygen -H, including the [host]:port form', async () => {
    const a = await newKey();
    const b = await newKey();
    const file = writeTemp('hashed', `web-01 ${a.line}\n[10.0.0.5]:2222 ${b.line}\n`);
    await execFileP('ssh-keygen', ['-H', '-f', file]);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(text).not.toContain('web-01');
    const parsed = parseKnownHosts(text, file);
    expect(parsed.issues).toEqual([]);
    expect(judgeHostKey({ host: 'web-01' }, a.blob, [parsed]).status).toBe('trusted');
    expect(judgeHostKey({ host: 'WEB-01', port: 22 }, a.blob, [parsed]).status).toBe('trusted');
    expect(judgeHostKey({ host: 'web-01', port: 2200 }, a.blob, [parsed]).status).toBe('unknown');
    expect(judgeHostKey({ host: '10.0.0.5', port: 2222 }, b.blob, [parsed]).status).toBe('trusted');
    expect(judgeHostKey({ host: '10.0.0.5' }, b.blob, [parsed]).status).toBe('unknown');
    expect(judgeHostKey({ host: '10.0.0.5', port: 2222 }, a.blob, [parsed]).status).toBe('changed');
  });
});

describe('judgeHostKey', () => {
  let good: KeyPair;
  let other: KeyPair;
  let ca: KeyPair;
  beforeAll(async () => {
    [good, other, ca] = await Promise.all([newKey(), newKey('ecdsa'), newKey()]);
  });

  it('trusts a wildcard entry unless the name is negated, and checks aliases too', () => {
    const kh = parseKnownHosts(
      `web-*.example.com,!web-bad.example.com ${good.line}\n10.1.2.3 ${other.line}\n`,
      'kh',
    );
    expect(judgeHostKey({ host: 'web-7.example.com' }, good.blob, [kh])).toMatchObject({
      status: 'trusted',
      matchedFile: 'kh',
      matchedLine: 1,
    });
    expect(judgeHostKey({ host: 'web-bad.example.com' }, good.blob, [kh]).status).toBe('unknown');
    expect(judgeHostKey({ host: 'db.internal', aliases: ['10.1.2.3'] }, other.blob, [kh]).status).toBe(
      'trusted',
    );
  });

  it("reports 'changed' with the known keys when the host's entries hold other keys", () => {
    const kh = parseKnownHosts(`# x\n[web-01]:2222 ${other.line}\n`, 'kh');
    const verdict = judgeHostKey({ host: 'web-01', port: 2222 }, good.blob, [kh]);
    expect(verdict).toMatchObject({ status: 'changed', fingerprint: fingerprintSha256(good.blob) });
    expect(verdict.knownKeys).toEqual([
      {
        keyType: 'ecdsa-sha2-nistp256',
        fingerprint: fingerprintSha256(other.blob),
        file: 'kh',
        line: 2,
        marker: undefined,
      },
    ]);
    expect(hostKeyFailureCode(verdict.status)).toBe('HOST_KEY_CHANGED');
  });

  it('refuses a @revoked key even when a plain line trusts it, and whatever host its line names', () => {
    const kh = parseKnownHosts(`web-01 ${good.line}\n@revoked other-host ${good.line}\n`, 'kh');
    expect(judgeHostKey({ host: 'web-01' }, good.blob, [kh])).toMatchObject({
      status: 'revoked',
      matchedLine: 2,
    });
    // Revoking one key does not touch another key of the host.
    const kh2 = parseKnownHosts(`web-01 ${good.line}\n@revoked * ${other.line}\n`, 'kh2');
    expect(judgeHostKey({ host: 'web-01' }, good.blob, [kh2]).status).toBe('trusted');
  });

  it('never reads a @cert-authority key as the host key', () => {
    const caOnly = parseKnownHosts(`@cert-authority *.example.com ${ca.line}\n`, 'kh');
    // Even the CA key's own bytes presented as a plain host key are not trusted.
    const verdict = judgeHostKey({ host: 'a.example.com' }, ca.blob, [caOnly]);
    expect(verdict.status).toBe('cert-authority-only');
    expect(verdict.knownKeys?.[0]?.marker).toBe('cert-authority');
    expect(hostKeyFailureCode(verdict.status)).toBe('HOST_KEY_UNKNOWN');
    expect(judgeHostKey({ host: 'a.example.org' }, ca.blob, [caOnly]).status).toBe('unknown');
    const withPlain = parseKnownHosts(
      `@cert-authority *.example.com ${ca.line}\na.example.com ${good.line}\n`,
      'kh',
    );
    expect(judgeHostKey({ host: 'a.example.com' }, good.blob, [withPlain]).status).toBe('trusted');
    expect(judgeHostKey({ host: 'a.example.com' }, other.blob, [withPlain]).status).toBe('changed');
  });

  it('reads several files, reporting the matching file and line, and ignores a missing one', async () => {
    const f1 = writeTemp('multi-1', `db-01 ${other.line}\n`);
    const f2 = writeTemp('multi-2', `garbage\nweb-01 ${good.line}\n`);
    const verdict = await verifyHostKey({ host: 'web-01' }, good.blob, [path.join(tmp, 'absent'), f1, f2]);
    expect(verdict).toMatchObject({
      status: 'trusted',
      matchedFile: f2,
      matchedLine: 2,
      keyType: 'ssh-ed25519',
    });
    expect(verdict.issues).toEqual([{ file: f2, line: 1, reason: 'missing key' }]);
  });
});

describe('addKnownHost', () => {
  it('creates the folder 0700 and file 0600, appends plain and hashed entries that OpenSSH finds', async () => {
    const k = await newKey();
    const k2 = await newKey();
    const file = path.join(tmp, 'add', 'sub', 'known_hosts');
    await addKnownHost(file, { host: 'web-01' }, `${k.line} some comment`);
    await addKnownHost(file, { host: '127.0.0.1', port: 2022 }, k2.line, { hashed: true });
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe(`web-01 ${k.line} some comment`);
    expect(text.split('\n')[1]).toMatch(/^\|1\|/);
    expect(await opensshMatches(file, 'web-01')).toEqual([1]);
    expect(await opensshMatches(file, '[127.0.0.1]:2022')).toEqual([2]);
    expect((await verifyHostKey({ host: '127.0.0.1', port: 2022 }, k2.blob, [file])).status).toBe('trusted');
  });

  it('starts a new line when the file does not end with one, and rejects a bad key line', async () => {
    const k = await newKey();
    const file = writeTemp('no-newline', `db-01 ${k.line}`);
    await addKnownHost(file, { host: 'web-01' }, formatPublicKey(k.blob));
    expect(readFileSync(file, 'utf8')).toBe(`db-01 ${k.line}\nweb-01 ${k.line}\n`);
    await expect(addKnownHost(file, { host: 'x' }, 'ssh-rsa AAAA')).rejects.toThrow(/public key line/);
  });
});

describe('verifying real sshd hosts through ssh2 hostVerifier', () => {
  let fleet: SshdFleet;
  let knownHosts: string;

  beforeAll(async () => {
    fleet = await startSshdFleet({ hosts: [{ name: 'trusted' }, { name: 'stranger' }, { name: 'rekeyed' }] });
    // What an operator would do: ssh-keyscan the hosts they trust, then hash the file.
    const lines: string[] = [];
    for (const h of [fleet.host('trusted'), fleet.host('rekeyed')]) {
      const { stdout } = await execFileP('ssh-keyscan', ['-t', 'ed25519', '-p', String(h.port), h.address]);
      expect(stdout).toContain(`[${h.address}]:${h.port} ${h.hostKeyPublic}`);
      lines.push(stdout);
    }
    knownHosts = writeTemp('fleet_known_hosts', lines.join(''));
    await execFileP('ssh-keygen', ['-H', '-f', knownHosts]);
  });

  afterAll(async () => {
    await fleet?.stop();
  });

  /** Connects with our verifier deciding; resolves with its verdict and how the connection ended. */
  function connect(name: string): Promise<{ verdict: HostKeyVerdict | undefined; outcome: string }> {
    const h = fleet.host(name);
    return new Promise((resolve) => {
      let verdict: HostKeyVerdict | undefined;
      const client = new Client();
      client.on('ready', () => {
        client.end();
        resolve({ verdict, outcome: 'ready' });
      });
      client.on('error', (err) => resolve({ verdict, outcome: err.message }));
      client.connect({
        host: h.address,
        port: h.port,
        username: fleet.user,
        privateKey: readFileSync(fleet.clientKey),
        readyTimeout: 10_000,
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          verifyHostKey({ host: h.address, port: h.port }, key, [knownHosts]).then(
            (v) => {
              verdict = v;
              verify(v.status === 'trusted');
            },
            () => verify(false),
          );
        },
      });
    });
  }

  it('connects to a host whose key is in known_hosts', async () => {
    const { verdict, outcome } = await connect('trusted');
    expect(outcome).toBe('ready');
    expect(verdict).toMatchObject({
      status: 'trusted',
      fingerprint: fleet.host('trusted').hostKeyFingerprint,
    });
  });

  it('refuses an unknown host and reports the fingerprint ssh-keygen -lf prints for its key', async () => {
    const h = fleet.host('stranger');
    const { verdict, outcome } = await connect('stranger');
    expect(outcome).toMatch(/Host denied/);
    expect(verdict?.status).toBe('unknown');
    expect(verdict?.fingerprint).toBe(await keygenFingerprint(`${h.hostKeyFile}.pub`));
  });

  it("reports a host whose key was replaced as 'changed' and refuses it", async () => {
    const h = fleet.host('rekeyed');
    const before = h.hostKeyFingerprint;
    await replaceHostKey(h);
    const { verdict, outcome } = await connect('rekeyed');
    expect(outcome).toMatch(/Host denied/);
    expect(verdict?.status).toBe('changed');
    expect(verdict?.fingerprint).toBe(await keygenFingerprint(`${h.hostKeyFile}.pub`));
    expect(verdict?.knownKeys?.map((k) => k.fingerprint)).toEqual([before]);
  });
});
