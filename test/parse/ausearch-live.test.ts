/**
 * Issue #2: "the parser will also meet logs from hosts nobody here has seen". The corpus holds the record types one
 * Debian machine wrote; here the installed ausearch (Debian `auditd`, audit 3.0.9, the same reference the golden
 * files come from) is run on a log written by this test: every record type audit 3.0.9 knows, in a user-space and
 * a kernel shape, and records of other hosts' shapes (RHEL 5 PAM and LOGIN records, an old kernel's lone
 * NETFILTER_CFG, SELinux USER_AVCs, BPF and netlink listeners, MAC records beside their SYSCALL, TTY keystrokes).
 * Every normalized column must agree with ausearch's, but for the differences listed in KNOWN, each with its reason.
 *
 * Ids are named from this machine's own passwd and group, which is what ausearch names them from.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { decodeValue } from '../../src/parse/interpret/fields.js';
import { fieldType } from '../../src/parse/normalize/field-types.js';
import { type NormalizedColumns, normalizeEvent } from '../../src/parse/normalize/index.js';
import { Reassembler } from '../../src/parse/reassemble.js';
import { ENCODED_FIELDS, ESCAPED_FIELDS } from '../../src/parse/tables/escaped-fields.js';
import { recordTypeName } from '../../src/parse/tables/record-types.js';
import { syscallName } from '../../src/parse/tables/syscalls.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import type { AuditEvent } from '../../src/types.js';
import { AUSEARCH_COLUMNS } from '../helpers/ausearch-columns.js';

/**
 * Where we deliberately differ from ausearch 3.0.9, by record type and column:
 *  - TRUSTED_APP: ausearch shows its ids as numbers, calls uid 0 an unknown account and, in the kernel shape,
 *    misses the session and calls `res=1` failed: every other user-space record is read the common way, and so
 *    is this one here.
 *  - SECCOMP's object, in the kernel shape made up here: auparse takes a record's syscall number only from the
 *    field positions a SYSCALL or a real SECCOMP record has it at, and prints `unknown-syscall(-1)` elsewhere; we
 *    name it wherever it is. (The real SECCOMP record below agrees.)
 */
const KNOWN: Readonly<Record<string, readonly (keyof NormalizedColumns)[]>> = {
  TRUSTED_APP: ['session', 'subj_prime', 'subj_sec', 'subj_kind', 'result'],
  SECCOMP: ['obj_prime'],
};

/**
 * Syscalls newer than audit 3.0.9's syscall classes (normalize_syscall_map.h): ausearch 3.0.9 shows an event of
 * theirs as `triggered-audit-rule` with the rule key as object; we classify them as later auparse versions do
 * (open_by_handle_at and pidfd_getfd open a file, fsopen and fsconfig mount, mount_setattr changes a file's
 * attributes, clock_settime64 changes the time), which tells a reviewer more.
 */
const NEWER_SYSCALLS: ReadonlySet<string> = new Set([
  'open_by_handle_at',
  'fsopen',
  'fsconfig',
  'pidfd_getfd',
  'mount_setattr',
  'clock_settime64',
]);

/** A name ausearch cannot find is `unknown(N)`; ours is the number, as the RAW log wrote it. */
function sameText(ours: string, theirs: string): boolean {
  return ours === theirs || /^unknown\((\d+)\)$/.exec(theirs)?.[1] === ours;
}

/** Record types that are parts of a syscall event, never an event alone. */
const PARTS = new Set(['SYSCALL', 'EOE', 'PATH', 'CWD', 'EXECVE', 'PROCTITLE', 'SOCKADDR']);

const syscall = (id: string, nr: number, comm: string, exe: string) =>
  `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=${nr} success=yes exit=1 a0=3 a1=7ffd2c1e a2=1 a3=0 items=0 ppid=1 pid=812 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm="${comm}" exe="${exe}" key=(null)`;

