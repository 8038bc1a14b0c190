/** The sample logs a test fleet serves: a corpus variant's rotated set, as sshd-fleet's `logs` map. */
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** The copy of ../shared/corpus the tests use. */
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'corpus');
/** The rotated set of every corpus variant, oldest first. */
export const ROTATED = ['audit.log.2', 'audit.log.1', 'audit.log'] as const;

/** Served name → local file for `variant`'s rotated set; `gzOldest` serves the oldest as `audit.log.2.gz`. */
export function corpusLogs(variant: string, gzOldest = false): Record<string, string> {
  return Object.fromEntries(
    ROTATED.map((f, i) => [i === 0 && gzOldest ? `${f}.gz` : f, join(FIXTURES, variant, f)]),
  );
}
