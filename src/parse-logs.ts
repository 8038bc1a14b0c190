/**
 * `auditsweep parse`: local log files of one host → events.csv (+ parse-issues.csv when lines were bad).
 * The same parser the sweep uses; files are given oldest first and read as one stream of records.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { HostLogParser } from './parse/host-parser.js';
import { parseOnThread, parseThreadAvailable } from './parse/parse-thread.js';
import { isGzip, parseLocalFiles, type UnreadableFile } from './parse/read-files.js';
import { RowWorkers, rowWorkersAvailable } from './parse/row-workers.js';
import { ISSUE_COLUMNS, issueRow } from './report/columns.js';
import { CsvWriter } from './report/csv-writer.js';
import type { AccountMaps, ParseCounters, ParseIssue } from './types.js';
import { EVENT_COLUMNS } from './types.js';

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
}

export interface ParseLogsResult {
  readonly counters: ParseCounters;
  readonly unreadable: UnreadableFile[];
  /** Issues by reason, for the one-line summary. */
  readonly issuesByReason: Record<string, number>;
  /** Files written (final names). */
  readonly written: string[];
}

/** Inputs smaller than this are parsed on the main thread alone: starting workers would cost more. */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;
/** Gzip-compressed logs are counted at this multiple of their size (audit logs compress ~10×). */
const GZIP_RATIO = 8;
/** Beyond this many row workers the main thread (read, tokenize, reassemble) is the bottleneck. */
const MAX_WORKERS = 3;

/**
 * Row worker threads for these files: none for small inputs or one CPU, else one per CPU besides the main thread's
 * (which builds rows too when the workers are busy), up to MAX_WORKERS.
 * `AUDITSWEEP_PARSE_WORKERS` overrides the choice (0: main thread only), for benchmarks and tests.
 */
async function defaultWorkers(files: readonly string[]): Promise<number> {
  if (!rowWorkersAvailable()) return 0;
  const forced = process.env.AUDITSWEEP_PARSE_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(Number(forced), 64);
  const cpus = availableParallelism();
  if (cpus < 2) return 0;
  let bytes = 0;
  for (const file of files) {
    try {
      const size = (await stat(file)).size;
      bytes += (await isGzip(file)) ? size * GZIP_RATIO : size;
    } catch {
      // Unreadable: parseLocalFiles reports it.
    }
  }
  return bytes < PARALLEL_MIN_BYTES ? 0 : Math.min(cpus - 1, MAX_WORKERS);
}

/** Parses the files and writes the CSVs. Files appear under their final names only once complete. */
export async function parseLogs(options: ParseLogsOptions): Promise<ParseLogsResult> {
  if (options.stdout === undefined && options.outDir === undefined)
    throw new Error('parseLogs needs outDir or stdout');
  const workers = options.workers ?? (await defaultWorkers(options.files));
  // With row workers, the rest of the parser runs on a thread of its own too, whose heap can be kept small: the
  // main thread's young generation alone would put the peak RSS past 200 MB (issue #2).
  if (workers > 0 && options.stdout === undefined && parseThreadAvailable()) {
    return parseOnThread({ ...options, workers });
  }
  return parseHere(options, workers);
}

/** parseLogs() on the calling thread, with `workers` row workers. */
export async function parseHere(options: ParseLogsOptions, workers: number): Promise<ParseLogsResult> {
  const outDir = options.outDir;
  if (outDir !== undefined && options.stdout === undefined) await mkdir(outDir, { recursive: true });

  const eventsPath = outDir === undefined ? undefined : join(outDir, 'events.csv');
  const eventsOut = options.stdout ?? createWriteStream(`${eventsPath}.partial`);
  const ctx = { host: options.host, accounts: options.accounts };
  // Rows built here, or (large inputs) on worker threads; the file is the same byte for byte.
  const rowWorkers = workers > 0 ? new RowWorkers(eventsOut, ctx, { workers, bom: options.bom }) : undefined;
  const rows =
    rowWorkers === undefined ? new CsvWriter(eventsOut, EVENT_COLUMNS, { bom: options.bom }) : undefined;
  const events = rowWorkers ?? rows!;
  const issuesPath = outDir === undefined ? undefined : join(outDir, 'parse-issues.csv');
  let issues: CsvWriter<(typeof ISSUE_COLUMNS)[number]> | undefined;
  const issuesByReason: Record<string, number> = {};
  const issue = (issue: ParseIssue): void => {
    issuesByReason[issue.reason] = (issuesByReason[issue.reason] ?? 0) + 1;
    if (issuesPath === undefined) return;
    issues ??= new CsvWriter(createWriteStream(`${issuesPath}.partial`), ISSUE_COLUMNS, {
      bom: options.bom,
    });
    issues.add(issueRow(options.host, issue));
  };

  const parser = new HostLogParser(
    { ...ctx, since: options.since, until: options.until },
    rows !== undefined
      ? { event: (parsed) => rows.add(parsed.row), issue }
      : { auditEvent: (event) => rowWorkers!.add(event), issue },
  );
  const written: string[] = [];
  try {
    const unreadable = await parseLocalFiles(options.files, parser, async () => {
      await events.drain();
      await issues?.drain();
    });
    await events.close();
    if (eventsPath !== undefined) {
      await rename(`${eventsPath}.partial`, eventsPath);
      written.push(eventsPath);
    }
    if (issues !== undefined && issuesPath !== undefined) {
      await issues.close();
      await rename(`${issuesPath}.partial`, issuesPath);
      written.push(issuesPath);
    }
    return { counters: parser.counters, unreadable, issuesByReason, written };
  } catch (err) {
    await rowWorkers?.stop();
    if (eventsPath !== undefined) await rm(`${eventsPath}.partial`, { force: true });
    if (issuesPath !== undefined) await rm(`${issuesPath}.partial`, { force: true });
    throw err;
  }
}
