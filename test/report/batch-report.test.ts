/**
 * The row stage's report work (report/batch-report.ts): what batches of events add to the report set, made where
 * the rows are built and added in batch order, must count exactly what the same events counted one by one give,
 * caps and sketches included (a capped distinct count, a full timeline, evicting top lists, the alert group cap,
 * full samples). Real corpus events, small caps so that every cap is reached.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import { AlertEvaluator, type AlertRule } from '../../src/report/alerts.js';
import { type BatchReport, BatchReporter } from '../../src/report/batch-report.js';
import { AuthFailureTops, classifyFindings, FINDING_KINDS } from '../../src/report/findings.js';
import { FindingDigest } from '../../src/report/html-findings.js';
import { SummaryAccumulator } from '../../src/report/summary.js';
import { TimelineAccumulator, TimelineBatch } from '../../src/report/timeline.js';
import type { ParsedEvent } from '../../src/types.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'];
const accounts = parseAccounts(
  readFileSync(join(FIX, 'accounts', 'passwd'), 'utf8'),
  readFileSync(join(FIX, 'accounts', 'group'), 'utf8'),
).maps;

async function parseHost(host: string, variant: string): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const parser = new HostLogParser({ host, accounts }, { event: (e) => events.push(e), issue: () => {} });
  await parseLocalFiles(
    LOGS.map((f) => join(FIX, variant, f)),
    parser,
  );
  return events;
}

const RULES: AlertRule[] = [
  { name: 'by-address', severity: 'high', when: { finding: 'auth-failures', group_by: 'address' } },
  {
    name: 'by-account',
    severity: 'medium',
    when: { finding: 'auth-failures', group_by: 'account', scope: 'fleet' },
  },
  { name: 'by-key', severity: 'low', when: { finding: 'watched-files', group_by: 'key', count_over: 2 } },
  { name: 'root', severity: 'medium', when: { finding: 'logins', account: 'root' } },
  { name: 'config', severity: 'low', when: { finding: 'audit-config', result: 'success', scope: 'fleet' } },
];

/** A run's accumulators, with caps small enough for the corpus to reach. */
function accumulators() {
  return {
    summary: new SummaryAccumulator({ distinctCap: 3 }),
    tops: new AuthFailureTops({ perHost: 2, fleet: 3 }),
    timeline: new TimelineAccumulator(),
    digest: new FindingDigest(7),
    alerts: new AlertEvaluator(RULES, { maxGroups: 2 }),
  };
}

type Run = ReturnType<typeof accumulators>;

function results(run: Run) {
  return {
    summary: run.summary.rows(),
    tops: run.tops.rows(3),
    timeline: run.timeline.result(),
    sections: run.digest.sections(),
    alerts: run.alerts.alerts(),
    warnings: run.alerts.warnings(),
  };
}

function addBatch(run: Run, host: string, report: BatchReport): void {
  if (report.summary !== undefined) run.summary.addDelta(host, report.summary);
  run.tops.addPairs(host, report.authFailures);
  run.timeline.addDelta(host, report.timeline);
  run.digest.addBatch(report.findingRows, report.samples);
  run.alerts.addTally(host, report.alerts);
}

describe('batch reports', () => {
  it('add up, batch by batch and hosts interleaved, to what the events counted one by one give', async () => {
    const hosts = [
      { name: 'web-01', events: await parseHost('web-01', 'enriched') },
      { name: 'web-02', events: await parseHost('web-02', 'raw') },
      { name: 'web-03', events: await parseHost('web-03', 'node-user') },
    ];
    const one = accumulators();
    const batched = accumulators();
    const reporter = new BatchReporter({ accounts, alerts: RULES });
    // Batches of uneven sizes, the hosts taking turns, as the sweep's lanes deliver them.
    const sizes = [1, 97, 13, 250, 2, 64];
    const at = hosts.map(() => 0);
    let turn = 0;
    while (hosts.some((h, i) => at[i]! < h.events.length)) {
      const i = turn % hosts.length;
      const size = sizes[turn % sizes.length]!;
      turn++;
      const h = hosts[i]!;
      const slice = h.events.slice(at[i], at[i]! + size);
      if (slice.length === 0) continue;
      at[i]! += slice.length;
      reporter.begin(h.name, batched.digest.wanted());
      for (const parsed of slice) {
        reporter.add(parsed);
        one.summary.add(h.name, parsed);
        one.timeline.add(h.name, parsed);
        for (const f of classifyFindings(parsed, accounts)) {
          one.tops.add(f);
          one.digest.add(f);
          one.alerts.add(f);
        }
      }
      addBatch(batched, h.name, reporter.take());
    }
    const expected = results(one);
    expect(results(batched)).toEqual(expected);
    // The caps were reached, so the comparison covered them.
    expect(expected.summary.at(-1)!.executables).toMatch(/^≥/);
    expect(expected.tops.some((r) => r.max_overcount !== '0')).toBe(true);
    expect(expected.warnings.length).toBeGreaterThan(0);
    expect(expected.sections.filter((s) => s.count > 7).every((s) => s.sample.length === 7)).toBe(true);
    expect(expected.alerts.map((a) => a.rule)).toEqual(expect.arrayContaining(['by-key', 'config']));
  });

  it('make the same finding rows as the events do, as CSV text per kind', async () => {
    const events = await parseHost('web-01', 'node-user');
    const reporter = new BatchReporter({ accounts, alerts: [] });
    reporter.begin('web-01', 0);
    for (const e of events) reporter.add(e);
    const report = reporter.take();
    const findings = events.flatMap((e) => classifyFindings(e, accounts));
    FINDING_KINDS.forEach((kind, k) => {
      const n = findings.filter((f) => f.kind === kind).length;
      expect(report.findingRows[k], kind).toBe(n);
      expect(report.findingCsv[k] === '', kind).toBe(n === 0);
      if (n > 0) expect(String(report.findingCsv[k]).split('\r\n')).toHaveLength(n + 1);
    });
    expect(report.samples.every((s) => s === null)).toBe(true);
  });
});

describe('timeline deltas', () => {
  it('keep and refuse the same days as event by event, and count failures only on kept days', () => {
    // Events over 12 days against a cap of 5, some untimed, failures spread over hours.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const base = Date.UTC(2026, 10, 1);
    const events = Array.from({ length: 3000 }, (_, i) => ({
      host: `h${i % 3}`,
      t: i % 500 === 7 ? Number.NaN : base + Math.floor(next() * 12 * 86_400_000),
      failed: next() < 0.2,
    }));
    const one = new TimelineAccumulator({ maxDays: 5 });
    const batched = new TimelineAccumulator({ maxDays: 5 });
    for (const e of events) one.addTime(e.host, e.t, e.failed);
    for (let i = 0; i < events.length; ) {
      const host = events[i]!.host;
      const batch = new TimelineBatch();
      while (i < events.length && events[i]!.host === host) {
        batch.add(events[i]!.t, events[i]!.failed);
        i++;
      }
      batched.addDelta(host, batch.take());
    }
    const expected = one.result();
    expect(expected.outOfRange).toBeGreaterThan(0);
    expect(expected.failures.total).toBeGreaterThan(0);
    expect(batched.result()).toEqual(expected);
  });
});
