/**
 * Findings against the golden `aureport` (audit 3.0.9) listings of every log of the real corpus: `-au`, `-l`,
 * `-m`, `-k` line by line (serial, time, account, address, terminal, exe, result, key), `--summary` and
 * `--failed` for the kinds that have no listing there (anomalies, configuration changes).
 *
 * Mapped differences, each checked explicitly:
 *  - auth-failures = the "no" lines of -au and of -l, plus failed USER_ACCT / GRP_AUTH events (a PAM account check
 *    that refused a login is a failure aureport's -au stopped listing), minus failed USER_MGMT events (aureport
 *    lists those under -au; they are account changes). The corpus has none of the three: the sets are equal.
 *  - account-changes = -m, plus CHGRP_ID and GRP_CHAUTHTOK (none in the corpus).
 *  - audit-config = aureport's "changes in configuration" events plus auditd's own DAEMON_START/END/ROTATE/….
 *  - key: aureport prints the first key of an event; we keep all, joined by ','.
 *  - empty values: aureport prints '?'; we leave the cell empty.
 */
import { describe, expect, it } from 'vitest';
import { Reassembler } from '../../src/parse/reassemble.js';
import { buildRow } from '../../src/parse/row.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import {
  AUTH_FAILURE_TOP_COLUMNS,
  AuthFailureTops,
  classifyFindings,
  compareFindingRows,
  FINDING_BASE_COLUMNS,
  FINDING_COLUMNS,
  FINDING_FILES,
  FINDING_KINDS,
  type Finding,
  type FindingKind,
  type FindingRow,
  TopN,
} from '../../src/report/findings.js';
import type { AuditEvent, ParsedEvent } from '../../src/types.js';
import {
  accounts,
  type ListingLine,
  LOGS,
  orQuestion,
  parseCorpusLog,
  readListing,
  readSummary,
  toSecond,
  VARIANTS,
} from './aureport-golden.js';

function findingsOf(events: readonly ParsedEvent[]): Record<FindingKind, FindingRow[]> {
  const byKind = Object.fromEntries(FINDING_KINDS.map((k) => [k, [] as FindingRow[]])) as Record<
    FindingKind,
    FindingRow[]
  >;
  for (const e of events) for (const f of classifyFindings(e, accounts())) byKind[f.kind].push(f.row);
  return byKind;
}

/** The host aureport prints: hostname=, or addr= when the hostname is '?'. */
function aureportHost(row: FindingRow): string {
  return orQuestion(row.hostname || row.address);
}

function yesNo(result: string | undefined): string {
  return result === 'success' ? 'yes' : result === 'failed' ? 'no' : '?';
}

function bySerial(rows: readonly FindingRow[]): Map<string, FindingRow> {
  const map = new Map<string, FindingRow>();
  for (const r of rows) {
    expect(map.has(r.serial!), `one row per event and kind (${r.serial})`).toBe(false);
    map.set(r.serial!, r);
  }
  return map;
}

/** Finds the row of a listing line: same serial and second. */
function rowFor(rows: ReadonlyMap<string, FindingRow>, line: ListingLine, what: string): FindingRow {
  const row = rows.get(line.serial);
  expect(row, `${what}: event ${line.serial} is a finding`).toBeDefined();
  expect(toSecond(row!.time!), `${what} ${line.serial}: time`).toBe(line.time);
  return row!;
}

