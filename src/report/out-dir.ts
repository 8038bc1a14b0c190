/**
 * The rule for an output folder given by the user (`--out`): new or empty. Its own module so that `parse` checks it
 * at start without loading the report writers.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { SweepError } from '../errors.js';
import { PRIVATE_DIR } from '../private-files.js';

/**
 * Refuses an output folder that already holds something (dot files aside): an earlier report is never overwritten
 * or mixed with a new one. Creates the folder when it is missing.
 */
export async function ensureFreshOutDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  const present = (await readdir(dir)).filter((f) => !f.startsWith('.'));
  if (present.length > 0) {
    throw new SweepError(
      'USAGE',
      `the output folder ${dir} already holds ${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}; an earlier report is never overwritten: choose a new folder or move that one away`,
    );
  }
}
