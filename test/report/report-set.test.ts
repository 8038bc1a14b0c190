/**
 * The report set of one run: real corpus logs parsed by the public parser (HostLogParser + parseLocalFiles) for a
 * few pseudo-hosts, fed through ReportSet as runSweep feeds it, and every file checked against what the parts
 * (SummaryAccumulator, classifyFindings) make of the same events host by host.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import {
  AUTH_FAILURE_TOP_FILE,
  AuthFailureTops,
  classifyFindings,
  compareFindingRows,
  FINDING_COLUMNS,
  FINDING_FILES,
  FINDING_KINDS,
  type FindingKind,
  TopN,
} from '../../src/report/findings.js';
import { MANIFEST_FILE, writeManifest } from '../../src/report/manifest.js';
import { FLEET_HOST, SUMMARY_COLUMNS, SummaryAccumulator } from '../../src/report/summary.js';
import {
  claimRunFolder,
  makeRunId,
  ReportSet,
  type ReportSetResult,
  SUMMARY_FILE,
  safeFileName,
} from '../../src/report/write-reports.js';
import { emptyCounters, type HostOutcome, type ParsedEvent } from '../../src/types.js';
import { readCsv } from '../helpers/report-files.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'];
const accounts = parseAccounts(
  readFileSync(join(FIX, 'accounts', 'passwd'), 'utf8'),
  readFileSync(join(FIX, 'accounts', 'group'), 'utf8'),
).maps;

/** The pseudo-fleet: a hostile name, a partial host, a failed host (after some events) and one never reached. */
const HOSTS = [
  { name: 'web-b', variant: 'enriched', status: 'ok' },
  { name: 'web-a', variant: 'raw', status: 'partial' },
  { name: '../../etc/passwd', variant: 'node-user', status: 'ok' },
  { name: 'dead', variant: 'node-hostname', status: 'failed' },
] as const;
const UNREACHED = 'unreached';
const KEPT = HOSTS.filter((h) => h.status !== 'failed')
  .map((h) => h.name)
  .sort();

async function parseHost(host: string, variant: string): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => events.push(e), issue: () => {} });
  await parseLocalFiles(
    LOGS.map((f) => join(FIX, variant, f)),
    parser,
  );
  return events;
}

/** The CSV's formula neutralisation (a leading `'`), applied to an expected row. */
const asWritten = (r: Record<string, string>, columns: readonly string[]) =>
  Object.fromEntries(columns.map((c) => [c, /^[=+\-@\t\r]/.test(r[c] ?? '') ? `'${r[c]}` : (r[c] ?? '')]));

function outcome(host: string, status: HostOutcome['status']): HostOutcome {
  const common = { host, message: '', files: 0, bytes: 0, events: 0, durationMs: 0 };
  return status === 'failed'
    ? { ...common, status, code: 'TIMEOUT' }
    : { ...common, status, ...(status === 'partial' ? { code: 'TIMEOUT' as const } : {}) };
}

