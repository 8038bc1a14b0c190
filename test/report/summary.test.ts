/**
 * summary.csv against `aureport --summary -i` and `aureport --summary --failed -i` (audit 3.0.9) on every log of
 * the real corpus: each count is equal, or equal through one of the mappings below, each explained.
 *
 * Mapped differences:
 *  - events / failed_events: aureport counts ausearch's events, which cut a kernel LOGIN record (1006) off the
 *    SYSCALL + PROCTITLE that share its id (parse/normalize/ausearch-split.ts). We count one event per auditd
 *    event (one row of events.csv). aureport's number = ours + the extra parts of split events (+ the extra failed
 *    parts, for --failed).
 *  - first_event: aureport's range starts at the first event it *reads*; DAEMON_START is written first but is
 *    stamped after the kernel record that follows it, so the range of audit.log.2 starts 6 ms after the earliest
 *    event. Ours is the earliest event; aureport's is the first line's.
 * Every other count is compared as is.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ausearchParts } from '../../src/parse/normalize/index.js';
import { FAILED, scanParts } from '../../src/report/aureport-rules.js';
import {
  FLEET_HOST,
  SUMMARY_COLUMNS,
  SummaryAccumulator,
  type SummaryColumn,
  type SummaryRow,
} from '../../src/report/summary.js';
import type { AuditEvent, ParsedEvent } from '../../src/types.js';
import { LOGS, parseCorpusLog, readSummary, VARIANTS } from './aureport-golden.js';

/** Our column → the "Number of …" line of aureport --summary that has the same meaning. */
const SAME_AS_AUREPORT: ReadonlyArray<readonly [SummaryColumn, string]> = [
  ['logins', 'logins'],
  ['failed_logins', 'failed logins'],
  ['authentications', 'authentications'],
  ['failed_authentications', 'failed authentications'],
  ['account_changes', 'changes to accounts, groups, or roles'],
  ['config_changes', 'changes in configuration'],
  ['failed_syscalls', 'failed syscalls'],
  ['anomalies', 'anomaly events'],
  ['mac_events', 'MAC events'],
  ['avcs', "AVC's"],
  ['executables', 'executables'],
  ['keys', 'keys'],
];

/** Events ausearch/aureport make of ours beyond one each (the LOGIN split). */
function extraParts(event: AuditEvent): number {
  return ausearchParts(event).length - 1;
}

/** Failed aureport events of ours beyond the first failed one (a split event whose two parts both failed). */
function extraFailedParts(event: AuditEvent): number {
  let failed = 0;
  scanParts(event, (part) => {
    if (part.success === FAILED) failed++;
  });
  return Math.max(0, failed - 1);
}

function summarize(host: string, events: readonly ParsedEvent[]): SummaryRow {
  const acc = new SummaryAccumulator();
  for (const e of events) acc.add(host, e);
  const rows = acc.rows();
  expect(rows.map((r) => r.host)).toEqual([host, FLEET_HOST]);
  return rows[0]!;
}

