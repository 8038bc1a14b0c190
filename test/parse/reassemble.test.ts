import { describe, expect, it } from 'vitest';
import { type CloseReason, type ReassembleOptions, Reassembler } from '../../src/parse/reassemble.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import type { AuditEvent, AuditRecord, ParseIssue } from '../../src/types.js';

function rec(type: string, stamp: string, body = 'pid=1', node = ''): AuditRecord {
  const line = `${node ? `node=${node} ` : ''}type=${type} msg=audit(${stamp}): ${body}`;
  const { record } = tokenizeLine(line, 'audit.log', 1);
  if (!record) throw new Error(`bad test line ${line}`);
  return record;
}

function run(records: AuditRecord[], options?: ReassembleOptions) {
  const events: { event: AuditEvent; reason: CloseReason }[] = [];
  const issues: ParseIssue[] = [];
  let maxInFlight = 0;
  const r = new Reassembler(
    { event: (event, reason) => events.push({ event, reason }), issue: (i) => issues.push(i) },
    options,
  );
  for (const x of records) {
    r.push(x);
    maxInFlight = Math.max(maxInFlight, r.inFlight);
  }
  r.flush();
  const ids = events.map(({ event }) => `${event.node}${event.sec}.${event.ms}:${event.serial}`);
  const types = events.map(({ event }) => event.records.map((x) => x.type).join('+'));
  return { events, issues, ids, types, maxInFlight };
}

describe('Reassembler', () => {
  it('coalesces a kernel LOGIN with the SYSCALL and PROCTITLE that share its id (ausearch splits them)', () => {
    const { types } = run([
      rec('LOGIN', '1795395984.001:22702'),
      rec('SYSCALL', '1795395984.001:22702', 'arch=c000003e syscall=1'),
      rec('PROCTITLE', '1795395984.001:22702', 'proctitle=737368643A'),
      rec('SYSCALL', '1795395984.001:22703', 'arch=c000003e syscall=59'),
      rec('EXECVE', '1795395984.001:22703', 'argc=1 a0="id"'),
      rec('PROCTITLE', '1795395984.001:22703', 'proctitle=6964'),
    ]);
    expect(types).toEqual(['LOGIN+SYSCALL+PROCTITLE', 'SYSCALL+EXECVE+PROCTITLE']);
  });

  it('emits events in time order even when the log does not (DAEMON_START stamped after the next record)', () => {
    const { ids, events } = run([
      rec('DAEMON_START', '1795395980.143:6912', 'op=start res=success'),
      rec('SYSCALL', '1795395980.137:22611'),
      rec('PROCTITLE', '1795395980.137:22611', 'proctitle=6964'),
    ]);
    expect(ids).toEqual(['1795395980.137:22611', '1795395980.143:6912']);
    expect(events.every((e) => e.reason === 'complete')).toBe(true);
  });

  it('keeps interleaved records of different events apart', () => {
    const { types, ids } = run([
      rec('SYSCALL', '100.000:1'),
      rec('SYSCALL', '100.000:2'),
      rec('PATH', '100.000:1', 'item=0 name="/a"'),
      rec('PATH', '100.000:2', 'item=0 name="/b"'),
      rec('PROCTITLE', '100.000:2', 'proctitle=62'),
      rec('PROCTITLE', '100.000:1', 'proctitle=61'),
    ]);
    expect(ids).toEqual(['100.0:1', '100.0:2']);
    expect(types).toEqual(['SYSCALL+PATH+PROCTITLE', 'SYSCALL+PATH+PROCTITLE']);
  });

  it('does not merge a serial reused after a restart, nor the same id from two nodes', () => {
    const { ids } = run([
      rec('SYSCALL', '100.000:5'),
      rec('SYSCALL', '100.000:5', 'pid=2', 'web-02'),
      rec('PROCTITLE', '100.000:5', 'proctitle=61'),
      rec('PROCTITLE', '100.000:5', 'proctitle=61', 'web-02'),
      rec('DAEMON_START', '200.000:1', 'op=start'),
      rec('SYSCALL', '201.000:5'),
      rec('PROCTITLE', '201.000:5', 'proctitle=61'),
    ]);
    expect(ids).toEqual(['100.0:5', 'web-02100.0:5', '200.0:1', '201.0:5']);
  });

  it('closes an event without PROCTITLE once the log is end_of_event_timeout past it', () => {
    const { events } = run([
      rec('ANOM_ABEND', '100.000:1', 'sig=11 res=1'),
      rec('USER_LOGIN', '103.000:2', "msg='res=failed'"),
    ]);
    expect(events.map((e) => e.reason)).toEqual(['timeout', 'complete']);
  });

  it('stays within its in-flight bound on a flood of events that never complete', () => {
    const records: AuditRecord[] = [];
    for (let i = 0; i < 20_000; i++) records.push(rec('SYSCALL', `100.000:${i}`));
    const { events, maxInFlight } = run(records, { maxInFlight: 64 });
    expect(maxInFlight).toBeLessThanOrEqual(64);
    expect(events).toHaveLength(20_000);
    expect(events.filter((e) => e.reason === 'evicted').length).toBe(20_000 - 64);
  });

  it('closes and reports an event that grows past the records-per-event bound', () => {
    const records: AuditRecord[] = [];
    for (let i = 0; i < 50; i++) records.push(rec('PATH', '100.000:1', `item=${i}`));
    const { events, issues } = run(records, { maxRecordsPerEvent: 20 });
    expect(issues.map((i) => i.reason)).toEqual(['event-too-large', 'event-too-large']);
    expect(events.map((e) => e.event.records.length)).toEqual([20, 20, 10]);
  });
});
