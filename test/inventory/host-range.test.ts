import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expandHostRange, hasHostRange } from '../../src/inventory/host-range.js';

function names(pattern: string): string[] {
  const result = expandHostRange(pattern);
  if (!result.ok) throw new Error(result.error);
  return result.names;
}

describe('expandHostRange', () => {
  it('expands a zero-padded numeric range keeping the width', () => {
    expect(names('web[01:03].example.com')).toEqual([
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
    ]);
  });

  it('expands an unpadded range without adding zeros', () => {
    expect(names('n[8:11]')).toEqual(['n8', 'n9', 'n10', 'n11']);
  });

  it('expands alphabetic ranges and honours a step', () => {
    expect(names('db-[a:c]')).toEqual(['db-a', 'db-b', 'db-c']);
    expect(names('node[1:9:4]')).toEqual(['node1', 'node5', 'node9']);
    expect(names('x[A:E:2]')).toEqual(['xA', 'xC', 'xE']);
  });

  it('treats an empty start as 0, like Ansible', () => {
    expect(names('h[:2]')).toEqual(['h0', 'h1', 'h2']);
  });

  it('expands several ranges as their product, left range outermost', () => {
    expect(names('r[1:2]-n[a:b]')).toEqual(['r1-na', 'r1-nb', 'r2-na', 'r2-nb']);
  });

  it('leaves names without a range alone, including brackets without a colon', () => {
    expect(names('plain.example.com')).toEqual(['plain.example.com']);
    expect(names('odd[abc]')).toEqual(['odd[abc]']);
    expect(hasHostRange('odd[abc]')).toBe(false);
    expect(hasHostRange('web[1:2]')).toBe(true);
  });

  it.each([
    ['web[01:100]', 'same width'],
    ['web[5:1]', 'greater than'],
    ['web[a:3]', 'both be numbers or both be single letters'],
    ['web[a:Z]', 'same case'],
    ['web[1:]', 'end is missing'],
    ['web[1:5:0]', 'not a positive number'],
    ['web[1:2:3:4]', 'too many'],
  ])('rejects %s with a reason and a fix', (pattern, reason) => {
    const result = expandHostRange(pattern);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain(reason);
    expect(result.fix).toContain('[start:end]');
  });

  it('refuses an expansion that is surely a typo', () => {
    const result = expandHostRange('h[1:99999]');
    expect(result.ok).toBe(false);
  });

  it('property: count is the product of range sizes and zero-padding is preserved', () => {
    const range = fc
      .record({
        start: fc.nat(60),
        length: fc.integer({ min: 1, max: 6 }),
        width: fc.integer({ min: 1, max: 4 }),
      })
      .map(({ start, length, width }) => {
        const end = start + length - 1;
        const padded = width > 1 && String(end).length <= width;
        const fmt = (n: number) => (padded ? String(n).padStart(width, '0') : String(n));
        return { text: `[${fmt(start)}:${fmt(end)}]`, size: length, width: padded ? width : 0 };
      })
      // a padded start must begin with 0 to count as padded (ansible's rule); drop the ambiguous ones
      .filter((r) => r.width === 0 || r.text.startsWith('[0'));
    fc.assert(
      fc.property(
        fc.array(range, { minLength: 1, maxLength: 3 }),
        fc.constantFrom('web', 'db-', ''),
        (ranges, prefix) => {
          const pattern = `${prefix}${ranges.map((r) => r.text).join('x')}`;
          const result = expandHostRange(pattern);
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.names).toHaveLength(ranges.reduce((n, r) => n * r.size, 1));
          expect(new Set(result.names).size).toBe(result.names.length);
          for (const name of result.names) {
            const parts = name.slice(prefix.length).split('x');
            expect(parts).toHaveLength(ranges.length);
            parts.forEach((part, i) => {
              const width = ranges[i]!.width;
              if (width > 0) expect(part).toHaveLength(width);
              else expect(part).toBe(String(Number(part)));
            });
          }
        },
      ),
    );
  });
});
