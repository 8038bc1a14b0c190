import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSockaddr, formatSockaddr, interpretSaddr } from '../../src/parse/interpret/sockaddr.js';

const hasControlChar = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20);

const fixtureRows = (name: string): string[][] =>
  readFileSync(new URL(`../fixtures/parse/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));

/** [saddr hex, SADDR text] of every SOCKADDR record in the ENRICHED corpus logs. */
function enrichedSockaddrs(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const variant of ['enriched', 'node-user']) {
    for (const log of ['audit.log.2', 'audit.log.1', 'audit.log']) {
      const url = new URL(`../fixtures/corpus/${variant}/${log}`, import.meta.url);
      for (const line of readFileSync(url, 'utf8').split('\n')) {
        if (!/^(?:node=\S+ )?type=SOCKADDR /.test(line)) continue;
        const [raw, enriched = ''] = line.split('\u001d');
        out.push([/ saddr=(\S+)/.exec(raw!)?.[1] ?? '', /^SADDR=(.*)$/.exec(enriched)?.[1] ?? '']);
      }
    }
  }
  return out;
}

describe('decodeSockaddr', () => {
  it('decodes AF_INET to address and port', () => {
    expect(decodeSockaddr('020008AE7F0000010000000000000000')).toEqual({
      family: 'inet',
      familyNumber: 2,
      address: '127.0.0.1',
      port: 2222,
    });
  });

  it('decodes AF_INET6 to compressed text, with the scope id only when set', () => {
    expect(decodeSockaddr('0A0008AE000000000000000000000000000000000000000100000000')).toEqual({
      family: 'inet6',
      familyNumber: 10,
      address: '::1',
      port: 2222,
    });
    const linkLocal = decodeSockaddr('0A00005000000000FE80000000000000000000000000000102000000');
    expect(linkLocal).toMatchObject({ address: 'fe80::1', port: 80, scopeId: 2 });
  });

  it('decodes AF_UNIX paths and shows abstract names as @name', () => {
    expect(decodeSockaddr('01002F72756E2F73797374656D642F6E6F74696679')).toEqual({
      family: 'local',
      familyNumber: 1,
      path: '/run/systemd/notify',
    });
    expect(decodeSockaddr('0100002F746D702F2E5831312D756E69782F5830')).toEqual({
      family: 'local',
      familyNumber: 1,
      path: '@/tmp/.X11-unix/X0',
      abstract: true,
    });
  });

  it('decodes AF_NETLINK to the peer pid', () => {
    expect(decodeSockaddr('100000000000000000000000')).toEqual({
      family: 'netlink',
      familyNumber: 16,
      pid: 0,
    });
    expect(decodeSockaddr('1000000039300000FFFFFFFF')).toMatchObject({ pid: 12345 });
  });

  it('names other families from the table and says what it could not decode', () => {
    expect(decodeSockaddr('11000300')).toEqual({ family: 'packet', familyNumber: 17, error: 'unsupported' });
    expect(decodeSockaddr('2800')).toMatchObject({ family: 'vsock', error: 'unsupported' });
    expect(decodeSockaddr('1B00')).toEqual({ family: 'unknown', familyNumber: 27, error: 'unknown-family' });
    expect(decodeSockaddr('020008AE')).toEqual({
      family: 'inet',
      familyNumber: 2,
      error: 'sockaddr len too short',
    });
  });

  it('reports odd-length, non-hex and empty values as malformed instead of throwing', () => {
    for (const bad of ['', '0', '020', 'ZZ', '02 00', 'saddr']) {
      expect(decodeSockaddr(bad)).toEqual({ family: 'unknown', error: 'malformed-host', raw: bad });
    }
  });

  it('never throws on arbitrary strings or byte sequences, and always formats (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(typeof formatSockaddr(decodeSockaddr(s))).toBe('string');
      }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 50 }), fc.uint8Array({ maxLength: 130 }), (family, rest) => {
        const hex = Buffer.from([family, 0, ...rest]).toString('hex');
        const sa = decodeSockaddr(hex);
        expect(sa.family).not.toBe('');
        expect(hasControlChar(interpretSaddr(hex))).toBe(false);
      }),
    );
  });
});

describe('formatSockaddr / interpretSaddr', () => {
  it('matches SADDR= beside every SOCKADDR record of the ENRICHED corpus', () => {
    const pairs = enrichedSockaddrs();
    expect(pairs.length).toBe(222);
    for (const [hex, shown] of pairs) expect(interpretSaddr(hex), hex).toBe(shown);
  });

  it.each(fixtureRows('corpus-ausearch-i.tsv').filter((c) => c[0] === 'saddr'))(
    'matches the golden ausearch -i output of the corpus for %s %s',
    (_field, hex, shown) => {
      expect(interpretSaddr(hex!)).toBe(shown);
    },
  );

  it.each(fixtureRows('saddr-ausearch.tsv'))('prints saddr=%s as ausearch 3.0.9 does: %s', (hex, shown) => {
    expect(interpretSaddr(hex!)).toBe(shown);
  });

  it('formats a saddr hex string directly too', () => {
    expect(formatSockaddr('100000000000000000000000')).toBe('{ saddr_fam=netlink nlnk-fam=16 nlnk-pid=0 }');
    expect(formatSockaddr('ZZ')).toBe('malformed-host(ZZ)');
  });

  it('prints the numeric scope id rather than an interface name of the reading host', () => {
    expect(interpretSaddr('0A00005000000000FE80000000000000000000000000000102000000')).toBe(
      '{ saddr_fam=inet6 laddr=fe80::1%2 lport=80 }',
    );
  });
});