/** Epoch ms of the first record line of a log: where aureport's "Range of time in logs" starts. */
function firstLineTime(path: string): number {
  const line = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const m = /msg=audit\((\d+)\.(\d+):/.exec(line);
  return Number(m?.[1]) * 1000 + Number(m?.[2]);
}

describe('summary.csv agrees with aureport --summary on the real corpus', () => {
  for (const variant of VARIANTS) {
    for (const log of LOGS) {
      it(`${variant}/${log}: every count, the LOGIN split mapped`, async () => {
        const { path, events, issues } = await parseCorpusLog(variant, log);
        expect(issues).toEqual([]);
        const golden = readSummary(`${path}.aureport-summary.txt`);
        const failedGolden = readSummary(`${path}.aureport-failed.txt`);
        const row = summarize(`${variant}/${log}`, events);

        for (const [ours, theirs] of SAME_AS_AUREPORT) {
          expect(row[ours], `${ours} vs "Number of ${theirs}"`).toBe(String(golden.counts.get(theirs)));
        }

        // Mapped: aureport's events = ours + the extra parts of LOGIN-split events.
        const split = events.reduce((n, e) => n + extraParts(e.event), 0);
        expect(split, 'this log has LOGIN-split events').toBeGreaterThan(0);
        expect(Number(row.events)).toBe(events.length);
        expect(Number(row.events) + split).toBe(golden.counts.get('events'));
        // Mapped the same way: aureport --failed's events.
        const failedSplit = events.reduce((n, e) => n + extraFailedParts(e.event), 0);
        expect(Number(row.failed_events) + failedSplit).toBe(failedGolden.counts.get('events'));
        // --failed counts only failed events: its failed syscalls, logins and authentications are ours.
        expect(row.failed_syscalls).toBe(String(failedGolden.counts.get('failed syscalls')));
        expect(row.failed_logins).toBe(String(failedGolden.counts.get('failed logins')));
        expect(row.failed_authentications).toBe(String(failedGolden.counts.get('failed authentications')));

        // Mapped: the time range. aureport starts at the first line it read, ends at the last event it read.
        expect(Date.parse(row.last_event)).toBe(golden.rangeEnd);
        expect(golden.rangeStart).toBe(firstLineTime(path));
        const earliest = Math.min(...events.map((e) => e.event.sec * 1000 + e.event.ms));
        expect(Date.parse(row.first_event)).toBe(earliest);
        expect(earliest).toBeLessThanOrEqual(golden.rangeStart);
      });
    }
  }
});

describe('SummaryAccumulator', () => {
  it('gives one row per host, sorted, and a fleet row that sums them and counts distinct values once', async () => {
    const a = await parseCorpusLog('enriched', 'audit.log.2');
    const b = await parseCorpusLog('raw', 'audit.log');
    const acc = new SummaryAccumulator();
    acc.addHost('web-03');
    // Interleaved hosts, as a fleet sweep delivers them.
    const n = Math.max(a.events.length, b.events.length);
    for (let i = 0; i < n; i++) {
      const ea = a.events[i];
      const eb = b.events[i];
      if (eb) acc.add('web-02', eb);
      if (ea) acc.add('web-01', ea);
    }
    const rows = acc.rows();
    expect(rows.map((r) => r.host)).toEqual(['web-01', 'web-02', 'web-03', FLEET_HOST]);
    expect(Object.keys(rows[0]!)).toEqual([...SUMMARY_COLUMNS]);
    const [one, two, empty, all] = rows as [SummaryRow, SummaryRow, SummaryRow, SummaryRow];
    expect(one).toEqual(summarize('web-01', a.events));
    expect(two).toEqual(summarize('web-02', b.events));
    expect(empty).toMatchObject({ host: 'web-03', events: '0', first_event: '', last_event: '', keys: '0' });
    for (const col of SUMMARY_COLUMNS) {
      if (['host', 'first_event', 'last_event', 'executables', 'keys'].includes(col)) continue;
      expect(all[col], col).toBe(String(Number(one[col]) + Number(two[col])));
    }
    expect(all.first_event).toBe(one.first_event);
    expect(all.last_event).toBe(two.last_event);
    // Both hosts ran the same programs and rules: the union is not the sum.
    const union = (col: 'executables' | 'keys') => Number(all[col]);
    expect(union('keys')).toBeGreaterThanOrEqual(Math.max(Number(one.keys), Number(two.keys)));
    expect(union('keys')).toBeLessThan(Number(one.keys) + Number(two.keys));
    expect(union('executables')).toBeLessThan(Number(one.executables) + Number(two.executables));
  });

  it('stops counting distinct values at the cap and says so with ≥', async () => {
    const { events } = await parseCorpusLog('enriched', 'audit.log.1');
    const acc = new SummaryAccumulator({ distinctCap: 5 });
    for (const e of events) acc.add('h', e);
    const [row, all] = acc.rows() as [SummaryRow, SummaryRow];
    expect(row.executables).toBe('≥5');
    expect(row.keys).toBe('≥5');
    expect(all.executables).toBe('≥5');
    expect(row.events).toBe(String(events.length));
  });

  it('counts a kernel LOGIN event once, and its SYSCALL part the way aureport does', () => {
    // LOGIN + SYSCALL (failed read, then a failed write) + PROCTITLE with one id: aureport sees [LOGIN] and
    // [SYSCALL, PROCTITLE].
    const records = (syscall: number) =>
      [
        'type=LOGIN msg=audit(1795396000.100:7): pid=1 uid=0 subj=unconfined old-auid=4294967295 auid=4001 tty=(none) old-ses=4294967295 ses=5 res=1',
        `type=SYSCALL msg=audit(1795396000.100:7): arch=c000003e syscall=${syscall} success=no exit=-13 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2 auid=4001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=5 comm="sshd" exe="/usr/sbin/sshd" key="logins"`,
        'type=PROCTITLE msg=audit(1795396000.100:7): proctitle=737368640000',
      ].join('\n');
    const summaryOf = (text: string) => {
      const acc = new SummaryAccumulator();
      const event = eventOf(text);
      acc.addEvent('h', event);
      return { row: acc.rows()[0]!, parts: ausearchParts(event).length };
    };
    const write = summaryOf(records(1));
    expect(write.parts).toBe(2);
    expect(write.row).toMatchObject({ events: '1', failed_syscalls: '1', failed_events: '1', keys: '1' });
    expect(write.row.executables).toBe('1');
    // syscall 0 (read on x86_64) is not a failed syscall for aureport (it tests syscall > 0).
    expect(summaryOf(records(0)).row).toMatchObject({ failed_syscalls: '0', failed_events: '1' });
  });
});

import { Reassembler } from '../../src/parse/reassemble.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';

/** The one event made of these lines. */
function eventOf(text: string): AuditEvent {
  const events: AuditEvent[] = [];
  const r = new Reassembler({ event: (e) => events.push(e), issue: () => {} });
  text.split('\n').forEach((line, i) => {
    const { record } = tokenizeLine(line, 'test.log', i + 1);
    if (record) r.push(record);
  });
  r.flush();
  expect(events).toHaveLength(1);
  return events[0]!;
}
