import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrichedField, rawField, tokenizeLine } from '../../src/parse/tokenize.js';

const GS = '\u001d';

describe('tokenizeLine', () => {
  it('splits an ENRICHED SYSCALL record into raw and interpreted fields', () => {
    const line =
      'type=SYSCALL msg=audit(1795395980.137:22611): arch=c000003e syscall=44 success=yes exit=60 a0=3 ' +
      'items=0 ppid=7413 pid=7491 auid=4294967295 uid=0 tty=(none) ses=4294967295 comm="auditd" ' +
      `exe="/usr/sbin/auditd" key=(null)${GS}ARCH=x86_64 SYSCALL=sendto AUID="unset" UID="root"`;
    const { record, issue } = tokenizeLine(line, 'audit.log', 2);
    expect(issue).toBeUndefined();
    expect(record).toMatchObject({
      node: '',
      type: 'SYSCALL',
      sec: 1795395980,
      ms: 137,
      serial: 22611,
      line: 2,
    });
    expect(rawField(record!, 'comm')).toBe('"auditd"');
    expect(rawField(record!, 'key')).toBe('(null)');
    expect(rawField(record!, 'tty')).toBe('(none)');
    expect(enrichedField(record!, 'SYSCALL')).toBe('sendto');
    expect(enrichedField(record!, 'AUID')).toBe('unset');
  });

  it('reads the node= prefix and keeps an ENRICHED SADDR with spaces whole', () => {
    const line =
      'node=web-01 type=SOCKADDR msg=audit(1795396047.657:23196): saddr=020008AE7F0000010000000000000000' +
      `${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=2222 }`;
    const { record } = tokenizeLine(line, 'f', 1);
    expect(record?.node).toBe('web-01');
    expect(enrichedField(record!, 'SADDR')).toBe('{ saddr_fam=inet laddr=127.0.0.1 lport=2222 }');
  });

  it("flattens the nested msg='…' of user-space records", () => {
    const line =
      "type=USER_LOGIN msg=audit(1795395987.949:22742): pid=7652 uid=0 auid=4294967295 ses=4294967295 msg='op=login " +
      'acct=28696E76616C6964207573657229 exe="/usr/sbin/sshd" hostname=? addr=127.0.0.1 terminal=sshd res=failed\'' +
      `${GS}UID="root" AUID="unset"`;
    const { record, issue } = tokenizeLine(line, 'f', 1);
    expect(issue).toBeUndefined();
    expect(record!.fields.filter((_, i) => i % 2 === 0)).toEqual([
      'pid',
      'uid',
      'auid',
      'ses',
      'op',
      'acct',
      'exe',
      'hostname',
      'addr',
      'terminal',
      'res',
    ]);
    expect(rawField(record!, 'acct')).toBe('28696E76616C6964207573657229');
    expect(rawField(record!, 'res')).toBe('failed');
  });

  it('keeps an unquoted value with spaces whole (ADD_GROUP op=adding group to /etc/group)', () => {
    const line =
      "type=ADD_GROUP msg=audit(1795395981.157:22667): pid=7511 uid=0 auid=4294967295 ses=4294967295 msg='op=adding " +
      'group to /etc/group id=4100 exe="/usr/sbin/groupadd" hostname=? addr=? terminal=? res=success\'';
    const { record } = tokenizeLine(line, 'f', 1);
    expect(rawField(record!, 'op')).toBe('adding group to /etc/group');
    expect(rawField(record!, 'id')).toBe('4100');
  });

  // Old user-space records (RHEL 5 era, as in audit-userspace's own auparse tests): PAM's `acct=root : exe=…
  // (hostname=?, addr=?, terminal=cron res=success)` and LOGIN's `uid=0 old auid=4294967295 new auid=0`. auparse
  // drops the words without '=' and the punctuation around the values; so do we (ausearch agrees on the events).
  it('reads old PAM and LOGIN records as auparse does: words without = dropped, punctuation left out', () => {
    const pam =
      'type=USER_ACCT msg=audit(1170021601.340:294): user pid=13015 uid=0 auid=4294967295 subj=system_u:system_r:crond_t:s0-s0:c0.c1023 msg=\'PAM: accounting acct=root : exe="/usr/sbin/crond" (hostname=?, addr=?, terminal=cron res=success)\'';
    const { record, issue } = tokenizeLine(pam, 'f', 1);
    expect(issue).toBeUndefined();
    // Name/value pairs, space-separated (the values here have no spaces).
    expect(record!.fields.join(' ')).toBe(
      'pid 13015 uid 0 auid 4294967295 subj system_u:system_r:crond_t:s0-s0:c0.c1023 acct root ' +
        'exe "/usr/sbin/crond" hostname ? addr ? terminal cron res success',
    );
    const login =
      'type=LOGIN msg=audit(1170021601.343:296): login pid=13015 uid=0 old auid=4294967295 new auid=0';
    expect(tokenizeLine(login, 'f', 2).record!.fields.join(' ')).toBe(
      'pid 13015 uid 0 auid 4294967295 auid 0',
    );
  });

  it('keeps the parentheses of (none) and (null), and the colons of an IPv6 address', () => {
    const line =
      'type=USER_LOGIN msg=audit(1700000000.000:1): pid=1 uid=0 auid=4294967295 ses=4294967295 tty=(none) key=(null) msg=\'op=login acct="x" exe="/usr/sbin/sshd" hostname=? addr=fe80:: terminal=ssh res=failed\'';
    const { record } = tokenizeLine(line, 'f', 1);
    expect(rawField(record!, 'tty')).toBe('(none)');
    expect(rawField(record!, 'key')).toBe('(null)');
    expect(rawField(record!, 'addr')).toBe('fe80::');
    expect(rawField(record!, 'op')).toBe('login');
  });

  it('exposes the AVC preamble as seresult and seperms', () => {
    const line =
      'type=AVC msg=audit(1700000000.000:1): avc:  denied  { read write } for  pid=1 comm="x" ' +
      'scontext=a tcontext=b tclass=file permissive=0';
    const { record } = tokenizeLine(line, 'f', 1);
    expect(rawField(record!, 'seresult')).toBe('denied');
    expect(rawField(record!, 'seperms')).toBe('read,write');
    expect(rawField(record!, 'tclass')).toBe('file');
  });

  it.each([
    ['missing-header', 'this is not an audit record'],
    ['missing-header', 'msg=audit(1795395980.137:22611): arch=c000003e'],
    ['bad-header', 'type=SYSCALL msg=audit(17953x5980.137:22611): arch=c000003e'],
    ['bad-header', 'type=SYSCALL msg=audit(1795395980.137): arch=c000003e'],
    ['truncated', 'type=SYSCALL'],
    ['not-text', 'type=SYSCALL msg=audit(1795395980.137:1): \u0000\u0001\u0002 binary'],
    ['not-text', `type=SYSCALL msg=audit(1795395980.137:1): comm="\ufffd"`],
  ])('reports %s for %j', (reason, line) => {
    const result = tokenizeLine(line, 'audit.log', 7);
    expect(result.record).toBeUndefined();
    expect(result.issue).toMatchObject({ file: 'audit.log', line: 7, reason });
  });

  it('keeps a record cut inside a quoted value and reports it as truncated', () => {
    const result = tokenizeLine('type=SYSCALL msg=audit(1795395980.137:5): pid=1 comm="aud', 'f', 3);
    expect(result.record?.serial).toBe(5);
    expect(result.issue?.reason).toBe('truncated');
  });

  it('never throws and always yields a record or an issue, whatever the input', () => {
    const line = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc
        .tuple(fc.constantFrom('', 'node=a ', 'node= '), fc.string({ maxLength: 200 }))
        .map(([n, body]) => `${n}type=SYSCALL msg=audit(1795395980.137:22611): ${body}`),
      fc
        .array(fc.constantFrom('a=', '"', "'", 'msg=', '{', '}', ' ', GS, 'x', '=', "msg='"), {
          maxLength: 60,
        })
        .map((parts) => `type=USER_LOGIN msg=audit(1.000:1): ${parts.join('')}`),
    );
    fc.assert(
      fc.property(line, (l) => {
        const r = tokenizeLine(l, 'f', 1);
        expect(r.record !== undefined || r.issue !== undefined).toBe(true);
        if (r.record) expect(r.record.fields.length % 2).toBe(0);
      }),
      { numRuns: 3000 },
    );
  });
});