describe('ReportSet', () => {
  const parsed = new Map<string, ParsedEvent[]>();
  let root: string;
  let outDir: string;
  let spoolDir: string;
  let result: ReportSetResult;
  let spoolNames: string[] = [];

  beforeAll(async () => {
    for (const h of HOSTS) parsed.set(h.name, await parseHost(h.name, h.variant));
    root = mkdtempSync(join(tmpdir(), 'auditsweep-report-set-'));
    outDir = join(root, 'run');
    spoolDir = join(outDir, '.spool');
    await mkdir(spoolDir, { recursive: true });
    const set = new ReportSet({ outDir, spoolDir, accounts });
    // Hosts interleave as they do when collected concurrently.
    const sinks = HOSTS.map((h) => set.openHost(h.name));
    const lists = HOSTS.map((h) => parsed.get(h.name)!);
    const longest = Math.max(...lists.map((l) => l.length));
    for (let i = 0; i < longest; i++) {
      HOSTS.forEach((h, j) => {
        // The failed host dies half-way through.
        if (h.status === 'failed' && i > lists[j]!.length / 2) return;
        const e = lists[j]![i];
        if (e) sinks[j]!.event(e);
      });
      if (i % 500 === 0) for (const s of sinks) await s.drain();
    }
    spoolNames = readdirSync(spoolDir);
    for (const [j, h] of HOSTS.entries()) await sinks[j]!.finish(h.status);
    result = await set.finish([...HOSTS.map((h) => outcome(h.name, h.status)), outcome(UNREACHED, 'failed')]);
  }, 60_000);

  it('writes summary.csv, every findings file (header-only when empty) and the auth-failure top list', () => {
    expect(existsSync(join(outDir, SUMMARY_FILE))).toBe(true);
    for (const kind of FINDING_KINDS) {
      const path = join(outDir, FINDING_FILES[kind]);
      expect(existsSync(path), kind).toBe(true);
      const header = readFileSync(path, 'utf8').split('\r\n')[0];
      expect(header).toBe(FINDING_COLUMNS[kind].join(','));
    }
    expect(existsSync(join(outDir, AUTH_FAILURE_TOP_FILE))).toBe(true);
    expect(result.files.map((f) => f.name).sort()).toEqual(
      [SUMMARY_FILE, AUTH_FAILURE_TOP_FILE, ...Object.values(FINDING_FILES)].sort(),
    );
    // Nothing is left half-written.
    expect(readdirSync(outDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('gives every selected host a summary row, a failed one zero counts, and (all) the sum of the hosts', () => {
    const rows = readCsv(join(outDir, SUMMARY_FILE));
    expect(rows).toEqual(result.summaryRows);
    expect(rows.map((r) => r.host)).toEqual(
      [...HOSTS.map((h) => h.name), UNREACHED].sort().concat(FLEET_HOST),
    );
    // Each kept host's row is what the accumulator makes of that host alone.
    for (const h of HOSTS) {
      const row = rows.find((r) => r.host === h.name)!;
      if (h.status === 'failed') continue;
      const alone = new SummaryAccumulator();
      for (const e of parsed.get(h.name)!) alone.add(h.name, e);
      expect(row, h.name).toEqual(alone.rows()[0]);
      expect(Number(row.events)).toBeGreaterThan(0);
    }
    for (const host of ['dead', UNREACHED]) {
      const row = rows.find((r) => r.host === host)!;
      for (const c of SUMMARY_COLUMNS.filter((c) => c !== 'host')) {
        expect(row[c], `${host} ${c}`).toBe(c === 'first_event' || c === 'last_event' ? '' : '0');
      }
    }
    const all = rows.at(-1)!;
    const hostRows = rows.slice(0, -1);
    for (const c of SUMMARY_COLUMNS) {
      if (c === 'host' || c === 'first_event' || c === 'last_event' || c === 'executables' || c === 'keys')
        continue;
      expect(Number(all[c]), c).toBe(hostRows.reduce((sum, r) => sum + Number(r[c]), 0));
    }
    const times = hostRows.flatMap((r) => [r.first_event, r.last_event]).filter((t) => t !== '');
    expect(all.first_event).toBe([...times].sort()[0]);
    expect(all.last_event).toBe([...times].sort().at(-1));
    // The fleet's distinct executables: those of the kept hosts, not of the failed one.
    const fleet = new SummaryAccumulator();
    for (const host of KEPT) for (const e of parsed.get(host)!) fleet.add(host, e);
    expect(all).toEqual(fleet.rows().at(-1));
    expect(result.totals.events).toBe(Number(all.events));
    expect(result.totals.failedLogins).toBe(Number(all.failed_logins));
  });

  it('writes each findings file ordered by (host, time, serial), kept hosts only, with the rows of the parts', () => {
    let total = 0;
    for (const kind of FINDING_KINDS) {
      const rows = readCsv(join(outDir, FINDING_FILES[kind]));
      expect(rows.length, kind).toBe(result.findings[kind]);
      total += rows.length;
      const expected = KEPT.flatMap((host) =>
        parsed
          .get(host)!
          .flatMap((e) => classifyFindings(e, accounts))
          .filter((f) => f.kind === kind)
          .map((f) => asWritten(f.row, FINDING_COLUMNS[kind])),
      );
      expect(rows, kind).toEqual(expected);
      expect([...rows].sort(compareFindingRows), kind).toEqual(rows);
      expect(rows.some((r) => r.host === 'dead' || r.host === UNREACHED)).toBe(false);
    }
    // The corpus has findings; the failed host's are not among them.
    expect(total).toBeGreaterThan(0);
    const deadFindings = parsed.get('dead')!.flatMap((e) => classifyFindings(e, accounts));
    expect(deadFindings.length).toBeGreaterThan(0);
  });

  it('counts the top auth-failure addresses and accounts of the kept hosts only', () => {
    const rows = readCsv(join(outDir, AUTH_FAILURE_TOP_FILE));
    const tops = new AuthFailureTops();
    for (const host of KEPT) {
      for (const e of parsed.get(host)!) for (const f of classifyFindings(e, accounts)) tops.add(f);
    }
    expect(rows).toEqual(tops.rows(10));
    expect(rows.some((r) => r.host === 'dead')).toBe(false);
  });

  it('never lets a host name leave the spool folder: `../../etc/passwd` becomes one safe file name', () => {
    expect(spoolNames.length).toBeGreaterThan(0);
    for (const name of spoolNames) {
      expect(name).not.toContain('/');
      expect(name.startsWith('.')).toBe(false);
    }
    expect(spoolNames.some((n) => n.includes(safeFileName('../../etc/passwd')))).toBe(true);
    expect(safeFileName('../../etc/passwd')).not.toMatch(/^\.|\//);
    expect(safeFileName('..')).toBe('_');
    expect(safeFileName('')).toBe('_');
    // Nothing was written beside the run folder (../../etc/passwd relative to a spool is two levels up).
    expect(readdirSync(root)).toEqual(['run']);
  });

  it('lists every file of the run folder in manifest.json with its SHA-256 and row count, written last', async () => {
    const rows = new Map(result.files.map((f) => [f.name, f.rows]));
    const manifest = await writeManifest(outDir, {
      runId: 'run',
      startedAt: new Date('2026-11-23T08:00:00Z'),
      finishedAt: new Date('2026-11-23T08:05:00Z'),
      window: { since: Date.parse('2026-11-16T00:00:00Z') },
      selection: { include: ['all'], exclude: [], tags: [] },
      inventoryFiles: ['/etc/auditsweep/inventory.yaml'],
      hosts: HOSTS.map((h) => outcome(h.name, h.status)),
      counters: emptyCounters(),
      findings: result.findings,
      warnings: ['host keys were NOT verified'],
      rows,
    });
    const onDisk = JSON.parse(readFileSync(join(outDir, MANIFEST_FILE), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(onDisk).toMatchObject({
      format: 'auditsweep-manifest/1',
      runId: 'run',
      tool: { name: 'auditsweep', version: JSON.parse(readFileSync('package.json', 'utf8')).version },
      startedAt: '2026-11-23T08:00:00.000Z',
      window: { since: '2026-11-16T00:00:00.000Z', until: null },
      warnings: ['host keys were NOT verified'],
      rawManifest: null,
    });
    expect(typeof onDisk.ranBy.user).toBe('string');
    expect(typeof onDisk.ranBy.machine).toBe('string');
    expect(onDisk.hosts.map((h: HostOutcome) => h.host)).toEqual(HOSTS.map((h) => h.name));
    // Every file but the manifest itself; the spool (a dot folder) is not a report file.
    const listed = manifest.files.map((f) => f.name);
    expect(listed).toEqual(
      readdirSync(outDir)
        .filter((f) => !f.startsWith('.') && f !== MANIFEST_FILE)
        .sort(),
    );
    for (const f of manifest.files) {
      const bytes = readFileSync(join(outDir, f.name));
      expect(f.sha256, f.name).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(f.bytes).toBe(bytes.length);
      expect(f.rows, f.name).toBe(readCsv(join(outDir, f.name)).length);
    }
  });
});

describe('ReportSet options and run folders', () => {
  it('starts every CSV with a BOM when asked, and writes header-only findings files for a fleet of failures', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'auditsweep-report-bom-')), 'run');
    const spoolDir = join(outDir, '.spool');
    await mkdir(spoolDir, { recursive: true });
    const set = new ReportSet({ outDir, spoolDir, bom: true });
    const sink = set.openHost('only');
    for (const e of (await parseHost('only', 'enriched')).slice(0, 200)) sink.event(e);
    await sink.finish('failed');
    const result = await set.finish([outcome('only', 'failed')]);
    for (const f of result.files) {
      const text = readFileSync(f.path, 'utf8');
      expect(text.startsWith('\ufeff'), f.name).toBe(true);
      if (f.kind === 'finding') expect(f.rows, f.name).toBe(0);
    }
    expect(readCsv(join(outDir, FINDING_FILES.logins))).toEqual([]);
    expect(result.summaryRows.map((r) => [r.host, r.events])).toEqual([
      ['only', '0'],
      [FLEET_HOST, '0'],
    ]);
  });

  it('refuses to open a host twice or to finish while a host is still open', async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'auditsweep-report-open-')), 'run');
    const set = new ReportSet({ outDir, spoolDir: join(outDir, '.spool') });
    const sink = set.openHost('a');
    expect(() => set.openHost('a')).toThrow(/opened twice/);
    await expect(set.finish([outcome('a', 'ok')])).rejects.toThrow(/still open/);
    await sink.finish('ok');
    await expect(sink.finish('ok')).rejects.toThrow(/finished twice/);
  });

  it('claims a fresh run folder: a sanitised run id, and a suffix when the name is taken, never an earlier run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'auditsweep-runs-'));
    const id = makeRunId(new Date('2026-11-23T08:00:00.123Z'));
    expect(id).toBe('2026-11-23T080000Z');
    const first = await claimRunFolder(root, id);
    const second = await claimRunFolder(root, id);
    const third = await claimRunFolder(root, id);
    expect([first.runId, second.runId, third.runId]).toEqual([id, `${id}-2`, `${id}-3`]);
    expect(second.dir).toBe(join(root, `${id}-2`));
    const hostile = await claimRunFolder(root, '../../etc');
    expect(hostile.dir.startsWith(`${root}/`)).toBe(true);
    expect(hostile.runId).not.toContain('/');
    expect(readdirSync(root).sort()).toEqual([id, `${id}-2`, `${id}-3`, hostile.runId].sort());
  });
});

