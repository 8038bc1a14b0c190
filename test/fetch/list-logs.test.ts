import { readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Client } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyHostKey } from '../../src/fetch/known-hosts.js';
import {
  firstEventTime,
  orderRotated,
  relocate,
  rotatedBetween,
  rotationSlot,
  selectForWindow,
} from '../../src/fetch/list-logs.js';
import { createSftpTransport } from '../../src/fetch/sftp-transport.js';
import type { LogTransport, RemoteFile } from '../../src/fetch/transport.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const CORPUS = fileURLToPath(new URL('../../../shared/corpus/enriched', import.meta.url));
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-16T00:00:00Z');

function file(name: string, mtimeMs: number, size = 100): RemoteFile {
  return { path: `/var/log/audit/${name}`, name, size, mtimeMs };
}

describe('rotationSlot', () => {
  it('recognises the log and its numbered and gzipped siblings', () => {
    expect(rotationSlot('audit.log', 'audit.log')).toEqual({ index: 0, gz: false });
    expect(rotationSlot('audit.log', 'audit.log.1')).toEqual({ index: 1, gz: false });
    expect(rotationSlot('audit.log', 'audit.log.12')).toEqual({ index: 12, gz: false });
    expect(rotationSlot('audit.log', 'audit.log.3.gz')).toEqual({ index: 3, gz: true });
  });

  it('rejects look-alikes', () => {
    for (const name of [
      'audit.log.bak',
      'audit.log.1.tmp',
      'audit.log.gz',
      'audit.log.0',
      'audit.log.',
      'audit.log.1.gz.tmp',
      'xaudit.log',
      'audit.logx',
      'audit_log.1',
      'audit.log.-1',
      'audit.log.1a',
    ]) {
      expect(rotationSlot('audit.log', name), name).toBeUndefined();
    }
    // The log name is literal, not a pattern.
    expect(rotationSlot('audit.log', 'auditXlog')).toBeUndefined();
    expect(rotationSlot('my.log', 'my.log.2')).toEqual({ index: 2, gz: false });
  });
});

describe('orderRotated', () => {
  it('orders oldest first: highest N first, the live log last; others dropped', () => {
    const names = [
      'audit.log',
      'audit.log.10',
      'audit.log.2',
      'audit.log.bak',
      'audit.log.1',
      'audit.log.3.gz',
    ];
    expect(
      orderRotated(
        'audit.log',
        names.map((name) => ({ name })),
      ).map((f) => f.name),
    ).toEqual(['audit.log.10', 'audit.log.3.gz', 'audit.log.2', 'audit.log.1', 'audit.log']);
  });

  it('prefers the plain file when a compressor left both N and N.gz', () => {
    for (const names of [
      ['audit.log.1.gz', 'audit.log.1', 'audit.log'],
      ['audit.log.1', 'audit.log.1.gz', 'audit.log'],
    ]) {
      expect(
        orderRotated(
          'audit.log',
          names.map((name) => ({ name })),
        ).map((f) => f.name),
      ).toEqual(['audit.log.1', 'audit.log']);
    }
  });
});

