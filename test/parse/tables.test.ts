import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { archName } from '../../src/parse/tables/arch.js';
import { errnoName, errnoText, formatExit } from '../../src/parse/tables/errno.js';
import { isSingleRecordType, recordTypeName, recordTypeNumber } from '../../src/parse/tables/record-types.js';
import { syscallName } from '../../src/parse/tables/syscalls.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/parse/${name}`, import.meta.url), 'utf8');
const corpusLog = (variant: string, log: string): string[] =>
  readFileSync(new URL(`../fixtures/corpus/${variant}/${log}`, import.meta.url), 'utf8').split('\n');
const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'];

/** Tab-separated [input, expected] rows of a fixture, comments skipped. */
function rows(name: string, field?: string): Array<[string, string]> {
  return fixture(name)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .filter((cols) => field === undefined || cols[0] === field)
    .map((cols) => (field === undefined ? [cols[0]!, cols[1]!] : [cols[1]!, cols[2]!]));
}

describe('syscallName', () => {
  it('names the syscalls of the spot checks on x86_64, i386 and aarch64', () => {
    expect(syscallName('x86_64', 59)).toBe('execve');
    expect(syscallName('x86_64', 257)).toBe('openat');
    expect(syscallName('x86_64', 0)).toBe('read');
    expect(syscallName('i386', 11)).toBe('execve');
    expect(syscallName('aarch64', 221)).toBe('execve');
    expect(syscallName('aarch64', 56)).toBe('openat');
  });

  it('covers the other arches libaudit 3.0.9 has tables for, aliases included', () => {
    expect(syscallName('armeb', 11)).toBe('execve');
    expect(syscallName('arm', 11)).toBe('execve');
    expect(syscallName('armv7l', 322)).toBe('openat');
    expect(syscallName('i686', 11)).toBe('execve');
    expect(syscallName('ppc', 11)).toBe('execve');
    expect(syscallName('ppc64', 286)).toBe('openat');
    expect(syscallName('ppc64le', 286)).toBe('openat');
    expect(syscallName('s390', 11)).toBe('execve');
    expect(syscallName('s390x', 288)).toBe('openat');
  });

  it('returns undefined for gaps, out-of-range numbers and arches without a table', () => {
    expect(syscallName('x86_64', 400)).toBeUndefined(); // between 334 and 424: never assigned on x86_64
    expect(syscallName('x86_64', 100_000)).toBeUndefined();
    expect(syscallName('x86_64', -1)).toBeUndefined();
    expect(syscallName('x86_64', 1.5)).toBeUndefined();
    expect(syscallName('riscv64', 221)).toBeUndefined();
    expect(syscallName('__proto__', 0)).toBeUndefined();
    expect(syscallName('toString', 0)).toBeUndefined();
  });

  it('agrees with ARCH= and SYSCALL= of every SYSCALL record in the ENRICHED corpus', () => {
    let checked = 0;
    for (const log of LOGS) {
      for (const line of corpusLog('enriched', log)) {
        if (!line.startsWith('type=SYSCALL ')) continue;
        const [raw, enriched = ''] = line.split('\u001d');
        const arch = /arch=(\S+)/.exec(raw!)?.[1] ?? '';
        const nr = Number(/ syscall=(\d+)/.exec(raw!)?.[1]);
        const shown = /ARCH=(\S+) SYSCALL=(\S+)/.exec(enriched);
        expect(shown, line).not.toBeNull();
        expect(archName(arch)).toBe(shown![1]);
        expect(syscallName(shown![1]!, nr)).toBe(shown![2]);
        checked++;
      }
    }
    expect(checked).toBe(687);
  });
});

describe('archName', () => {
  it('names the arches ausearch 3.0.9 knows the way it prints them', () => {
    expect(archName('c000003e')).toBe('x86_64');
    expect(archName('40000003')).toBe('i386');
    expect(archName('c00000b7')).toBe('aarch64');
    expect(archName('40000028')).toBe('armeb'); // AUDIT_ARCH_ARM: libaudit calls its ARM machine armeb
    expect(archName('80000015')).toBe('ppc64');
    expect(archName('c0000015')).toBe('ppc64le');
    expect(archName('14')).toBe('ppc');
    expect(archName('80000016')).toBe('s390x');
    expect(archName('16')).toBe('s390');
  });

  it('falls back to the kernel macro name for arches audit 3.0.9 does not know', () => {
    expect(archName('c00000f3')).toBe('riscv64');
    expect(archName('400000f3')).toBe('riscv32');
    expect(archName('c0000032')).toBe('ia64');
    expect(archName('c0000102')).toBe('loongarch64');
  });

  it('accepts upper case, a 0x prefix and leading zeros, and rejects anything else', () => {
    expect(archName('C000003E')).toBe('x86_64');
    expect(archName('0xc000003e')).toBe('x86_64');
    expect(archName('00000016')).toBe('s390');
    expect(archName('')).toBeUndefined();
    expect(archName('x86_64')).toBeUndefined();
    expect(archName('c000003e0')).toBeUndefined();
    expect(archName('deadbeef')).toBeUndefined();
  });
});

