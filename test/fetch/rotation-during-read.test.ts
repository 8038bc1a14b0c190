/**
 * Issue #3: "every host's audit log for the review window". auditd rotates by itself whenever the live log is full
 * (on a busy host, every few minutes): a sweep that lists the files and then reads them by name may, after a
 * rotation, read the former live log as `audit.log.1` and never the file it listed under that name. Against real
 * sshd, over SFTP and through sudo, the log is rotated in the middle of the sweep's reads; every event must come
 * out exactly once, in order, from the right files.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchHost, type HostFetchResult } from '../../src/fetch/fetch-host.js';
import { sudoersRule } from '../../src/fetch/transport.js';
import type { InventoryHost, Transport } from '../../src/inventory/types.js';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import type { EventRow } from '../../src/types.js';
import { ROOT } from '../helpers/cli.js';
import { inventoryHostOf } from '../helpers/fleet-inventory.js';
import { type FleetHost, rotateLog, type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const FIX = join(ROOT, 'test', 'fixtures', 'corpus', 'enriched');
const AUDIT_ID = /msg=audit\(([^)]*)\)/;
const SUDO_RULE = { commands: [sudoersRule('x', '{logDir}/audit.log').split('NOPASSWD: ')[1]!] };

/**
 * The corpus's events in order, cut into pieces at event boundaries, each about `weights[i]` of the whole: what
 * auditd wrote to one file after another.
 */
function piecesOfCorpus(weights: readonly number[]): string[] {
  const lines = ['audit.log.2', 'audit.log.1', 'audit.log']
    .map((f) => readFileSync(join(FIX, f), 'utf8'))
    .join('')
    .split('\n')
    .filter((l) => l !== '');
  const idOf = (i: number) => AUDIT_ID.exec(lines[i]!)?.[1];
  const lastLineOf = new Map(lines.map((_, i) => [idOf(i), i]));
  const total = weights.reduce((a, b) => a + b, 0);
  const pieces: string[] = [];
  let from = 0;
  let sum = 0;
  for (const w of weights.slice(0, -1)) {
    sum += w;
    // The first line at or after the target at which no event of the lines before it goes on.
    let cut = Math.round((lines.length * sum) / total);
    const open = () => lines.slice(from, cut).some((_, j) => lastLineOf.get(idOf(from + j))! >= cut);
    while (cut < lines.length && open()) cut++;
    pieces.push(`${lines.slice(from, cut).join('\n')}\n`);
    from = cut;
  }
  pieces.push(`${lines.slice(from).join('\n')}\n`);
  return pieces;
}

/** The rows one parser makes of the files read locally, in order: what the sweep must give. */
async function localRows(host: string, files: readonly string[]): Promise<EventRow[]> {
  const rows: EventRow[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => rows.push(e.row), issue: () => {} });
  await parseLocalFiles(files, parser);
  return rows;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const withoutSource = ({ source_file: _f, ...rest }: EventRow) => rest;