/** Records in the shapes of other hosts and other audit versions (each event's lines, in log order). */
const OTHER_HOSTS: readonly (readonly string[])[] = [
  // RHEL 5: PAM's old message text and the kernel's old LOGIN record.
  [
    `type=USER_ACCT msg=audit(1170021601.340:294): user pid=13015 uid=0 auid=4294967295 subj=system_u:system_r:crond_t:s0-s0:c0.c1023 msg='PAM: accounting acct=root : exe="/usr/sbin/crond" (hostname=?, addr=?, terminal=cron res=success)'`,
  ],
  [
    `type=USER_START msg=audit(1170021601.344:297): user pid=13015 uid=0 auid=0 subj=system_u:system_r:crond_t:s0-s0:c0.c1023 msg='PAM: session open acct=root : exe="/usr/sbin/crond" (hostname=?, addr=?, terminal=cron res=success)'`,
  ],
  ['type=LOGIN msg=audit(1170021601.343:296): login pid=13015 uid=0 old auid=4294967295 new auid=0'],
  // An older kernel's table registration, without a SYSCALL; and one with its comm.
  ['type=NETFILTER_CFG msg=audit(1481076984.827:17): table=filter family=2 entries=0'],
  [
    'type=NETFILTER_CFG msg=audit(1481076984.900:18): table=nat family=2 entries=5 op=xt_register pid=812 comm="iptables"',
  ],
  [
    `type=SYSTEM_BOOT msg=audit(1573844456.144:5): pid=678 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 msg=' comm="systemd-update-utmp" exe="/usr/lib/systemd/systemd-update-utmp" hostname=? addr=? terminal=? res=success'`,
  ],
  [
    `type=VIRT_CONTROL msg=audit(1513507481.075:145): pid=1431 uid=0 auid=100 ses=3 subj=system_u:system_r:container_runtime_t:s0 msg='user=root reason=api op=create vm=? vm-pid=? hostname=? exe="/usr/bin/dockerd-current" addr=? terminal=? res=success'`,
  ],
  // SELinux decisions of user-space object managers (systemd, dbus).
  [
    `type=USER_AVC msg=audit(1700000000.100:31): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { status } for auid=n/a uid=0 gid=0 cmdline="" scontext=system_u:system_r:init_t:s0 tcontext=system_u:system_r:init_t:s0 tclass=system permissive=0  exe="/usr/lib/systemd/systemd" sauid=0 hostname=? addr=? terminal=?'`,
  ],
  [
    `type=USER_AVC msg=audit(1700000000.200:32): pid=812 uid=81 auid=4294967295 ses=4294967295 subj=system_u:system_r:system_dbusd_t:s0-s0:c0.c1023 msg='avc:  received policyload notice (seqno=2)  exe="/usr/bin/dbus-daemon" sauid=81 hostname=? addr=? terminal=?'`,
  ],
  ['type=BPF msg=audit(1700000000.300:33): prog-id=75 op=LOAD'],
  ['type=BPF msg=audit(1700000000.400:34): prog-id=75 op=UNLOAD'],
  [
    'type=BPF msg=audit(1700000000.500:35): prog-id=76 op=LOAD',
    syscall('1700000000.500:35', 321, 'systemd', '/usr/lib/systemd/systemd'),
  ],
  [
    'type=EVENT_LISTENER msg=audit(1700000000.600:36): pid=1 uid=0 auid=4294967295 tty=(none) ses=4294967295 subj=unconfined comm="systemd" exe="/usr/lib/systemd/systemd" nl-mcgrp=1 op=connect res=1',
  ],
  [
    'type=MAC_STATUS msg=audit(1700000000.700:37): enforcing=1 old_enforcing=0 auid=1000 ses=7 enabled=1 old-enabled=1 lsm=selinux res=1',
    syscall('1700000000.700:37', 1, 'setenforce', '/usr/sbin/setenforce'),
  ],
  [
    'type=MAC_POLICY_LOAD msg=audit(1700000000.800:38): auid=1000 ses=7 lsm=selinux res=1',
    syscall('1700000000.800:38', 1, 'load_policy', '/usr/sbin/load_policy'),
  ],
  [
    'type=MAC_CONFIG_CHANGE msg=audit(1700000000.900:39): bool=httpd_can_network_connect val=1 old_val=0 auid=1000 ses=7',
    syscall('1700000000.900:39', 1, 'setsebool', '/usr/sbin/setsebool'),
  ],
  [
    'type=SECCOMP msg=audit(1700000001.100:40): auid=1000 uid=1000 gid=1000 ses=2 subj=unconfined pid=1234 comm="chrome" exe="/opt/google/chrome/chrome" sig=0 arch=c000003e syscall=273 compat=0 ip=0x7f2b3c code=0x50000',
  ],
  // SELinux kernel AVCs without their SYSCALL.
  [
    'type=AVC msg=audit(1700000001.200:41): avc:  granted  { read } for  pid=13010 comm="pickup" name="maildrop" dev="vda1" ino=14911367 scontext=system_u:system_r:postfix_pickup_t:s0 tcontext=system_u:object_r:postfix_spool_maildrop_t:s0 tclass=dir',
  ],
  [
    'type=AVC msg=audit(1700000001.300:42): avc:  denied  { read } for  pid=13010 comm="pickup" name="maildrop" dev="vda1" ino=14911367 tcontext=system_u:object_r:postfix_spool_maildrop_t:s0 tclass=dir',
  ],
  [
    'type=URINGOP msg=audit(1737533617.373:12266329): uring_op=18 success=yes exit=0 items=0 ppid=140504 pid=3178806 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 subj=unconfined key=(null)',
  ],
];