describe('findings agree with the aureport listings of the real corpus', () => {
  for (const variant of VARIANTS) {
    for (const log of LOGS) {
      it(`${variant}/${log}: -au, -l, -m, -k, --failed`, async () => {
        const { path, events } = await parseCorpusLog(variant, log);
        const found = findingsOf(events);
        const authFailures = bySerial(found['auth-failures']);
        const logins = bySerial(found.logins);
        const accountChanges = bySerial(found['account-changes']);
        const watched = bySerial(found['watched-files']);

        // -au: acct host term exe success. Its "no" lines are auth-failures.
        const au = readListing(`${path}.aureport-auth.txt`);
        for (const line of au) {
          const [acct, host, term, exe, success] = line.cells;
          if (success === 'yes') {
            expect(authFailures.has(line.serial), `-au yes ${line.serial}`).toBe(false);
            continue;
          }
          const row = rowFor(authFailures, line, '-au');
          expect(row.event_type).toBe('USER_AUTH');
          expect([
            row.account,
            aureportHost(row),
            orQuestion(row.terminal),
            row.exe,
            yesNo(row.result),
          ]).toEqual([acct, host, term, exe, success]);
        }

        // -l: auid-or-acct host term exe success. "yes" lines are logins, "no" lines auth-failures.
        const l = readListing(`${path}.aureport-login.txt`);
        for (const line of l) {
          const [who, host, term, exe, success] = line.cells;
          const row = rowFor(success === 'yes' ? logins : authFailures, line, `-l ${success}`);
          expect(row.event_type).toBe('USER_LOGIN');
          expect([
            row.account,
            aureportHost(row),
            orQuestion(row.terminal),
            row.exe,
            yesNo(row.result),
          ]).toEqual([who, host, term, exe, success]);
        }
        expect(found.logins.length).toBe(l.filter((x) => x.cells[4] === 'yes').length);

        // Mapped: auth-failures = "no" lines of -au and -l + failed USER_ACCT/GRP_AUTH (− failed USER_MGMT).
        const goldenFailures = new Set(
          [...au, ...l].filter((x) => x.cells.at(-1) === 'no').map((x) => x.serial),
        );
        const extra = found['auth-failures'].filter((r) => !goldenFailures.has(r.serial!));
        expect(extra.filter((r) => r.event_type !== 'USER_ACCT' && r.event_type !== 'GRP_AUTH')).toEqual([]);
        expect(found['auth-failures'].length - extra.length).toBe(goldenFailures.size);

        // -m: auid addr term exe acct success, every line an account change, and nothing else (+ mapped types).
        const m = readListing(`${path}.aureport-mods.txt`);
        for (const line of m) {
          const [auid, addr, term, exe, acct, success] = line.cells;
          const row = rowFor(accountChanges, line, '-m');
          expect([row.auid, aureportHost(row), orQuestion(row.terminal), row.exe, yesNo(row.result)]).toEqual(
            [auid, addr, term, exe, success],
          );
          // aureport prints acct= only; where the tool wrote an id= instead, ours names that account or group.
          if (acct !== '?') expect(row.account).toBe(acct);
          else expect(row.account, `-m ${line.serial} names the account from its id`).not.toBe('');
        }
        const extraMods = found['account-changes'].filter((r) => !m.some((x) => x.serial === r.serial));
        expect(
          extraMods.filter((r) => r.event_type !== 'CHGRP_ID' && r.event_type !== 'GRP_CHAUTHTOK'),
        ).toEqual([]);

        // -k: key success exe auid; one line per event whose first key is not (null), and no other.
        const k = readListing(`${path}.aureport-keys.txt`);
        for (const line of k) {
          const [key, success, exe, auid] = line.cells;
          const row = rowFor(watched, line, '-k');
          // Mapped: aureport prints the first key, we keep them all.
          expect([row.key!.split(',')[0], yesNo(row.result), orQuestion(row.exe), row.account]).toEqual([
            key,
            success,
            exe,
            auid,
          ]);
        }
        expect(found['watched-files'].length).toBe(k.length);

        // --summary: the kinds aureport only counts.
        const summary = readSummary(`${path}.aureport-summary.txt`);
        expect(found.anomalies.length).toBe(summary.counts.get('anomaly events'));
        expect(found['mac-denials'].length).toBe(summary.counts.get("AVC's"));
        const daemon = found['audit-config'].filter((r) => r.event_type!.startsWith('DAEMON_'));
        expect(daemon.length).toBeGreaterThan(0);
        // Mapped: + auditd's own start/stop/rotate events.
        expect(found['audit-config'].length - daemon.length).toBe(
          summary.counts.get('changes in configuration'),
        );

        // --failed: the failed events by kind.
        const failed = readSummary(`${path}.aureport-failed.txt`);
        const failedOf = (rows: readonly FindingRow[], type?: string) =>
          rows.filter((r) => r.result === 'failed' && (type === undefined || r.event_type === type)).length;
        expect(failedOf(found['auth-failures'], 'USER_LOGIN')).toBe(failed.counts.get('failed logins'));
        expect(failedOf(found['auth-failures'], 'USER_AUTH')).toBe(
          failed.counts.get('failed authentications'),
        );
        expect(failedOf(found['account-changes'])).toBe(
          failed.counts.get('changes to accounts, groups, or roles'),
        );
        expect(failedOf(found['audit-config'])).toBe(failed.counts.get('changes in configuration'));
        expect(failedOf(found.anomalies)).toBe(failed.counts.get('anomaly events'));

        // Rows are in (host, time, serial) order as the parser emits them, with their kind's columns.
        for (const kind of FINDING_KINDS) {
          const rows = found[kind];
          expect([...rows].sort(compareFindingRows)).toEqual(rows);
          for (const row of rows) expect(Object.keys(row)).toEqual([...FINDING_COLUMNS[kind]]);
        }
      });
    }
  }

  it('lists sudo commands and su sessions as privilege use, failed ones included', async () => {
    const { events } = await parseCorpusLog('enriched', 'audit.log.1');
    const rows = findingsOf(events).privilege;
    const summary = rows.map((r) => [r.event_type, r.result, r.account, r.target, r.command, r.exe]);
    expect(summary).toEqual([
      ['USER_CMD', 'success', 'alice', '', 'id', '/usr/bin/sudo'],
      ['USER_CMD', 'success', 'alice', '', 'cat /etc/sudoers.d/50-corpus-alice', '/usr/bin/sudo'],
      ['USER_CMD', 'failed', 'alice', '', 'true', '/usr/bin/sudo'],
      ['USER_CMD', 'failed', 'alice', '', 'id', '/usr/bin/sudo'],
      ['USER_CMD', 'failed', 'bob', '', 'cat /etc/shadow', '/usr/bin/sudo'],
      ['USER_START', 'success', 'bob', 'alice', '', '/usr/bin/su'],
      ['USER_AUTH', 'failed', 'bob', 'root', '', '/usr/bin/su'],
      ['USER_CMD', 'success', 'alice', '', '/usr/sbin/insmod /tmp/corpus-dummy.ko', '/usr/bin/sudo'],
    ]);
  });

  it('names the FINDING_FILES and starts every column list with the fields alert rules test', () => {
    for (const kind of FINDING_KINDS) {
      expect(FINDING_FILES[kind]).toBe(`findings-${kind}.csv`);
      expect(FINDING_COLUMNS[kind].slice(0, FINDING_BASE_COLUMNS.length)).toEqual([...FINDING_BASE_COLUMNS]);
      expect(new Set(FINDING_COLUMNS[kind]).size).toBe(FINDING_COLUMNS[kind].length);
    }
  });
});

