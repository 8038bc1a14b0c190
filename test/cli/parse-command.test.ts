/**
 * `auditsweep parse` as a user runs it: the built CLI (bin/auditsweep.js → dist/), real corpus logs, the files it
 * writes read back with papaparse.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { EVENT_COLUMNS } from '../../src/types.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { readCsv } from '../helpers/report-files.js';

const _run = promisify(execFile);
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const CORPUS = join(ROOT, '..', 'shared', 'corpus');

const cli = (args: string[]) => runCli(args);

const tmp = () => mkdtempSync(join(tmpdir(), 'auditsweep-cli-'));
const logs = (variant: string) =>
  ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) => join(FIX, variant, f));
const counts = (variant: string) =>
  ['audit.log.2', 'audit.log.1', 'audit.log'].map(
    (f) =>
      JSON.parse(readFileSync(join(CORPUS, variant, `${f}.counts.json`), 'utf8')) as {
        distinct_events: number;
      },
  );

describe('auditsweep parse', () => {
  it('writes events.csv with the contract columns, one row per event, for a rotated set given oldest first', async () => {
    const out = tmp();
    const { code, stderr } = await cli(['parse', ...logs('node-user'), '--host', 'web-01', '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/1019 events/);
    const text = readFileSync(join(out, 'events.csv'), 'utf8');
    expect(text.split('\r\n')[0]).toBe(EVENT_COLUMNS.join(','));
    const rows = readCsv(join(out, 'events.csv'));
    expect(rows).toHaveLength(counts('node-user').reduce((n, c) => n + c.distinct_events, 0));
    expect(new Set(rows.map((r) => r.node))).toEqual(new Set(['web-01']));
    expect(
      rows.every((r) => r.host === 'web-01' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(r.time!)),
    ).toBe(true);
    // The sudo of the corpus, with its command and the evidence pointer.
    const sudo = rows.find((r) => r.event_type === 'USER_CMD' && r.command === 'id');
    expect(sudo).toMatchObject({ auid: 'alice', exe: '/usr/bin/sudo', result: 'success' });
    expect(sudo?.source_file).toMatch(/audit\.log\.1$/);
    const line = readFileSync(sudo!.source_file!, 'utf8').split('\n')[Number(sudo!.source_line) - 1];
    expect(line).toContain(`:${sudo!.serial}): `);
    expect(existsSync(join(out, 'parse-issues.csv'))).toBe(false);
    // The report set of a sweep of that one host comes with it (test/cli/parse-report-set.test.ts checks it).
    for (const f of ['hosts.csv', 'summary.csv', 'report.html', 'manifest.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
  });

  it('writes only events.csv with --events-only', async () => {
    const out = tmp();
    const { code } = await cli(['parse', ...logs('node-user'), '--events-only', '--out', out]);
    expect(code).toBe(0);
    expect(readdirSync(out)).toEqual(['events.csv']);
  });

  it('names ids of a RAW log only from the given passwd/group of the audited host', async () => {
    const withMaps = tmp();
    await cli([
      'parse',
      ...logs('raw'),
      '--passwd',
      join(FIX, 'accounts', 'passwd'),
      '--group',
      join(FIX, 'accounts', 'group'),
      '--out',
      withMaps,
    ]);
    const without = tmp();
    await cli(['parse', ...logs('raw'), '--out', without]);
    const a = readCsv(join(withMaps, 'events.csv'));
    const b = readCsv(join(without, 'events.csv'));
    // The test users were deleted before the golden files were made: unknown(4001) with the maps, 4001 without.
    expect(a.some((r) => r.auid === 'unknown(4001)')).toBe(true);
    expect(b.some((r) => r.auid === '4001')).toBe(true);
    expect(b.some((r) => r.auid === 'unknown(4001)')).toBe(false);
  });

  it('prints the events CSV with --stdout and reads gzip-compressed rotated files transparently', async () => {
    const dir = tmp();
    const gz = join(dir, 'audit.log.2.gz');
    writeFileSync(gz, gzipSync(readFileSync(logs('enriched')[0]!)));
    const plain = await cli(['parse', ...logs('enriched'), '--stdout']);
    const mixed = await cli(['parse', gz, ...logs('enriched').slice(1), '--stdout']);
    expect(mixed.code).toBe(0);
    const strip = (s: string) => s.replace(/[^,\r\n]*audit\.log[^,\r\n]*/g, 'FILE');
    expect(strip(mixed.stdout)).toBe(strip(plain.stdout));
  });

  it('stops quietly with exit 0 when the reader of --stdout closes the pipe early (`| head`)', async () => {
    const files = ['enriched', 'raw', 'node-user', 'node-hostname'].flatMap((v) => logs(v));
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'auditsweep.js'), 'parse', ...files, '--stdout'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // The first piece is enough for this reader: it closes its end, as `head -1` does, long before the rows end
    // (megabytes of them, far more than a pipe holds).
    const first = await new Promise<Buffer>((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    expect(first.toString('utf8')).toMatch(/^host,node,time,serial,/);
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it('reports bad lines in parse-issues.csv, keeps the good ones, and exits 0', async () => {
    const dir = tmp();
    const good = readFileSync(logs('enriched')[2]!, 'utf8').split('\n').slice(0, 40).join('\n');
    const bad = Buffer.concat([
      Buffer.from(`${good}\n`),
      Buffer.from('garbage without a header\n'),
      Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef, 0x0a]),
      Buffer.from(`type=SYSCALL msg=audit(1795396300.000:1): comm="${'A'.repeat(1024 * 1024)}"\n`),
      Buffer.from('type=SYSCALL msg=audit(1795396300.000:2): pid=1 comm="cut'),
    ]);
    const file = join(dir, 'audit.log');
    writeFileSync(file, bad);
    const out = join(dir, 'out');
    const { code, stderr } = await cli(['parse', file, '--out', out]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/bad lines/);
    const issues = readCsv(join(out, 'parse-issues.csv'));
    expect(issues.map((i) => [i.line, i.reason])).toEqual([
      ['41', 'missing-header'],
      ['42', 'not-text'],
      ['43', 'line-too-long'],
      ['44', 'truncated'],
      ['44', 'truncated'],
    ]);
    expect(issues.every((i) => i.file === file && i.host === 'local')).toBe(true);
    expect(readCsv(join(out, 'events.csv')).length).toBeGreaterThan(5);
  });

  it('neutralises a formula that arrives from a real log line (a hex-encoded account name)', async () => {
    const dir = tmp();
    const evil = '=HYPERLINK("http://x.invalid","click")';
    const hex = Buffer.from(evil).toString('hex').toUpperCase();
    const line =
      "type=USER_LOGIN msg=audit(1795395987.949:22742): pid=7652 uid=0 auid=4294967295 ses=4294967295 msg='op=login " +
      `acct=${hex} exe="/usr/sbin/sshd" hostname=? addr=127.0.0.1 terminal=sshd res=failed'\n`;
    writeFileSync(join(dir, 'audit.log'), line);
    const { stdout } = await cli(['parse', join(dir, 'audit.log'), '--stdout']);
    const [row] = Papa.parse<Record<string, string>>(stdout, { header: true, skipEmptyLines: true }).data;
    expect(row?.obj_prime ?? '').not.toMatch(/^[=+\-@]/);
    expect(row?.subj_prime ?? '').not.toMatch(/^[=+\-@]/);
    expect(stdout).toContain(`"'${evil.replaceAll('"', '""')}"`);
    for (const cell of Object.values(row ?? {})) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('exits 1 when a file cannot be read (the others are still parsed) and 2 on a usage error', async () => {
    const out = tmp();
    const r = await cli(['parse', '/nonexistent/audit.log', logs('enriched')[2]!, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read \/nonexistent\/audit\.log/);
    expect(readCsv(join(out, 'events.csv')).length).toBeGreaterThan(100);
    expect((await cli(['parse', logs('enriched')[2]!])).code).toBe(2);
    expect((await cli(['parse', logs('enriched')[2]!, '--stdout', '--since', 'yesterday'])).code).toBe(2);
    expect((await cli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
