/**
 * The normalizer on single events whose lines are copied from the corpus (/work/shared/corpus). Expected values are
 * the corpus' golden `ausearch --format csv` rows for the same serial, unless a test says otherwise.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import type { InterpretContext } from '../../src/parse/interpret/ids.js';
import { ausearchParts, type NormalizedColumns, normalizeEvent } from '../../src/parse/normalize/index.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import type { AccountMaps, AuditEvent, AuditRecord } from '../../src/types.js';

const GS = '\x1d';

/** The corpus machine's accounts when the golden files were made: the test users were already deleted. */
const CORPUS_ACCOUNTS: AccountMaps = parseAccounts(
  'root:x:0:0:root:/root:/bin/bash\nsshd:x:102:65534::/run/sshd:/usr/sbin/nologin\n',
  'root:x:0:\ntty:x:5:\n',
).maps;

/** The same host while the test users still existed. */
const LIVE_ACCOUNTS: AccountMaps = parseAccounts(
  'root:x:0:0:root:/root:/bin/bash\nalice:x:4001:4001::/home/alice:/bin/bash\nbob:x:4002:4002::/home/bob:/bin/bash\n',
  'root:x:0:\ndevops:x:4100:\n',
).maps;

const WITH_CORPUS_MAPS: InterpretContext = { host: 'vm', accounts: CORPUS_ACCOUNTS };
const NO_MAPS: InterpretContext = { host: 'vm' };

/** Lines of one event → the event (all lines share one audit id). */
function eventOf(lines: readonly string[]): AuditEvent {
  const records: AuditRecord[] = lines.map((line, i) => {
    const { record } = tokenizeLine(line, 'audit.log', i + 1);
    if (record === undefined) throw new Error(`not a record: ${line}`);
    return record;
  });
  const first = records[0]!;
  return { node: first.node, sec: first.sec, ms: first.ms, serial: first.serial, records };
}

/** The RAW form of ENRICHED lines: what auditd writes with log_format = RAW. */
function raw(lines: readonly string[]): string[] {
  return lines.map((line) => line.split(GS)[0] ?? line);
}

function normalize(lines: readonly string[], ctx: InterpretContext = WITH_CORPUS_MAPS): NormalizedColumns {
  return normalizeEvent(eventOf(lines), ctx);
}

/** A golden CSV row's normalized part, in our column names (EVENT … KEY without the label columns). */
function golden(csv: string): NormalizedColumns {
  const [
    event_type,
    event_kind,
    session,
    subj_prime,
    subj_sec,
    subj_kind,
    action,
    result,
    obj_prime,
    obj_sec,
    obj2,
    obj_kind,
    how,
    key,
  ] = csv.split(',');
  const cols = {
    event_type,
    event_kind,
    session,
    subj_prime,
    subj_sec,
    subj_kind,
    action,
    result,
    obj_prime,
    obj_sec,
    obj2,
    obj_kind,
    how,
    key,
  };
  for (const [name, value] of Object.entries(cols))
    if (value === undefined) throw new Error(`no ${name} in ${csv}`);
  return cols as NormalizedColumns;
}

