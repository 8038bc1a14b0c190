/**
 * Our normalized columns → the columns of `ausearch --format csv --extra-keys --extra-obj2` (audit 3.0.9), for the
 * tests that compare the two (the golden corpus files, and the installed ausearch run live).
 */
import type { NormalizedColumns } from '../../src/parse/normalize/index.js';

export const AUSEARCH_COLUMNS: ReadonlyArray<readonly [keyof NormalizedColumns, string]> = [
  ['event_type', 'EVENT'],
  ['event_kind', 'EVENT_KIND'],
  ['session', 'SESSION'],
  ['subj_prime', 'SUBJ_PRIME'],
  ['subj_sec', 'SUBJ_SEC'],
  ['subj_kind', 'SUBJ_KIND'],
  ['action', 'ACTION'],
  ['result', 'RESULT'],
  ['obj_prime', 'OBJ_PRIME'],
  ['obj_sec', 'OBJ_SEC'],
  ['obj2', 'OBJ2'],
  ['obj_kind', 'OBJ_KIND'],
  ['how', 'HOW'],
  ['key', 'KEY'],
];