describe('errno', () => {
  it('names errnos and gives glibc C-locale texts', () => {
    expect(errnoName(1)).toBe('EPERM');
    expect(errnoName(2)).toBe('ENOENT');
    expect(errnoName(13)).toBe('EACCES');
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(133)).toBe('EHWPOISON');
    expect(errnoText(13)).toBe('Permission denied');
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(134)).toBeUndefined();
    expect(errnoName(512)).toBeUndefined(); // ERESTARTSYS is kernel-internal: no name in libaudit either
  });

  it.each(rows('exit-ausearch.tsv'))('formats exit=%s as ausearch -i does: %s', (exit, shown) => {
    expect(formatExit(exit)).toBe(shown);
  });

  it.each(rows('corpus-ausearch-i.tsv', 'exit'))(
    'formats the corpus exit=%s as its golden output: %s',
    (exit, shown) => {
      expect(formatExit(exit)).toBe(shown);
    },
  );
});

describe('record types', () => {
  it('maps numbers and names both ways', () => {
    expect(recordTypeName(1300)).toBe('SYSCALL');
    expect(recordTypeName(1327)).toBe('PROCTITLE');
    expect(recordTypeName(1320)).toBe('EOE');
    expect(recordTypeName(1400)).toBe('AVC');
    expect(recordTypeName(1006)).toBe('LOGIN');
    expect(recordTypeName(2507)).toBe('VIRT_MIGRATE_OUT');
    expect(recordTypeName(1334)).toBe('BPF');
    expect(recordTypeName(1338)).toBeUndefined();
    expect(recordTypeNumber('USER_LOGIN')).toBe(1112);
    expect(recordTypeNumber('DAEMON_START')).toBe(1200);
  });

  it('reads UNKNOWN[n] and plain numbers, and rejects other unknown names', () => {
    expect(recordTypeNumber('UNKNOWN[1334]')).toBe(1334);
    expect(recordTypeNumber('UNKNOWN[1420]')).toBe(1420);
    expect(recordTypeNumber('1305')).toBe(1305);
    expect(recordTypeNumber('UNKNOWN[abc]')).toBeUndefined();
    expect(recordTypeNumber('NO_SUCH_TYPE')).toBeUndefined();
    expect(recordTypeNumber('syscall')).toBeUndefined();
  });

  it('names every record type of the corpus', () => {
    const seen = new Set<string>();
    for (const variant of ['enriched', 'raw', 'node-user', 'node-hostname']) {
      for (const log of LOGS) {
        for (const line of corpusLog(variant, log)) {
          const type = /^(?:node=\S+ )?type=(\S+) /.exec(line)?.[1];
          if (type !== undefined) seen.add(type);
        }
      }
    }
    expect(seen.size).toBe(30);
    for (const type of seen) expect(recordTypeName(recordTypeNumber(type) ?? -1)).toBe(type);
  });

  it('applies auparse 3.0.9 single-record rule, boundaries included', () => {
    const single = [
      'LOGIN',
      'USER_AUTH',
      'DAEMON_START',
      'KERNEL',
      'PROCTITLE',
      'MAC_UNLBL_ALLOW',
      'MAC_CALIPSO_DEL',
    ];
    const multi = [
      'SYSCALL',
      'CWD',
      'EXECVE',
      'SOCKADDR',
      'MAC_CONFIG_CHANGE',
      'ANOM_PROMISCUOUS',
      'NETFILTER_CFG',
    ];
    for (const t of single) expect(isSingleRecordType(t), t).toBe(true);
    for (const t of multi) expect(isSingleRecordType(t), t).toBe(false);
    expect(isSingleRecordType('ANOM_LOGIN_FAILURES')).toBe(true); // 2100
    expect(isSingleRecordType('UNKNOWN[1299]')).toBe(true);
    expect(isSingleRecordType('UNKNOWN[2001]')).toBe(false);
    expect(isSingleRecordType('UNKNOWN[1420]')).toBe(false);
    expect(isSingleRecordType('UNKNOWN[99999]')).toBe(true);
    expect(isSingleRecordType('NO_SUCH_TYPE')).toBe(true); // libaudit maps it to -1
  });
});