describe('normalizeEvent on user-space records', () => {
  const invalidUser = [
    `type=USER_LOGIN msg=audit(1795396000.301:22753): pid=7705 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=28696E76616C6964207573657229 exe="/usr/sbin/sshd" hostname=? addr=127.0.0.1 terminal=sshd res=failed'${GS}UID="root" AUID="unset"`,
  ];

  it('names a failed login by its hex-encoded acct, "(invalid user)", an account nobody has', () => {
    expect(normalize(invalidUser)).toEqual(
      golden(
        'USER_LOGIN,user-login,unset,(invalid user),,unknown-acct,logged-in,failed,sshd,,,user-session,/usr/sbin/sshd,',
      ),
    );
  });

  it('classifies the account of a failed login by looking its name up in the host accounts', () => {
    const bob = [
      `type=USER_LOGIN msg=audit(1795395987.949:22742): pid=7652 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct="bob" exe="/usr/sbin/sshd" hostname=? addr=127.0.0.1 terminal=sshd res=failed'${GS}UID="root" AUID="unset"`,
    ];
    // ausearch ran after bob was deleted: unknown-acct. While bob exists, he is a user account.
    expect(normalize(bob).subj_kind).toBe('unknown-acct');
    expect(normalize(bob, { host: 'vm', accounts: LIVE_ACCOUNTS }).subj_kind).toBe('user-acct');
    expect(normalize(bob).subj_prime).toBe('bob');
  });

  it('takes the subject of a successful login from id=', () => {
    const login = [
      `type=USER_LOGIN msg=audit(1795396131.865:23837): pid=8647 uid=0 auid=4002 ses=571 msg='op=login id=4002 exe="/usr/sbin/sshd" hostname=127.0.0.1 addr=127.0.0.1 terminal=/dev/pts/1 res=success'`,
    ];
    expect(normalize(login)).toEqual(
      golden(
        'USER_LOGIN,user-login,571,unknown(4002),,user-acct,logged-in,success,/dev/pts/1,,,user-session,/usr/sbin/sshd,',
      ),
    );
  });

  it('shows the command sudo ran (USER_CMD cmd= hex-decoded)', () => {
    const cmd = [
      `type=USER_CMD msg=audit(1795396019.941:22874): pid=7804 uid=4001 auid=4001 ses=541 msg='cwd="/home/alice" cmd=636174202F6574632F7375646F6572732E642F35302D636F727075732D616C696365 exe="/usr/bin/sudo" terminal=pts/1 res=success'${GS}UID="alice" AUID="alice"`,
    ];
    expect(normalize(cmd)).toEqual(
      golden(
        'USER_CMD,user-space,541,alice,alice,user-acct,ran-command,success,cat /etc/sudoers.d/50-corpus-alice,,,process,/usr/bin/sudo,',
      ),
    );
  });

  it('names the group of ADD_GROUP whose op= holds spaces (op=adding group to /etc/group)', () => {
    const add = [
      `type=ADD_GROUP msg=audit(1795395981.157:22667): pid=7511 uid=0 auid=4294967295 ses=4294967295 msg='op=adding group to /etc/group id=4100 exe="/usr/sbin/groupadd" hostname=? addr=? terminal=? res=success'${GS}UID="root" AUID="unset" ID="devops"`,
    ];
    const expected = golden(
      'ADD_GROUP,user-account,unset,system,root,privileged-acct,added-group-account-to,success,devops,,,account,/usr/sbin/groupadd,',
    );
    // ENRICHED: the name the host wrote wins over any map.
    expect(normalize(add)).toEqual(expected);
    expect(normalize(add, NO_MAPS)).toEqual(expected);
    // RAW: `id` of a group record is a gid, named with the group map.
    expect(normalize(raw(add)).obj_prime).toBe('unknown(4100)');
    expect(normalize(raw(add), { host: 'vm', accounts: LIVE_ACCOUNTS }).obj_prime).toBe('devops');
    expect(normalize(raw(add), NO_MAPS).obj_prime).toBe('4100');
  });

  it('describes auditd starting: subject kind auditd, started by init', () => {
    const start = [
      'type=DAEMON_START msg=audit(1795396101.859:2367): op=start ver=3.0.9 format=raw kernel=6.18.44-fc-v595 auid=4294967295 pid=8404 uid=0 ses=4294967295 res=success',
    ];
    expect(normalize(start)).toEqual(
      golden('DAEMON_START,audit-daemon,unset,system,root,auditd,started-audit,success,,,,service,init,'),
    );
  });

  it('describes a crash: the program is the object and the signal is how', () => {
    const abend = [
      'type=ANOM_ABEND msg=audit(1795396166.721:24238): auid=4001 uid=4001 gid=4001 ses=588 pid=8895 comm="bash" exe="/usr/bin/bash" sig=11 res=1',
    ];
    expect(normalize(abend)).toEqual(
      golden(
        'ANOM_ABEND,anomaly,588,unknown(4001),unknown(4001),user-acct,crashed-program,success,/usr/bin/bash,,,process,SIGSEGV,',
      ),
    );
  });
  it('reads a type auditd wrote as UNKNOWN[n] by its number, as ausearch does', () => {
    // Not in the corpus: a made-up systemd SERVICE_START; expected values from auparse's tables.
    const start = [
      `type=UNKNOWN[1130] msg=audit(1795396105.713:23700): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='unit=cron comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? addr=? terminal=? res=success'`,
    ];
    expect(normalize(start)).toEqual(
      golden(
        'SERVICE_START,system-services,unset,system,root,privileged-acct,started-service,success,cron,,,service,/usr/lib/systemd/systemd,',
      ),
    );
  });
});