describe('a log that rotates while the sweep reads it, against real sshd', () => {
  let fleet: SshdFleet;
  let dir: string;
  /** Oldest first: audit.log.2, audit.log.1 and audit.log when the sweep lists them; then what auditd writes next. */
  let pieces: string[];
  let local: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-rotation-'));
    // The live log the fuller one, as when auditd rotates it for reaching max_log_file: read by name after the
    // rotation, `audit.log.1` is then long enough to pass for the file listed under that name.
    pieces = piecesOfCorpus([20, 25, 30, 25]);
    local = pieces.map((text, i) => {
      const file = join(dir, `piece-${i}`);
      writeFileSync(file, text);
      return file;
    });
    const logs = { 'audit.log.2': local[0]!, 'audit.log.1': local[1]!, 'audit.log': local[2]! };
    fleet = await startSshdFleet({
      hosts: [
        { name: 'rot-sftp', logs },
        { name: 'rot-sudo', chroot: false, sudo: SUDO_RULE, logMode: 0o600, logDirMode: 0o700, logs },
        { name: 'late-sftp', logs },
        { name: 'gone-sftp', logs },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function inventoryHost(h: FleetHost, transport: Transport): InventoryHost {
    return inventoryHostOf(fleet, h, { transport, logPath: `${h.remoteLogDir}/audit.log` });
  }

  /**
   * Sweeps one host; after the first chunk at which `when(rows so far)` holds, rotates its log (the next piece
   * becomes the new live log). Says whether it did.
   */
  async function sweepRotating(
    h: FleetHost,
    transport: Transport,
    when: (rows: number) => boolean,
    afterRotation?: () => Promise<void>,
    keepRawDir?: string,
  ): Promise<{ result: HostFetchResult; rows: EventRow[]; rotated: boolean }> {
    const rows: EventRow[] = [];
    let rotated = false;
    const result = await fetchHost(
      inventoryHost(h, transport),
      { event: (e) => rows.push(e.row), issue: () => {} },
      async () => {
        if (rotated || !when(rows.length)) return;
        rotated = true;
        await rotateLog(h, { newContent: pieces[3]! });
        await afterRotation?.();
      },
      {
        window: {},
        session: { knownHostsFiles: [fleet.knownHostsFile], auth: { agentSocket: null } },
        keepRawDir,
      },
    );
    return { result, rows, rotated };
  }

  for (const [name, transport] of [
    ['rot-sftp', 'sftp'],
    ['rot-sudo', 'sudo'],
  ] as const) {
    it(`${transport}: follows a rotation between two files, and reads every event once, from the files listed`, async () => {
      // At the first chunk: the oldest file is read whole (one chunk), the next not yet open.
      const raw = join(dir, `raw-${name}`);
      const { result, rows, rotated } = await sweepRotating(
        fleet.host(name),
        transport,
        () => true,
        undefined,
        raw,
      );
      expect(rotated).toBe(true);
      expect(result.status, result.message).toBe('ok');
      expect(result.message).toContain(
        'the log rotated during the read: audit.log.1 was read as audit.log.2',
      );
      // The file listed as audit.log.2, read through the handle (or `cat`) opened before the rotation; then the
      // others under the names they have now, the new live log included.
      expect(result.files.map((f) => [f.name, f.end - f.start, f.complete])).toEqual([
        ['audit.log.2', pieces[0]!.length, true],
        ['audit.log.2', pieces[1]!.length, true],
        ['audit.log.1', pieces[2]!.length, true],
        ['audit.log', pieces[3]!.length, true],
      ]);
      // --keep-raw: each file's exact bytes under a name of its own (two files were audit.log.2 in turn).
      expect(result.files.map((f) => f.rawFile)).toEqual([
        `${name}/audit.log.2`,
        `${name}/audit.log.2.after-rotation-1`,
        `${name}/audit.log.1.after-rotation-1`,
        `${name}/audit.log.after-rotation-1`,
      ]);
      // …and nothing else: not the empty copy begun when audit.log.1 turned out to be another file.
      expect(readdirSync(join(raw, name)).sort()).toEqual(
        result.files.map((f) => f.rawFile!.split('/')[1]).sort(),
      );
      const copies = result.files.map((f) => readFileSync(join(raw, f.rawFile!)));
      expect(copies.map((c) => c.toString())).toEqual(pieces);
      expect(result.files.map((f) => f.sha256)).toEqual(copies.map(sha256));
      const expected = await localRows(name, local);
      expect(rows.length).toBe(expected.length);
      expect(rows.map(withoutSource)).toEqual(expected.map(withoutSource));
    });
  }

  it('sftp: a rotation while the live log is being read changes nothing: its handle keeps the file listed', async () => {
    const before = (await localRows('late-sftp', local.slice(0, 2))).length;
    // Once rows of the live log have come: it is open, and more of it is still to be read (two chunks or more).
    const { result, rows, rotated } = await sweepRotating(fleet.host('late-sftp'), 'sftp', (n) => n > before);
    expect(rotated).toBe(true);
    expect(result.status, result.message).toBe('ok');
    expect(result.message).not.toContain('rotated');
    expect(result.files.map((f) => [f.name, f.end - f.start])).toEqual([
      ['audit.log.2', pieces[0]!.length],
      ['audit.log.1', pieces[1]!.length],
      ['audit.log', pieces[2]!.length],
    ]);
    const expected = await localRows('late-sftp', local.slice(0, 3));
    expect(rows.map(withoutSource)).toEqual(expected.map(withoutSource));
  });

  it('sftp: a file rotated out of reach before it was read ends the host partial, with the rows read before it', async () => {
    const h = fleet.host('gone-sftp');
    // num_logs reached: the file listed as audit.log.1, now audit.log.2, is deleted by the rotation.
    const { result, rows, rotated } = await sweepRotating(
      h,
      'sftp',
      () => true,
      () => rm(join(h.logDir, 'audit.log.2')),
    );
    expect(rotated).toBe(true);
    expect(result).toMatchObject({ status: 'partial', code: 'INTERRUPTED' });
    expect(result.message).toContain('/var/log/audit/audit.log.1 rotated out of reach');
    expect(result.files.map((f) => [f.name, f.complete])).toEqual([['audit.log.2', true]]);
    const before = await localRows('gone-sftp', local.slice(0, 1));
    // Rows of whole events only: the last events of the file read may wait for records that never came.
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map(withoutSource)).toEqual(before.slice(0, rows.length).map(withoutSource));
  });
});