/** Every record type audit 3.0.9 names, once as a user-space message and once in a kernel record's shape. */
function everyType(): string[][] {
  const events: string[][] = [];
  let sec = 1_750_000_000;
  for (let n = 1000; n < 2999; n++) {
    const type = recordTypeName(n);
    if (type === undefined || PARTS.has(type)) continue;
    const id = () => `${sec++}.123:${sec - 1_749_000_000}`;
    if (type === 'AVC') {
      // The kernel writes an SELinux AVC with its preamble; ausearch skips one without (and AppArmor's AVCs).
      events.push([
        `type=AVC msg=audit(${id()}): avc:  denied  { read write } for  pid=13010 comm="pickup" name="maildrop" dev="vda1" ino=14911367 scontext=system_u:system_r:postfix_pickup_t:s0 tcontext=system_u:object_r:postfix_spool_maildrop_t:s0 tclass=dir permissive=0`,
      ]);
      continue;
    }
    events.push([
      `type=${type} msg=audit(${id()}): pid=4242 uid=0 auid=1000 ses=7 subj=unconfined_u:unconfined_r:unconfined_t:s0 msg='op=test-op acct="alice" id=1001 exe="/usr/sbin/sshd" hostname=host1 addr=10.0.0.1 terminal=pts/1 vm="vm1" dev=eth0 table=filter res=success'`,
    ]);
    events.push([
      `type=${type} msg=audit(${id()}): arch=c000003e auid=1000 uid=1000 ses=7 pid=4243 comm="crond" exe="/usr/sbin/crond" op=set feature=x sig=11 code=0x7ffc0000 syscall=59 dev=eth0 prom=256 old_prom=0 table=nat family=2 entries=3 res=1`,
    ]);
  }
  return events;
}

function ausearch(args: readonly string[]): string {
  // Fails loudly when auditd's tools are missing: `npm test` installs them (scripts/ensure-system-deps.mjs).
  return execFileSync('ausearch', args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
}

function ours(path: string): Map<string, NormalizedColumns> {
  const { maps } = parseAccounts(readFileSync('/etc/passwd', 'utf8'), readFileSync('/etc/group', 'utf8'));
  const ctx = { host: 'live', accounts: maps };
  const events: AuditEvent[] = [];
  const reassembler = new Reassembler({
    event: (e) => events.push(e),
    issue: (i) => {
      throw new Error(`unexpected parse issue at line ${i.line}: ${i.reason} ${i.detail}`);
    },
  });
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line === '') return;
      const { record, issue } = tokenizeLine(line, path, i + 1);
      if (record === undefined || issue !== undefined) throw new Error(`line ${i + 1}: ${issue?.detail}`);
      reassembler.push(record);
    });
  reassembler.flush();
  // Keyed by serial: every event of these logs has its own.
  return new Map(events.map((e) => [String(e.serial), normalizeEvent(e, ctx)]));
}

