/**
 * `auditsweep parse`: local log files of one host → the report set of a sweep of that one host (events.csv,
 * parse-issues.csv when lines were bad, hosts.csv, summary.csv, findings-*.csv, report.html, manifest.json), or
 * with `eventsOnly` / `stdout` the events CSV alone. The same parser the sweep uses; files are given oldest first
 * and read as one stream of records.
 *
 * Large inputs are parsed on a thread of their own (read → tokenize → reassemble) with row workers that build the
 * rows and, for the report set, classify the findings and count (parse/row-workers.ts); small ones on the calling
 * thread. Every file is the same byte for byte either way. The parse itself is in parse-here.ts, loaded by the
 * thread that runs it: the main thread of a large input has no use for the parser's or the reports' code.
 */
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseOnThread, parseThreadAvailable } from './parse/parse-thread.js';
import { isGzip, type UnreadableFile } from './parse/read-files.js';
import { rowWorkerCount } from './parse/row-worker-count.js';
import type { FiredAlert } from './report/alert-evaluator.js';
import type { AlertRule } from './report/alerts.js';
import type { FindingKind } from './report/findings.js';
import { ensureFreshOutDir } from './report/out-dir.js';
import type { AccountMaps, HostOutcome, ParseCounters } from './types.js';

export interface ParseLogsOptions {
  readonly files: readonly string[];
  /** Value of the `host` column. */
  readonly host: string;
  /** Output folder for events.csv and parse-issues.csv; ignored when `stdout` is given. */
  readonly outDir?: string | undefined;
  /** Write the events CSV here instead (e.g. process.stdout). */
  readonly stdout?: Writable | undefined;
  readonly accounts?: AccountMaps | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
  readonly bom?: boolean | undefined;
  /** Row worker threads; by default chosen from the input size and the CPUs (see defaultWorkers). */
  readonly workers?: number | undefined;
  /** Write only events.csv (+ parse-issues.csv), not the report set; the fast path for large inputs. */
  readonly eventsOnly?: boolean | undefined;
  /** Alert rules for the report set; default DEFAULT_ALERT_RULES, `[]` for none. */
  readonly alerts?: readonly AlertRule[] | undefined;
  /** The run id in report.html and manifest.json (default: the UTC start time). */
  readonly runId?: string | undefined;
}

/** What the report set said, when one was written. */
export interface ParseReport {
  readonly outDir: string;
  /** hosts.csv's one row. */
  readonly outcome: HostOutcome;
  readonly alerts: FiredAlert[];
  readonly warnings: string[];
  /** Rows of each findings file. */
  readonly findings: Record<FindingKind, number>;
}

export interface ParseLogsResult {
  readonly counters: ParseCounters;
  readonly unreadable: UnreadableFile[];
  /** Issues by reason, for the one-line summary. */
  readonly issuesByReason: Record<string, number>;
  /** Files written (final names), manifest.json last when the report set was written. */
  readonly written: string[];
  /** Absent for eventsOnly and stdout. */
  readonly report?: ParseReport | undefined;
}

/** Inputs smaller than this are parsed on the main thread alone: starting workers would cost more. */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** Gzip-compressed logs are counted at this multiple of their size (audit logs compress ~10×). */
const GZIP_RATIO = 8;

/**
 * Row worker threads for these files: none for small inputs, else rowWorkerCount()'s (one per further CPU, up to
 * three). `AUDITSWEEP_PARSE_WORKERS` overrides the choice (0: main thread only), for benchmarks and tests.
 */
async function defaultWorkers(files: readonly string[]): Promise<number> {
  const { workers, forced } = rowWorkerCount();
  if (forced || workers === 0) return workers;
  let bytes = 0;
  for (const file of files) {
    try {
      const size = (await stat(file)).size;
      bytes += (await isGzip(file)) ? size * GZIP_RATIO : size;
    } catch {
      // Unreadable: parseLocalFiles reports it.
    }
  }
  return bytes < PARALLEL_MIN_BYTES ? 0 : workers;
}

/**
 * Parses the files and writes the report set into `outDir` (a fresh folder), or only the events CSV (`eventsOnly`,
 * or to `stdout`). Files appear under their final names only once complete.
 */
export async function parseLogs(options: ParseLogsOptions): Promise<ParseLogsResult> {
  if (options.stdout === undefined && options.outDir === undefined)
    throw new Error('parseLogs needs outDir or stdout');
  // The same rule as the sweep's --out: an earlier report is never overwritten or mixed with a new one.
  if (options.stdout === undefined && options.outDir !== undefined) await ensureFreshOutDir(options.outDir);
  const workers = options.workers ?? (await defaultWorkers(options.files));
  // With row workers, the rest of the parser runs on a thread of its own too, whose heap can be kept small: the
  // main thread's young generation alone would put the peak RSS past 200 MB (issue #2).
  if (workers > 0 && options.stdout === undefined && parseThreadAvailable()) {
    return parseOnThread({ ...options, workers });
  }
  const { parseHere } = await import('./parse-here.js');
  return parseHere(options, workers);
}
