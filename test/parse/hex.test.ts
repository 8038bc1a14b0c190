import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHex,
  decodeHexBytes,
  decodeProctitle,
  escapeControlChars,
  isHex,
} from '../../src/parse/interpret/hex.js';

const hasControlChar = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20);

const hexOf = (text: string): string => Buffer.from(text, 'utf8').toString('hex').toUpperCase();

const corpusProctitles = readFileSync(
  new URL('../fixtures/parse/corpus-ausearch-i.tsv', import.meta.url),
  'utf8',
)
  .split('\n')
  .map((l) => l.split('\t'))
  .filter((cols) => cols[0] === 'proctitle')
  .map((cols) => [cols[1]!, cols[2]!] as const);

describe('decodeHex', () => {
  it('decodes upper- and lower-case hex to UTF-8 text', () => {
    expect(decodeHex('6C73')).toBe('ls');
    expect(decodeHex('6c73')).toBe('ls');
    expect(decodeHex(hexOf('Grüße – ✓'))).toBe('Grüße – ✓');
    expect(decodeHex('28696E76616C6964207573657229')).toBe('(invalid user)');
    expect(decodeHex('')).toBe('');
  });

  it('returns undefined for odd length or any non-hex character', () => {
    expect(decodeHex('6C7')).toBeUndefined();
    expect(decodeHex('6G')).toBeUndefined();
    expect(decodeHex('"ls"')).toBeUndefined();
    expect(decodeHex('(null)')).toBeUndefined();
    expect(decodeHex('6C\u0663')).toBeUndefined();
    expect(decodeHex('6C 3')).toBeUndefined();
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    expect(decodeHex('41FF42')).toBe('A\uFFFDB');
    expect(decodeHex('C3')).toBe('\uFFFD');
  });

  it('keeps results independent of the reused scratch buffer, for small and very large values', () => {
    const first = decodeHex('414243');
    const second = decodeHex('58');
    expect([first, second]).toEqual(['ABC', 'X']);
    const big = 'x'.repeat(200_000);
    expect(decodeHex(hexOf(big))).toBe(big);
    expect(decodeHex('4142')).toBe('AB');
  });

  it('never throws and agrees with Buffer for every byte sequence (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, lower) => {
        const hex = Buffer.from(bytes).toString('hex');
        expect(decodeHex(lower ? hex : hex.toUpperCase())).toBe(Buffer.from(bytes).toString('utf8'));
        expect(decodeHexBytes(hex)).toEqual(new Uint8Array(bytes));
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const out = decodeHex(s);
        expect(out === undefined || typeof out === 'string').toBe(true);
        expect(out === undefined).toBe(s !== '' && !isHex(s));
      }),
    );
  });
});

describe('isHex', () => {
  it('accepts only non-empty, even-length hex', () => {
    expect(isHex('2F746D70')).toBe(true);
    expect(isHex('abcdef01')).toBe(true);
    expect(isHex('')).toBe(false);
    expect(isHex('ABC')).toBe(false);
    expect(isHex('"2F"')).toBe(false);
    expect(isHex('2F7G')).toBe(false);
  });
});

describe('escapeControlChars', () => {
  it('writes control characters as 3-digit octal and leaves everything else alone', () => {
    expect(escapeControlChars('tab\there')).toBe('tab\\011here');
    expect(escapeControlChars('a\nb\u001b[31m')).toBe('a\\012b\\033[31m');
    expect(escapeControlChars('back\\slash \u007f é')).toBe('back\\slash \u007f é');
    const plain = 'no controls';
    expect(escapeControlChars(plain)).toBe(plain);
  });
});

describe('decodeProctitle', () => {
  it('joins the NUL-separated argv with spaces', () => {
    expect(decodeProctitle('756E616D65002D736E72766D')).toBe('uname -snrvm');
    expect(decodeProctitle('6C73002D6C00')).toBe('ls -l '); // a trailing NUL is kept as a space, like ausearch
  });

  it('accepts the quoted form the kernel uses for a single plain word', () => {
    expect(decodeProctitle('"id"')).toBe('id');
  });

  it('returns undefined for values that are neither hex nor quoted', () => {
    expect(decodeProctitle('6C7')).toBeUndefined();
    expect(decodeProctitle('id')).toBeUndefined();
    expect(decodeProctitle('"')).toBeUndefined();
  });

  it('matches the golden ausearch -i output for every proctitle in the corpus', () => {
    expect(corpusProctitles.length).toBeGreaterThan(100);
    for (const [value, shown] of corpusProctitles) expect(decodeProctitle(value), value).toBe(shown);
  });

  it('never throws on arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const out = decodeProctitle(s);
        expect(out === undefined || !hasControlChar(out)).toBe(true);
      }),
    );
  });
});