/** Parses lines into events with rows (host `h`). */
function parsedOf(text: string): ParsedEvent[] {
  const events: AuditEvent[] = [];
  const r = new Reassembler({ event: (e) => events.push(e), issue: () => {} });
  text
    .trim()
    .split('\n')
    .forEach((line, i) => {
      const { record, issue } = tokenizeLine(line.trim(), 'test.log', i + 1);
      expect(issue).toBeUndefined();
      if (record) r.push(record);
    });
  r.flush();
  return events.map((event) => ({ event, row: buildRow(event, { host: 'h' }) }));
}

function kindsOf(text: string): Array<[FindingKind, FindingRow]> {
  return parsedOf(text).flatMap((p) =>
    classifyFindings(p).map((f): [FindingKind, FindingRow] => [f.kind, f.row]),
  );
}

describe('classifyFindings on records the corpus does not have', () => {
  it('reports SELinux and AppArmor denials, not granted AVCs', () => {
    const found = kindsOf(`
      type=AVC msg=audit(1795396000.100:1): avc:  denied  { read } for  pid=1234 comm="cat" name="shadow" dev="dm-0" ino=123 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:shadow_t:s0 tclass=file permissive=0
      type=SYSCALL msg=audit(1795396000.100:1): arch=c000003e syscall=257 success=no exit=-13 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=1234 auid=4294967295 uid=48 gid=48 euid=48 suid=48 fsuid=48 egid=48 sgid=48 fsgid=48 tty=(none) ses=4294967295 comm="cat" exe="/usr/bin/cat" key=(null)
      type=AVC msg=audit(1795396000.200:2): avc:  granted  { setenforce } for  pid=1 comm="setenforce" scontext=a tcontext=b tclass=security
      type=APPARMOR_DENIED msg=audit(1795396000.300:3): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/shadow" pid=1 comm="cupsd" requested_mask="r" denied_mask="r" fsuid=0 ouid=0
    `);
    const denials = found.filter(([k]) => k === 'mac-denials').map(([, r]) => r);
    expect(
      denials.map((r) => [r.serial, r.event_type, r.result, r.subject, r.permission, r.object, r.class]),
    ).toEqual([
      ['1', 'AVC', 'failed', 'system_u:system_r:httpd_t:s0', 'read', 'system_u:object_r:shadow_t:s0', 'file'],
      ['3', 'APPARMOR_DENIED', '', '/usr/sbin/cupsd', 'r', '/etc/shadow', ''],
    ]);
  });

  it('reports a failed PAM account check as an auth failure and user-space anomalies as anomalies', () => {
    const found = kindsOf(`
      type=USER_ACCT msg=audit(1795396000.100:1): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting grantors=? acct="mallory" exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed'
      type=ANOM_LOGIN_FAILURES msg=audit(1795396000.200:2): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=? terminal=? res=success'
      type=USER_MGMT msg=audit(1795396000.300:3): pid=1 uid=0 auid=0 ses=1 msg='op=changing-shell acct="bob" exe="/usr/bin/chsh" hostname=? addr=? terminal=pts/0 res=failed'
    `);
    expect(found.map(([k, r]) => [k, r.event_type, r.account, r.address, r.result])).toEqual([
      ['auth-failures', 'USER_ACCT', 'mallory', '203.0.113.9', 'failed'],
      ['anomalies', 'ANOM_LOGIN_FAILURES', 'unset', '', 'success'],
      ['account-changes', 'USER_MGMT', 'bob', '', 'failed'],
    ]);
  });

  it('reports auditd configuration and its own start and stop, with the rule key', () => {
    const found = kindsOf(`
      type=DAEMON_START msg=audit(1795396000.100:1): op=start ver=3.0.9 format=raw kernel=6.1 auid=4294967295 pid=1 uid=0 ses=4294967295 res=success
      type=CONFIG_CHANGE msg=audit(1795396000.200:2): auid=4001 ses=3 op=add_rule key="sudoers" list=4 res=1
      type=SYSCALL msg=audit(1795396000.200:2): arch=c000003e syscall=44 success=yes exit=1060 a0=3 a1=1 a2=424 a3=0 items=0 ppid=1 pid=2 auid=4001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="auditctl" exe="/usr/sbin/auditctl" key=(null)
      type=PROCTITLE msg=audit(1795396000.200:2): proctitle=617564697463746C
    `);
    expect(found.map(([k, r]) => [k, r.event_type, r.account, r.key, r.exe, r.result])).toEqual([
      ['audit-config', 'DAEMON_START', 'unset', '', '', 'success'],
      ['watched-files', 'CONFIG_CHANGE', '4001', 'sudoers', '/usr/sbin/auditctl', 'success'],
      ['audit-config', 'CONFIG_CHANGE', '4001', 'sudoers', '/usr/sbin/auditctl', 'success'],
    ]);
    expect(found.map(([, r]) => r.op)).toEqual(['start', undefined, 'add_rule']);
  });

  it('returns nothing for the common event', () => {
    expect(
      kindsOf(`
        type=SYSCALL msg=audit(1795396000.100:1): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2 auid=4001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm="id" exe="/usr/bin/id" key=(null)
        type=PROCTITLE msg=audit(1795396000.100:1): proctitle=6964
      `),
    ).toEqual([]);
  });
});