describe('rotatedBetween and relocate: the log rotating between a listing and a read', () => {
  const LOG = 'audit.log';
  // Sizes and whole-second mtimes as SFTP lists them: audit.log.2, audit.log.1, the live log; then one rotation.
  const before = [
    file('audit.log.2', T0, 8000),
    file('audit.log.1', T0 + HOUR, 8100),
    file(LOG, T0 + 2 * HOUR, 7900),
  ];
  const once = [
    file('audit.log.3', T0, 8000),
    file('audit.log.2', T0 + HOUR, 8100),
    file('audit.log.1', T0 + 3 * HOUR, 8200),
    file(LOG, T0 + 3 * HOUR, 10),
  ];

  it('sees no rotation while auditd only writes to the live log', () => {
    const grown = [before[0]!, before[1]!, file(LOG, T0 + 3 * HOUR, 9000)];
    expect(rotatedBetween(LOG, before, grown)).toBe(false);
    expect(rotatedBetween(LOG, before, before)).toBe(false);
  });

  it('sees a rotation in the rotated files, a first rotation, and with inodes a new live log', () => {
    expect(rotatedBetween(LOG, before, once)).toBe(true);
    expect(rotatedBetween(LOG, [file(LOG, T0, 50)], [file('audit.log.1', T0, 60), file(LOG, T0, 0)])).toBe(
      true,
    );
    const live = (inode: number, size: number) => ({ ...file(LOG, T0, size), inode });
    expect(rotatedBetween(LOG, [live(7, 50)], [live(7, 90)])).toBe(false);
    expect(rotatedBetween(LOG, [live(7, 50)], [live(8, 90)])).toBe(true);
  });

  it('finds a rotated file by its size and mtime, the former live log as the oldest new one, or by inode', () => {
    expect(relocate(LOG, before[1]!, before, once)?.name).toBe('audit.log.2');
    expect(relocate(LOG, before[0]!, before, once)?.name).toBe('audit.log.3');
    expect(relocate(LOG, before[2]!, before, once)?.name).toBe('audit.log.1');
    const twice = [
      file('audit.log.4', T0, 8000),
      file('audit.log.3', T0 + HOUR, 8100),
      file('audit.log.2', T0 + 3 * HOUR, 8200),
      file('audit.log.1', T0 + 4 * HOUR, 8050),
      file(LOG, T0 + 4 * HOUR, 10),
    ];
    expect(relocate(LOG, before[2]!, before, twice)?.name).toBe('audit.log.2');
    const withInode = (f: RemoteFile, inode: number) => ({ ...f, inode });
    expect(
      relocate(LOG, withInode(before[2]!, 12), before, [withInode(once[1]!, 11), withInode(once[2]!, 12)])
        ?.name,
    ).toBe('audit.log.1');
  });

  it('finds nothing when the file is gone: deleted past num_logs, or compressed', () => {
    const dropped = once.filter((f) => f.name !== 'audit.log.3');
    expect(relocate(LOG, before[0]!, before, dropped)).toBeUndefined();
    const compressed = [{ ...file('audit.log.3.gz', T0, 900) }, ...once.slice(1)];
    expect(relocate(LOG, before[0]!, before, compressed)).toBeUndefined();
  });
});

