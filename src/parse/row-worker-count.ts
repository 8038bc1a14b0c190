/**
 * How many row workers (row-workers.ts) to start, in a module of its own: `auditsweep parse`'s main thread decides
 * this and hands the work to the parse thread, and has no use for the row stage's code.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The compiled row worker. */
export const WORKER_URL = new URL('./row-worker.js', import.meta.url);

/** Beyond this many row workers the owning thread (read, tokenize, reassemble) is the bottleneck. */
const MAX_WORKERS = 3;

/** Whether the compiled worker is there (it is not when the sources run untranspiled, as under a test runner). */
export function rowWorkersAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

/**
 * Row workers worth starting for a large input: one per CPU besides the owning thread's (which builds rows too
 * when the workers are busy), up to MAX_WORKERS; none on one CPU or when the workers cannot run.
 * `AUDITSWEEP_PARSE_WORKERS` overrides the choice (0: everything on the owning thread), for benchmarks and tests:
 * `forced` is then true.
 */
export function rowWorkerCount(): { workers: number; forced: boolean } {
  if (!rowWorkersAvailable()) return { workers: 0, forced: false };
  const forced = process.env.AUDITSWEEP_PARSE_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced))
    return { workers: Math.min(Number(forced), 64), forced: true };
  const cpus = availableParallelism();
  return { workers: cpus < 2 ? 0 : Math.min(cpus - 1, MAX_WORKERS), forced: false };
}