describe('TopN', () => {
  it('counts exactly up to its capacity, ordered by count then value', () => {
    const top = new TopN(3);
    for (const v of ['b', 'a', 'c', 'a', 'b', 'a']) top.add(v);
    expect(top.exact).toBe(true);
    expect(top.total).toBe(6);
    expect(top.top(5)).toEqual([
      { value: 'a', count: 3, maxOvercount: 0 },
      { value: 'b', count: 2, maxOvercount: 0 },
      { value: 'c', count: 1, maxOvercount: 0 },
    ]);
    expect(top.top(1).map((e) => e.value)).toEqual(['a']);
  });

  it('keeps the heavy hitters of a stream with far more distinct values than its capacity', () => {
    const top = new TopN(50);
    // 3 attackers among 100 000 one-off addresses, interleaved.
    for (let i = 0; i < 100_000; i++) {
      top.add(`10.0.${i >> 8}.${i & 255}`);
      if (i % 10 === 0) top.add('203.0.113.1');
      if (i % 20 === 0) top.add('203.0.113.2');
      if (i % 40 === 0) top.add('203.0.113.3');
    }
    expect(top.exact).toBe(false);
    const [first, second, third] = top.top(3);
    expect([first?.value, second?.value, third?.value]).toEqual([
      '203.0.113.1',
      '203.0.113.2',
      '203.0.113.3',
    ]);
    // The true counts are 10 000, 5 000, 2 500: each reported count is within its stated overcount.
    for (const [e, truth] of [
      [first, 10_000],
      [second, 5_000],
      [third, 2_500],
    ] as const) {
      expect(e!.count).toBeGreaterThanOrEqual(truth);
      expect(e!.count - e!.maxOvercount).toBeLessThanOrEqual(truth);
    }
  });
});