describe('selectForWindow', () => {
  // Oldest first: .3 written until T0+1h, .2 until T0+2h, .1 until T0+3h, the live log until T0+4h.
  const files = [
    file('audit.log.3', T0 + 1 * HOUR),
    file('audit.log.2', T0 + 2 * HOUR),
    file('audit.log.1', T0 + 3 * HOUR),
    file('audit.log', T0 + 4 * HOUR),
  ];
  const names = (fs: readonly RemoteFile[]) => fs.map((f) => f.name);

  it('keeps everything without a window, but never an empty file', () => {
    const r = selectForWindow([...files, file('audit.log.9', T0, 0)], {});
    expect(names(r.selected)).toEqual(names(files));
    expect(r.undecided).toEqual([]);
  });

  it('skips files last written before since (and keeps no older one "for context")', () => {
    const r = selectForWindow(files, { since: T0 + 2 * HOUR + 30 * 60_000 });
    expect(names(r.selected)).toEqual(['audit.log.1', 'audit.log']);
  });

  it('keeps a file last written within the slack of since (whole-second mtimes)', () => {
    const since = T0 + 2 * HOUR + 900;
    expect(names(selectForWindow(files, { since }).selected)).toContain('audit.log.2');
    expect(names(selectForWindow(files, { since }, { slackMs: 0 }).selected)).not.toContain('audit.log.2');
  });

  it('skips files whose older sibling was written at or after until; the boundary file is undecided', () => {
    const until = T0 + 2 * HOUR + 30 * 60_000;
    const r = selectForWindow(files, { until });
    // .3, .2 end before until: certain. .1 ends after until but starts after .2's end (< until): in doubt.
    // The live log starts after .1's last write (≥ until): certainly out.
    expect(names(r.selected)).toEqual(['audit.log.3', 'audit.log.2', 'audit.log.1']);
    expect(names(r.undecided)).toEqual(['audit.log.1']);
  });

  it('decides a doubtful file by its first event time', () => {
    const until = T0 + 2 * HOUR + 30 * 60_000;
    const before = new Map([['/var/log/audit/audit.log.1', T0 + 2 * HOUR + 1000]]);
    const after = new Map([['/var/log/audit/audit.log.1', until + 60_000]]);
    const none = new Map([['/var/log/audit/audit.log.1', undefined]]);
    expect(names(selectForWindow(files, { until }, { firstEventMs: before }).selected)).toContain(
      'audit.log.1',
    );
    expect(names(selectForWindow(files, { until }, { firstEventMs: after }).selected)).not.toContain(
      'audit.log.1',
    );
    // A head without any event: when in doubt, read.
    expect(names(selectForWindow(files, { until }, { firstEventMs: none }).selected)).toContain(
      'audit.log.1',
    );
    expect(selectForWindow(files, { until }, { firstEventMs: after }).undecided).toEqual([]);
  });

  it('leaves the oldest file undecided when it was written after until (nothing older bounds it)', () => {
    const r = selectForWindow(files, { until: T0 });
    expect(names(r.selected)).toEqual(['audit.log.3']);
    expect(names(r.undecided)).toEqual(['audit.log.3']);
  });

  it('combines since and until', () => {
    const r = selectForWindow(files, { since: T0 + 1 * HOUR + 1, until: T0 + 2 * HOUR + 1 }, { slackMs: 0 });
    expect(names(r.selected)).toEqual(['audit.log.2', 'audit.log.1']);
    expect(names(r.undecided)).toEqual(['audit.log.1']);
  });
});