describe('normalizeEvent on syscall events', () => {
  const sudoExec = [
    `type=SYSCALL msg=audit(1795396018.281:22840): arch=c000003e syscall=59 success=yes exit=0 a0=5636e7c84ce0 a1=5636e7c833a0 a2=5636e7c855c0 a3=8 items=2 ppid=7788 pid=7789 auid=4001 uid=4001 gid=4001 euid=0 suid=0 fsuid=0 egid=4001 sgid=4001 fsgid=4001 tty=(none) ses=540 comm="sudo" exe="/usr/bin/sudo" key="privileged"${GS}ARCH=x86_64 SYSCALL=execve AUID="alice" UID="alice" GID="alice" EUID="root" SUID="root" FSUID="root" EGID="alice" SGID="alice" FSGID="alice"`,
    'type=BPRM_FCAPS msg=audit(1795396018.281:22840): fver=0 fp=0 fi=0 fe=0 old_pp=0 old_pi=0 old_pe=0 old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0',
    'type=EXECVE msg=audit(1795396018.281:22840): argc=6 a0="sudo" a1="-S" a2="-p" a3="" a4="-k" a5="id"',
    'type=CWD msg=audit(1795396018.281:22840): cwd="/home/alice"',
    `type=PATH msg=audit(1795396018.281:22840): item=0 name="/usr/bin/sudo" inode=2170924 dev=fe:00 mode=0104755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
    `type=PATH msg=audit(1795396018.281:22840): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=338944 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="root" OGID="root"`,
    'type=PROCTITLE msg=audit(1795396018.281:22840): proctitle=62617368002D63007375646F202D53202D70202222202D6B206964',
  ];

  it('describes an execve of /usr/bin/sudo: the program run is the object, past BPRM_FCAPS and EXECVE', () => {
    const expected = golden(
      'SYSCALL,audit-rule,540,alice,alice,user-acct,executed,success,/usr/bin/sudo,2170924,,file,/usr/bin/sudo,privileged',
    );
    expect(normalize(sudoExec)).toEqual(expected);
    // RAW with the corpus maps: the deleted user is unknown(4001), the rest is the same.
    expect(normalize(raw(sudoExec))).toEqual({
      ...expected,
      subj_prime: 'unknown(4001)',
      subj_sec: 'unknown(4001)',
    });
    // RAW without maps: ids stay numbers (root is root everywhere).
    expect(normalize(raw(sudoExec), NO_MAPS)).toEqual({ ...expected, subj_prime: '4001', subj_sec: '4001' });
  });

  it('describes a denied openat (EACCES): failed, the file as object, the shell as how', () => {
    const denied = [
      `type=SYSCALL msg=audit(1795396034.437:22977): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=556f8463b2a0 a2=802 a3=0 items=1 ppid=7861 pid=7862 auid=4002 uid=4001 gid=4001 euid=4001 suid=4001 fsuid=4001 egid=4001 sgid=4001 fsgid=4001 tty=(none) ses=545 comm="bash" exe="/usr/bin/bash" key="access"${GS}ARCH=x86_64 SYSCALL=openat AUID="bob" UID="alice" GID="alice" EUID="alice" SUID="alice" FSUID="alice" EGID="alice" SGID="alice" FSGID="alice"`,
      'type=CWD msg=audit(1795396034.437:22977): cwd="/home/alice"',
      `type=PATH msg=audit(1795396034.437:22977): item=0 name="/dev/pts/1" inode=4 dev=00:1a mode=020620 ouid=4002 ogid=5 rdev=88:01 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0${GS}OUID="bob" OGID="tty"`,
      'type=PROCTITLE msg=audit(1795396034.437:22977): proctitle=2D62617368002D630069643B20686F73746E616D65',
    ];
    // opened-file is always of kind file, even for a character device (auparse sets it after reading the mode).
    expect(normalize(denied)).toEqual(
      golden('SYSCALL,audit-rule,545,bob,alice,user-acct,opened-file,failed,/dev/pts/1,4,,file,bash,access'),
    );
  });

  it('describes a connect: the SOCKADDR is the object, the same text from ENRICHED and RAW', () => {
    const connect = [
      `type=SYSCALL msg=audit(1795396047.657:23196): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=56058e8c01b0 a2=10 a3=7f97f3722ac0 items=0 ppid=7985 pid=7986 auid=4001 uid=4001 gid=4001 euid=4001 suid=4001 fsuid=4001 egid=4001 sgid=4001 fsgid=4001 tty=(none) ses=555 comm="bash" exe="/usr/bin/bash" key="network_connect_4"${GS}ARCH=x86_64 SYSCALL=connect AUID="alice" UID="alice" GID="alice" EUID="alice" SUID="alice" FSUID="alice" EGID="alice" SGID="alice" FSGID="alice"`,
      `type=SOCKADDR msg=audit(1795396047.657:23196): saddr=020008AE7F0000010000000000000000${GS}SADDR={ saddr_fam=inet laddr=127.0.0.1 lport=2222 }`,
      'type=PROCTITLE msg=audit(1795396047.657:23196): proctitle=62617368002D63006578656320333C3E2F6465762F7463702F3132372E302E302E312F323232323B2068656164202D632038203C26333B206578656320333C262D3B20286578656320343C3E2F6465762F7463702F3132372E302E302E312F3232393929203B20286578656320353C3E2F6465762F7463702F3A3A312F323232',
    ];
    const expected = golden(
      'SYSCALL,audit-rule,555,alice,alice,user-acct,connected-to,success,{ saddr_fam=inet laddr=127.0.0.1 lport=2222 },,,socket,bash,network_connect_4',
    );
    expect(normalize(connect)).toEqual(expected);
    expect(normalize(raw(connect)).obj_prime).toBe(expected.obj_prime);
  });

  it('describes a chown: the new owner is OBJ2, named for chown(2) but left as hex for fchownat(2)', () => {
    const chown = [
      'type=SYSCALL msg=audit(1795396131.865:23834): arch=c000003e syscall=92 success=yes exit=0 a0=55892f450fcc a1=fa2 a2=5 a3=0 items=1 ppid=8473 pid=8647 auid=4002 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=571 comm="sshd" exe="/usr/sbin/sshd" key="perm_mod"',
      'type=CWD msg=audit(1795396131.865:23834): cwd="/"',
      'type=PATH msg=audit(1795396131.865:23834): item=0 name="/dev/pts/1" inode=4 dev=00:1a mode=020600 ouid=0 ogid=0 rdev=88:01 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PROCTITLE msg=audit(1795396131.865:23834): proctitle=737368643A20626F62205B707269765D',
    ];
    expect(normalize(chown)).toEqual(
      golden(
        'SYSCALL,audit-rule,571,unknown(4002),root,privileged-acct,changed-file-ownership-of,success,/dev/pts/1,4,unknown(4002),character-device,/usr/sbin/sshd,perm_mod',
      ),
    );
    const fchownat = [
      'type=SYSCALL msg=audit(1795396158.057:24050): arch=c000003e syscall=260 success=no exit=-1 a0=ffffff9c a1=55bdf8c2c950 a2=fa2 a3=ffffffff items=1 ppid=8782 pid=8787 auid=4002 uid=4002 gid=4002 euid=4002 suid=4002 fsuid=4002 egid=4002 sgid=4002 fsgid=4002 tty=(none) ses=579 comm="chown" exe="/usr/bin/chown" key="system-locale"',
      'type=CWD msg=audit(1795396158.057:24050): cwd="/home/bob"',
      'type=PATH msg=audit(1795396158.057:24050): item=0 name="/etc/hosts" inode=613 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PROCTITLE msg=audit(1795396158.057:24050): proctitle=63686F776E00626F62002F6574632F686F737473',
    ];
    expect(normalize(fchownat)).toEqual(
      golden(
        'SYSCALL,audit-rule,579,unknown(4002),unknown(4002),user-acct,changed-file-ownership-of,failed,/etc/hosts,613,0xfa2,file,/usr/bin/chown,system-locale',
      ),
    );
  });

  it('describes a rename: the old name is the object, the new name OBJ2', () => {
    const rename = [
      'type=SYSCALL msg=audit(1795396102.877:23683): arch=c000003e syscall=82 success=yes exit=0 a0=7ffc416848e0 a1=557a8343c740 a2=7ffc41684850 a3=100 items=5 ppid=7413 pid=8424 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="groupadd" exe="/usr/sbin/groupadd" key="identity"',
      'type=CWD msg=audit(1795396102.877:23683): cwd="/var/tmp"',
      'type=PATH msg=audit(1795396102.877:23683): item=0 name="/etc/" inode=19 dev=fe:00 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PATH msg=audit(1795396102.877:23683): item=1 name="/etc/" inode=19 dev=fe:00 mode=040755 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PATH msg=audit(1795396102.877:23683): item=2 name="/etc/group+" inode=2244798 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=DELETE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PATH msg=audit(1795396102.877:23683): item=3 name="/etc/group" inode=2244765 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=DELETE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PATH msg=audit(1795396102.877:23683): item=4 name="/etc/group" inode=2244798 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
      'type=PROCTITLE msg=audit(1795396102.877:23683): proctitle=67726F7570616464002D670034313030006465766F7073',
    ];
    expect(normalize(rename)).toEqual(
      golden(
        'SYSCALL,audit-rule,unset,system,root,privileged-acct,renamed,success,/etc/group+,2244798,/etc/group,file,/usr/sbin/groupadd,identity',
      ),
    );
  });

  it('describes an nft change from its NETFILTER_CFG record, with the SYSCALL as subject', () => {
    const nft = [
      'type=NETFILTER_CFG msg=audit(1795396207.353:24529): table=corpus_filter:44 family=1 entries=1 op=nft_register_table pid=9172 comm="nft"',
      'type=SYSCALL msg=audit(1795396207.353:24529): arch=c000003e syscall=46 success=yes exit=88 a0=3 a1=7ffc90ddddd0 a2=0 a3=7f3e4fdadf00 items=0 ppid=7413 pid=9172 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="nft" exe="/usr/sbin/nft" key=(null)',
      'type=SOCKADDR msg=audit(1795396207.353:24529): saddr=100000000000000000000000',
      'type=PROCTITLE msg=audit(1795396207.353:24529): proctitle=6E667400616464007461626C6500696E657400636F727075735F66696C746572',
    ];
    expect(normalize(nft)).toEqual(
      golden(
        'NETFILTER_CFG,configuration,unset,system,root,privileged-acct,loaded-firewall-rule-to,success,corpus_filter:44,,,firewall,/usr/sbin/nft,',
      ),
    );
    // Alone (older kernels log a table's registration so), ausearch 3.0.9 names the table, the system and the comm.
    expect(normalize(nft.slice(0, 1))).toEqual(
      golden(
        'NETFILTER_CFG,configuration,,,,system,loaded-firewall-rule-to,,corpus_filter:44,,,firewall,nft,',
      ),
    );
  });
});

describe('normalizeEvent on CONFIG_CHANGE', () => {
  const syscall = (serial: string, exit: string) =>
    `type=SYSCALL msg=audit(1795395980.149:${serial}): arch=c000003e syscall=44 success=yes exit=${exit} a0=3 a1=7ffd6f721110 a2=434 a3=0 items=0 ppid=7413 pid=7502 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="auditctl" exe="/usr/sbin/auditctl" key=(null)${GS}ARCH=x86_64 SYSCALL=sendto AUID="unset" UID="root" GID="root" EUID="root" SUID="root" FSUID="root" EGID="root" SGID="root" FSGID="root"`;

  it('shows the op as the action and the keys of the added rule as the object', () => {
    const addRule = [
      `type=CONFIG_CHANGE msg=audit(1795395980.149:22641): auid=4294967295 ses=4294967295 op=add_rule key=6D6F64756C65730154313534372E303036 list=4 res=1${GS}AUID="unset"`,
      syscall('22641', '1076'),
      `type=SOCKADDR msg=audit(1795395980.149:22641): saddr=100000000000000000000000${GS}SADDR={ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }`,
      'type=PROCTITLE msg=audit(1795395980.149:22641): proctitle=617564697463746C002D52002F7661722F746D702F61756469742D636F727075732D776F726B2F61756469742E72756C6573',
    ];
    // ausearch prints `modules` (the first key); we keep both keys, as in the key column.
    expect(normalize(addRule)).toEqual({
      ...golden(
        'CONFIG_CHANGE,configuration,unset,system,root,privileged-acct,add_rule,success,modules,,,audit-config,/usr/sbin/auditctl,',
      ),
      obj_prime: 'modules,T1547.006',
    });
  });

  it('shows the name of the setting for op=set', () => {
    const set = [
      `type=CONFIG_CHANGE msg=audit(1795395980.149:22612): op=set audit_backlog_limit=8192 old=8192 auid=4294967295 ses=4294967295 res=1${GS}AUID="unset"`,
      syscall('22612', '60'),
      'type=PROCTITLE msg=audit(1795395980.149:22612): proctitle=617564697463746C002D52002F7661722F746D702F61756469742D636F727075732D776F726B2F61756469742E72756C6573',
    ];
    expect(normalize(set)).toEqual(
      golden(
        'CONFIG_CHANGE,configuration,unset,system,root,privileged-acct,set,success,audit_backlog_limit,,,audit-config,/usr/sbin/auditctl,',
      ),
    );
  });
});

describe('events ausearch reports as two', () => {
  const login = [
    'type=LOGIN msg=audit(1795396105.713:23719): pid=8480 uid=0 old-auid=4294967295 auid=4001 tty=(none) old-ses=4294967295 ses=567 res=1',
    'type=SYSCALL msg=audit(1795396105.713:23719): arch=c000003e syscall=1 success=yes exit=4 a0=5 a1=7ffe9a889fe0 a2=4 a3=7ffe9a889cf4 items=0 ppid=8473 pid=8480 auid=4001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=567 comm="sshd" exe="/usr/sbin/sshd" key=(null)',
    'type=PROCTITLE msg=audit(1795396105.713:23719): proctitle=737368643A20616C696365205B707269765D',
  ];

  it('splits a kernel LOGIN from its SYSCALL + PROCTITLE, as ausearch 3.0.9 does', () => {
    expect(ausearchParts(eventOf(login)).map((part) => part.map((r) => r.type))).toEqual([
      ['LOGIN'],
      ['SYSCALL', 'PROCTITLE'],
    ]);
  });

  it('describes the merged event as ausearch describes its LOGIN row (RAW, with and without account maps)', () => {
    const expected = golden(
      'LOGIN,user-login,567,system,root,privileged-acct,changed-login-id-to,success,unknown(4001),,,user-session,,',
    );
    expect(normalize(login)).toEqual(expected);
    expect(normalize(login, { host: 'vm', accounts: LIVE_ACCOUNTS })).toEqual({
      ...expected,
      obj_prime: 'alice',
    });
    expect(normalize(login, NO_MAPS)).toEqual({ ...expected, obj_prime: '4001' });
  });

  it('keeps ANOM_PROMISCUOUS and its SYSCALL together, as ausearch does', () => {
    const prom = eventOf([
      'type=ANOM_PROMISCUOUS msg=audit(1795396208.289:24532): dev=lo prom=256 old_prom=0 auid=4294967295 uid=0 gid=0 ses=4294967295',
      'type=SYSCALL msg=audit(1795396208.289:24532): arch=c000003e syscall=46 success=yes exit=32 a0=3 a1=7ffe1cb2ada0 a2=0 a3=7ffe1cb2a7c4 items=0 ppid=7413 pid=9178 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="ip" exe="/usr/bin/ip" key=(null)',
      'type=SOCKADDR msg=audit(1795396208.289:24532): saddr=100000000000000000000000',
      'type=PROCTITLE msg=audit(1795396208.289:24532): proctitle=6970006C696E6B00736574006C6F0070726F6D697363006F6E',
    ]);
    expect(ausearchParts(prom)).toHaveLength(1);
    expect(normalizeEvent(prom, WITH_CORPUS_MAPS)).toEqual(
      golden(
        'ANOM_PROMISCUOUS,anomaly,unset,system,root,privileged-acct,entered-promiscuous-mode-on-device,success,lo,,,socket,/usr/bin/ip,',
      ),
    );
  });
});

describe('normalizeEvent on arbitrary input', () => {
  const TYPES = [
    ...['SYSCALL', 'PATH', 'CWD', 'SOCKADDR', 'PROCTITLE', 'EXECVE', 'LOGIN', 'USER_LOGIN', 'USER_CMD'],
    ...['CONFIG_CHANGE', 'ADD_GROUP', 'DAEMON_START', 'ANOM_ABEND', 'NETFILTER_CFG', 'AVC'],
    // Names of Object.prototype's members: the normalizer's tables are plain objects.
    ...['__proto__', 'constructor', 'hasOwnProperty', 'toString'],
  ];
  const FIELD_NAMES = [
    ...['syscall', 'arch', 'success', 'auid', 'uid', 'ses', 'exe', 'comm', 'key', 'name', 'nametype', 'mode'],
    ...['inode', 'saddr', 'a0', 'a1', 'a2', 'op', 'acct', 'id', 'res', 'sig', 'dev', 'prom'],
  ];
  const VALUES = [
    '0',
    '59',
    'c000003e',
    'yes',
    'no',
    '4294967295',
    '"x"',
    '(null)',
    'PARENT',
    '0100644',
    'ZZ',
    '?',
  ];

  it('treats a record type named like a member of Object.prototype as a type it does not know', () => {
    for (const type of ['__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'toString']) {
      const lines = [
        `type=${type} msg=audit(1795396105.713:23719): pid=1 uid=0 auid=0 ses=1 msg='op=x res=success'`,
      ];
      expect(normalize(lines)).toEqual({
        ...normalize(lines.map((l) => l.replace(type, 'MADE_UP'))),
        event_type: type,
      });
      const withSyscall = [
        'type=SYSCALL msg=audit(1795396105.713:23719): arch=c000003e syscall=59 success=yes exit=0 pid=1 auid=0 uid=0 comm="a" exe="/b" key=(null)\x1dARCH=x86_64 SYSCALL=' +
          type,
        `type=${type} msg=audit(1795396105.713:23719): x=1`,
      ];
      const columns = normalize(withSyscall);
      expect(columns.action).toBe('triggered-unknown-audit-rule');
      expect(columns.obj_kind).toBe('admin-defined-rule');
    }
  });

  it('returns text for every column and never throws', () => {
    const field = fc.tuple(
      fc.constantFrom(...FIELD_NAMES),
      fc.oneof(
        fc.constantFrom(...VALUES),
        fc.string({ maxLength: 12 }).map((s) => s.replace(/[\s'"]/g, '')),
      ),
    );
    const line = fc.tuple(fc.constantFrom(...TYPES), fc.array(field, { maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), fc.boolean(), (lines, maps) => {
        const text = lines.map(
          ([type, fields]) =>
            `type=${type} msg=audit(1795396105.713:23719): ${fields.map(([n, v]) => `${n}=${v === '' ? '""' : v}`).join(' ')}`,
        );
        const columns = normalize(text, maps ? WITH_CORPUS_MAPS : NO_MAPS);
        for (const value of Object.values(columns)) expect(typeof value).toBe('string');
      }),
      { numRuns: 2000 },
    );
  });
});