describe('AuthFailureTops', () => {
  it('ranks source addresses and targeted accounts per host and for the fleet', async () => {
    const tops = new AuthFailureTops();
    const add = async (host: string, variant: string, log: string) => {
      const { events } = await parseCorpusLog(variant, log);
      for (const e of events) {
        for (const f of classifyFindings(e)) tops.add({ kind: f.kind, row: { ...f.row, host } } as Finding);
      }
    };
    await add('web-01', 'enriched', 'audit.log.2');
    await add('web-02', 'enriched', 'audit.log');
    const rows = tops.rows(3);
    expect(Object.keys(rows[0]!)).toEqual([...AUTH_FAILURE_TOP_COLUMNS]);
    const pick = (host: string, dimension: string) =>
      rows.filter((r) => r.host === host && r.dimension === dimension).map((r) => [r.value, r.failures]);
    // audit.log.2: 6 failed USER_AUTH + 11 failed USER_LOGIN, all from 127.0.0.1.
    expect(pick('web-01', 'address')).toEqual([['127.0.0.1', '17']]);
    expect(pick('web-01', 'account')).toEqual([
      ['bob', '8'],
      ['(invalid user)', '6'],
      ['admin', '1'],
    ]);
    expect(pick('web-02', 'address')).toEqual([['127.0.0.1', '8']]);
    expect(pick('(all)', 'address')).toEqual([['127.0.0.1', '25']]);
    expect(rows.every((r) => r.max_overcount === '0')).toBe(true);
  });
});