describe('merging per-host counts', () => {
  it('SummaryAccumulator.merge of per-host accumulators equals one accumulator fed every event', async () => {
    const a = await parseHost('a', 'enriched');
    const b = await parseHost('b', 'raw');
    const one = new SummaryAccumulator();
    for (const e of a) one.add('a', e);
    for (const e of b) one.add('b', e);
    const merged = new SummaryAccumulator();
    for (const [host, events] of [
      ['a', a],
      ['b', b],
      ['a', a.slice(0, 0)],
    ] as const) {
      const part = new SummaryAccumulator();
      part.addHost(host);
      for (const e of events) part.add(host, e);
      merged.merge(part);
    }
    expect(merged.rows()).toEqual(one.rows());
    // A capped host keeps the fleet's distinct count marked as a lower bound.
    const capped = new SummaryAccumulator({ distinctCap: 2 });
    const part = new SummaryAccumulator({ distinctCap: 2 });
    for (const e of a) part.add('a', e);
    capped.merge(part);
    expect(capped.rows().at(-1)!.executables).toMatch(/^≥/);
  });

  it('TopN.merge keeps exact counts exact and bounds the counts of a sketch', () => {
    const values = Array.from({ length: 400 }, (_, i) => `v${(i * i) % 37}`);
    const whole = new TopN(100);
    for (const v of values) whole.add(v);
    const merged = new TopN(100);
    for (const half of [values.slice(0, 150), values.slice(150)]) {
      const t = new TopN(100);
      for (const v of half) t.add(v);
      merged.merge(t);
    }
    expect(merged.top(100)).toEqual(whole.top(100));
    expect(merged.total).toBe(values.length);
    expect(merged.exact).toBe(true);
    // Small sketches: every reported count is an upper bound, count − overcount a lower bound.
    const truth = new Map<string, number>();
    for (const v of values) truth.set(v, (truth.get(v) ?? 0) + 1);
    const sketch = new TopN(8);
    for (const part of [values.slice(0, 200), values.slice(200)]) {
      const t = new TopN(8);
      for (const v of part) t.add(v);
      sketch.merge(t);
    }
    expect(sketch.exact).toBe(false);
    for (const e of sketch.top(8)) {
      const n = truth.get(e.value) ?? 0;
      expect(e.count).toBeGreaterThanOrEqual(n);
      expect(e.count - e.maxOvercount).toBeLessThanOrEqual(n);
    }
  });

  it('AuthFailureTops.merge of per-host tops equals one fed every finding', async () => {
    const a = (await parseHost('a', 'enriched')).flatMap((e) => classifyFindings(e, accounts));
    const b = (await parseHost('b', 'raw')).flatMap((e) => classifyFindings(e, accounts));
    const one = new AuthFailureTops();
    for (const f of [...a, ...b]) one.add(f);
    const merged = new AuthFailureTops();
    for (const list of [a, b]) {
      const part = new AuthFailureTops();
      for (const f of list) part.add(f);
      merged.merge(part);
    }
    expect(merged.rows()).toEqual(one.rows());
    expect(one.rows().length).toBeGreaterThan(0);
  });
});

// Keeps the kind list honest if a kind is added: every kind has a file and columns.
it('has a file and columns for every finding kind', () => {
  for (const kind of FINDING_KINDS as readonly FindingKind[]) {
    expect(FINDING_FILES[kind]).toBe(`findings-${kind}.csv`);
    expect(FINDING_COLUMNS[kind].length).toBeGreaterThan(0);
  }
});
