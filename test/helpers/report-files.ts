/** Reading back what a run wrote, the same way in every test. */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { expect } from 'vitest';

/** A CSV file's rows by header (a BOM, when the file has one, left out); fails the test on a malformed file. */
export function readCsv<T = Record<string, string>>(path: string): T[] {
  const text = readFileSync(path, 'utf8').replace(/^\ufeff/, '');
  const parsed = Papa.parse<T>(text, { header: true, skipEmptyLines: true });
  expect(parsed.errors, path).toEqual([]);
  return parsed.data;
}

/**
 * A report's text without what depends on the clock (run id, times, durations), so that two runs over the same
 * input can be compared byte for byte.
 */
export function timeless(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d{6}Z/g, 'RUN')
    .replace(/generated [^·<]*·/g, 'generated ·')
    .replace(/at \d{4}-\d\d-\d\dT[\d:.]+Z/g, 'at TIME')
    .replace(/ · (?:\d+ min )?[\d.]+ m?s</g, ' · DURATION<');
}
