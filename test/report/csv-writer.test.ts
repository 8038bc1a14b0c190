import fc from 'fast-check';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { serialiseRows } from '../../src/report/csv-writer.js';

/** What every CSV of auditsweep is: papaparse's unparse with CRLF and formula escaping (OWASP "CSV Injection"). */
function papaparse(rows: readonly (readonly string[])[]): string {
  return Papa.unparse(
    rows.map((r) => [...r]),
    { newline: '\r\n', quotes: false, escapeFormulae: /^[=+\-@\t\r]/, header: false },
  );
}

/** Characters that change how a cell is written, and some that do not, mixed with anything else. */
const tricky = fc.constantFrom(
  '=',
  '+',
  '-',
  '@',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '"',
  ',',
  ' ',
  '\ufeff',
  "'",
  ';',
  '\x1d',
  'é',
  '\u2028',
  '=HYPERLINK("http://x")',
);
const cell = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.oneof(tricky, fc.string({ maxLength: 3 })), { maxLength: 5 }).map((parts) => parts.join('')),
);
const rows = fc.array(fc.array(cell, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 });

describe('serialiseRows', () => {
  it('writes every row exactly as papaparse does, plain rows and rows that need quoting alike', () => {
    fc.assert(
      fc.property(rows, (input) => {
        expect(serialiseRows(input)).toBe(papaparse(input));
      }),
      { numRuns: 3000 },
    );
  });

  it('neutralises formulas and quotes what needs quoting, between plain rows, in order', () => {
    const input = [
      ['2026-11-23T00:24:55.809Z', '42', 'ssh', ''],
      ['=HYPERLINK("http://evil")', '+1', '-2', '@SUM(A1)'],
      ['a,b', 'say "hi"', ' lead', 'trail ', 'two\nlines'],
      ['\ufeffbom', '\tTAB', '\rCR', 'plain again'],
      ['', '', '', ''],
    ];
    const text = serialiseRows(input);
    expect(text.split('\r\n')).toEqual([
      '2026-11-23T00:24:55.809Z,42,ssh,',
      `"'=HYPERLINK(""http://evil"")","'+1","'-2","'@SUM(A1)"`,
      '"a,b","say ""hi"""," lead","trail ","two\nlines"',
      '"\ufeffbom","\'\tTAB","\'\rCR",plain again',
      ',,,',
    ]);
    // Read back by a CSV reader, every cell is what was written, a formula behind its apostrophe.
    const back = Papa.parse<string[]>(text, { newline: '\r\n' }).data;
    expect(back).toEqual(input.map((r) => r.map((c) => (/^[=+\-@\t\r]/.test(c) ? `'${c}` : c))));
  });

  it('joins a plain row as it is and ends no row with a line break', () => {
    expect(serialiseRows([['a', 'b c', "it's", '1.5']])).toBe("a,b c,it's,1.5");
    expect(serialiseRows([['x'], ['y']])).toBe('x\r\ny');
    expect(serialiseRows([[]])).toBe(papaparse([[]]));
  });
});