describe('firstEventTime', () => {
  const line = (sec: number, ms: string, serial = 1) =>
    `type=SYSCALL msg=audit(${sec}.${ms}:${serial}): arch=c000003e syscall=59 success=yes\n`;

  it('reads the first complete line with an audit header', () => {
    expect(firstEventTime(Buffer.from(line(1795396056, '491') + line(1795396060, '000')))).toBe(
      1795396056491,
    );
    expect(firstEventTime(Buffer.from(`node=web-01 ${line(1700000000, '007')}`))).toBe(1700000000007);
    expect(firstEventTime(Buffer.from(`garbage\n${line(1700000000, '100')}`))).toBe(1700000000100);
  });

  it('does not trust a line cut by the end of the head', () => {
    expect(firstEventTime(Buffer.from('type=SYSCALL msg=audit(1700000000.100:1): arch=c0'))).toBeUndefined();
    expect(firstEventTime(Buffer.from(''))).toBeUndefined();
    expect(firstEventTime(Buffer.from('no header\n'))).toBeUndefined();
  });

  it('reads the head of a gzipped sibling, even truncated', () => {
    const corpus = readFileSync(`${CORPUS}/audit.log.2`);
    const gz = gzipSync(corpus);
    const expected = firstEventTime(corpus);
    expect(expected).toBeGreaterThan(1_600_000_000_000);
    expect(firstEventTime(gz.subarray(0, 2048))).toBe(expected);
    expect(firstEventTime(Buffer.from([0x1f, 0x8b, 0, 0]))).toBeUndefined();
  });

  it('finds the first event of each corpus file', () => {
    const text = readFileSync(`${CORPUS}/audit.log`, 'latin1');
    const m = /msg=audit\((\d+)\.(\d{3}):/.exec(text)!;
    expect(firstEventTime(readFileSync(`${CORPUS}/audit.log`).subarray(0, 4096))).toBe(
      Number(m[1]) * 1000 + Number(m[2]),
    );
  });
});

describe('listing and selecting on a real host', () => {
  let fleet: SshdFleet;
  let client: Client;
  let transport: LogTransport;

  beforeAll(async () => {
    fleet = await startSshdFleet({
      hosts: [
        {
          name: 'rotated',
          logs: {
            'audit.log': `${CORPUS}/audit.log`,
            'audit.log.1': `${CORPUS}/audit.log.1`,
            'audit.log.2.gz': `${CORPUS}/audit.log.2`,
            'audit.log.3': { content: '' },
            'audit.log.1.tmp': { content: 'x\n' },
          },
        },
      ],
    });
    const h = fleet.host('rotated');
    // Give each file the mtime of its last event, as auditd leaves them.
    for (const name of ['audit.log', 'audit.log.1', 'audit.log.2']) {
      const text = readFileSync(`${CORPUS}/${name}`, 'latin1');
      const all = [...text.matchAll(/msg=audit\((\d+)\.\d{3}:/g)];
      const last = Number(all.at(-1)![1]);
      const target = path.join(h.logDir, name === 'audit.log.2' ? 'audit.log.2.gz' : name);
      utimesSync(target, last, last);
    }
    client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({
        host: h.address,
        port: h.port,
        username: fleet.user,
        privateKey: readFileSync(fleet.clientKey),
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          verifyHostKey({ host: h.address, port: h.port }, key, [fleet.knownHostsFile]).then(
            (v) => verify(v.status === 'trusted'),
            () => verify(false),
          );
        },
      });
    });
    const sftp = await new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
      client.sftp((err, s) => (err ? reject(err) : resolve(s))),
    );
    transport = createSftpTransport(sftp, { user: fleet.user });
  });

  afterAll(async () => {
    client?.end();
    await fleet?.stop();
  });

  it('selects by mtime, then settles the boundary file with its first event', async () => {
    const files = await transport.listLogs('/var/log/audit/audit.log');
    expect(files.map((f) => f.name)).toEqual(['audit.log.3', 'audit.log.2.gz', 'audit.log.1', 'audit.log']);
    const firstOf = async (f: RemoteFile) => firstEventTime(await transport.head(f.path, 64 * 1024));
    const starts = await Promise.all(files.map(firstOf));
    expect(starts[0]).toBeUndefined(); // the empty one
    const [, gzStart, oneStart, liveStart] = starts as [undefined, number, number, number];
    expect(gzStart).toBeLessThan(oneStart);
    expect(oneStart).toBeLessThan(liveStart);

    const settle = async (window: { since: number; until: number }) => {
      const first = selectForWindow(files, window);
      const firstEventMs = new Map(
        await Promise.all(first.undecided.map(async (f) => [f.path, await firstOf(f)] as const)),
      );
      const settled = selectForWindow(files, window, { firstEventMs });
      expect(settled.undecided).toEqual([]);
      return {
        selected: first.selected.map((f) => f.name),
        undecided: first.undecided.map((f) => f.name),
        settled: settled.selected.map((f) => f.name),
      };
    };
    // Inside audit.log.1: the empty .3 never; the .gz ended before since; the live log began after .1's
    // last write, which is after until (certain); .1 itself was written past until: its head decides.
    expect(await settle({ since: oneStart + 1000, until: files[2]!.mtimeMs - 10_000 })).toEqual({
      selected: ['audit.log.1'],
      undecided: ['audit.log.1'],
      settled: ['audit.log.1'],
    });
    // From inside .1 to just after the live log began: the live log is in doubt, and its head keeps it.
    expect(await settle({ since: oneStart + 1000, until: liveStart + 10_000 })).toEqual({
      selected: ['audit.log.1', 'audit.log'],
      undecided: ['audit.log'],
      settled: ['audit.log.1', 'audit.log'],
    });
    // Just after .1's last write (within the slack): both .1 and the live log are in doubt; the heads keep
    // .1 (it starts long before) and drop the live log (its first event is after until + slack).
    expect(await settle({ since: gzStart, until: files[2]!.mtimeMs + 1200 })).toEqual({
      selected: ['audit.log.2.gz', 'audit.log.1', 'audit.log'],
      undecided: ['audit.log.1', 'audit.log'],
      settled: ['audit.log.2.gz', 'audit.log.1'],
    });
  });
});