describe('normalized columns against the installed ausearch, on record shapes the corpus does not have', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditsweep-live-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Writes `events` to a log, runs ausearch and our parser on it, and returns the disagreements: those `known`
   * allows (by the event's type, serial and column) apart from the others.
   */
  function compare(
    name: string,
    events: readonly (readonly string[])[],
    known: (type: string, serial: string, col: keyof NormalizedColumns) => boolean,
  ): { differences: string[]; known: string[] } {
    const log = join(dir, name);
    writeFileSync(log, `${events.flat().join('\n')}\n`);
    const theirs = Papa.parse<Record<string, string>>(
      ausearch([
        '-if',
        log,
        '--format',
        'csv',
        '--extra-labels',
        '--extra-keys',
        '--extra-obj2',
        '--extra-time',
      ]),
      { header: true, skipEmptyLines: true },
    ).data;
    const mine = ours(log);
    expect(mine.size).toBe(events.length);
    // ausearch leaves out none of them (a LOGIN beside a SYSCALL would be two rows: there is none here).
    expect(theirs.length).toBe(events.length);
    const result = { differences: [] as string[], known: [] as string[] };
    for (const row of theirs) {
      const our = mine.get(row.SERIAL_NUM ?? '');
      expect(our, `ausearch's event ${row.SERIAL_NUM} ${row.EVENT}`).toBeDefined();
      for (const [col, theirCol] of AUSEARCH_COLUMNS) {
        const a = our![col];
        const b = row[theirCol] ?? '';
        if (sameText(a, b)) continue;
        const line = `${row.EVENT} ${row.SERIAL_NUM} ${col}: ours ${JSON.stringify(a)}, ausearch ${JSON.stringify(b)}`;
        (known(row.EVENT ?? '', row.SERIAL_NUM ?? '', col) ? result.known : result.differences).push(line);
      }
    }
    return result;
  }

  it('agrees with ausearch 3.0.9 on every record type and on other hosts’ shapes, but for the listed differences', () => {
    expect(ausearch(['--version']), 'the reference is audit 3.0.9 (Debian 12 auditd)').toMatch(/3\.0\.9/);
    const { differences, known } = compare('types.log', [...everyType(), ...OTHER_HOSTS], (type, _, col) =>
      (KNOWN[type] ?? []).includes(col),
    );
    expect(differences).toEqual([]);
    // The listed differences are real: ausearch still prints them (else KNOWN should shrink).
    expect(new Set(known.map((k) => k.split(' ')[0]))).toEqual(new Set(Object.keys(KNOWN)));
  });

  it('agrees with ausearch 3.0.9 on every syscall of x86_64, i386 and aarch64, but for those it does not classify', () => {
    const events: string[][] = [];
    const syscallOfSerial = new Map<string, string>();
    let serial = 5000;
    for (const [arch, archHex] of [
      ['x86_64', 'c000003e'],
      ['i386', '40000003'],
      ['aarch64', 'c00000b7'],
    ] as const) {
      for (let nr = 0; nr < 460; nr++) {
        const id = `${1_760_000_000 + ++serial}.100:${serial}`;
        syscallOfSerial.set(String(serial), syscallName(arch, nr) ?? '');
        events.push([
          `type=SYSCALL msg=audit(${id}): arch=${archHex} syscall=${nr} success=yes exit=0 a0=3 a1=1ed a2=1 a3=0 items=1 ppid=1 pid=812 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm="tool" exe="/usr/sbin/tool" key="k1"`,
          `type=CWD msg=audit(${id}): cwd="/root"`,
          `type=PATH msg=audit(${id}): item=0 name="/etc/passwd" inode=1 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
          `type=PROCTITLE msg=audit(${id}): proctitle=746F6F6C`,
        ]);
      }
    }
    const { differences, known } = compare('syscalls.log', events, (_, s) =>
      NEWER_SYSCALLS.has(syscallOfSerial.get(s) ?? ''),
    );
    expect(differences).toEqual([]);
    // ausearch 3.0.9 still calls each of them triggered-audit-rule (else NEWER_SYSCALLS should shrink).
    expect(new Set(known.map((k) => syscallOfSerial.get(k.split(' ')[1]!)))).toEqual(NEWER_SYSCALLS);
  });

  it('decodes the hex-encoded fields ausearch -i decodes, and no others', () => {
    // Every name auparse 3.0.9 or a later one may encode, or types otherwise (fp: capabilities), each written as
    // the hex of "a b" in one user-space record: `ausearch -i` shows those it decodes as `a b`.
    const hex = Buffer.from('a b').toString('hex');
    const candidates = [
      ...ENCODED_FIELDS,
      ...[
        'old-vcpu',
        'new-vcpu',
        'sig_name',
        'unit',
        'fp',
        'new_user',
        'old_user',
        'op',
        'terminal',
        'hostname',
      ],
    ];
    const log = join(dir, 'escaped.log');
    const body = candidates.map((name) => `${name}=${hex}`).join(' ');
    writeFileSync(
      log,
      `type=USER_ACCT msg=audit(1750000000.100:9100): pid=1 uid=0 auid=0 ses=1 msg='op=x ${body} res=success'\n`,
    );
    const interpreted = ausearch(['-if', log, '-i']);
    const decodedByAusearch = candidates.filter((name) => interpreted.includes(` ${name}=a b`));
    const fenced = candidates.filter((name) => interpreted.includes(` ${name}="a b"`)); // TTY data: in quotes
    expect(fenced).toEqual(['data']);
    // Ours: the evidence columns' decoding, and the normalizer's types.
    expect(candidates.filter((name) => decodeValue('USER_ACCT', name, hex) === 'a b')).toEqual([
      ...decodedByAusearch,
      ...fenced,
    ]);
    expect(decodedByAusearch.filter((name) => fieldType('USER_ACCT', name, hex) === 'escaped')).toEqual(
      ESCAPED_FIELDS,
    );
  });

  it('shows a chmod’s new mode as ausearch -i does, special bits included', () => {
    const log = join(dir, 'chmod.log');
    const modes = ['1ed', '9ed', '5ed', '3ff', 'fff', '1a4', '0'];
    writeFileSync(
      log,
      modes
        .map((mode, i) => {
          const id = `1750000000.${100 + i}:${9000 + i}`;
          return [
            `type=SYSCALL msg=audit(${id}): arch=c000003e syscall=90 success=yes exit=0 a0=55d1 a1=${mode} a2=1 a3=0 items=1 ppid=1 pid=812 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm="chmod" exe="/usr/bin/chmod" key="perm_mod"`,
            `type=PATH msg=audit(${id}): item=0 name="/tmp/x" inode=1 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0`,
          ].join('\n');
        })
        .join('\n')
        .concat('\n'),
    );
    const interpreted = [...ausearch(['-if', log, '-i']).matchAll(/syscall=chmod .*? a1=(\S+)/g)].map(
      (m) => m[1],
    );
    expect(interpreted).toContain('suid,sgid,sticky,0777');
    expect([...ours(log).values()].map((c) => c.obj2)).toEqual(interpreted);
  });

  it('shows TTY keystrokes as ausearch -i does: quoted runs of text and named keys', () => {
    const log = join(dir, 'tty.log');
    const keys = Buffer.from('eh\x7f\x7fecho "x"\rsudo su\r\x1b[A\x01\t\x1b\x00é')
      .toString('hex')
      .toUpperCase();
    writeFileSync(
      log,
      `type=TTY msg=audit(1491924063.550:1065565): tty pid=27930 uid=1000 auid=1000 ses=762 major=136 minor=0 comm="bash" data=${keys}\n`,
    );
    const interpreted = /data=(.*)$/m.exec(ausearch(['-if', log, '-i']))?.[1];
    expect(interpreted).toContain('<backspace>');
    const [columns] = [...ours(log).values()];
    expect(columns?.obj_prime).toBe(interpreted);
    expect(columns?.obj_kind).toBe('keystrokes');
  });
});
