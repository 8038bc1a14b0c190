/**
 * parseLogs() (parse-logs.ts) on the thread that runs it: the calling thread for a small input, the parse thread
 * (parse/parse-thread.ts) for a large one. Reads, tokenizes and reassembles here; the row stage (parse/row-workers.ts)
 * builds the rows and, for the report set, what the reports need, on its workers or here.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type HostFailureCode, SweepError } from './errors.js';
import { isWriteFailure, outputError } from './output-error.js';
import { HostLogParser } from './parse/host-parser.js';
import { parseLocalFiles, type UnreadableFile } from './parse/read-files.js';
import { RowWorkers } from './parse/row-workers.js';
import type { ParseLogsOptions, ParseLogsResult } from './parse-logs.js';
import { PRIVATE_DIR, PRIVATE_FILE } from './private-files.js';
import { DEFAULT_ALERT_RULES } from './report/alert-evaluator.js';
import { HOST_COLUMNS, hostRow, ISSUE_COLUMNS, issueRow } from './report/columns.js';
import { CsvTextWriter } from './report/csv-text-writer.js';
import { CsvWriter } from './report/csv-writer.js';
import type { ManifestInputFile } from './report/manifest.js';
import type { HostOutcome, ParseIssue } from './types.js';
import { EVENT_COLUMNS } from './types.js';

/** The modules that write the report set. */
async function loadReportWriters() {
  const [{ makeRunId, ReportSet, writeCsvFile }, { writeRunReports }] = await Promise.all([
    import('./report/write-reports.js'),
    import('./report/finish-run.js'),
  ]);
  return { makeRunId, ReportSet, writeCsvFile, writeRunReports };
}

/** Counts parse issues by reason and writes them to parse-issues.csv (opened at the first). */
class IssueFile {
  readonly byReason: Record<string, number> = {};
  private writer: CsvWriter<(typeof ISSUE_COLUMNS)[number]> | undefined;

  constructor(
    private readonly host: string,
    /** Undefined: count only (events to stdout). */
    readonly path: string | undefined,
    private readonly bom: boolean | undefined,
  ) {}

  add(issue: ParseIssue): void {
    this.byReason[issue.reason] = (this.byReason[issue.reason] ?? 0) + 1;
    if (this.path === undefined) return;
    this.writer ??= new CsvWriter(
      createWriteStream(`${this.path}.partial`, { mode: PRIVATE_FILE }),
      ISSUE_COLUMNS,
      {
        bom: this.bom,
      },
    );
    this.writer.add(issueRow(this.host, issue));
  }

  async drain(): Promise<void> {
    await this.writer?.drain();
  }

  /** Closes and renames the file; its data rows, or undefined when there was no issue. */
  async close(): Promise<number | undefined> {
    if (this.writer === undefined || this.path === undefined) return undefined;
    await this.writer.close();
    await rename(`${this.path}.partial`, this.path);
    return this.writer.rows;
  }
}

/**
 * parseLogs() on the calling thread, with `workers` row workers: the report set into `outDir`, or only the events
 * CSV (`eventsOnly`, `stdout`). Rows, findings and counts are made by the row stage (row-workers.ts) in batches of
 * events, on the workers or on this thread; either way the files are the same byte for byte.
 */
export async function parseHere(options: ParseLogsOptions, workers: number): Promise<ParseLogsResult> {
  const startedAt = new Date();
  const { host, bom } = options;
  const outDir = options.stdout === undefined ? options.outDir : undefined;
  const withReports = outDir !== undefined && !options.eventsOnly;
  if (outDir !== undefined) await mkdir(outDir, { recursive: true, mode: PRIVATE_DIR });
  const spoolDir = outDir === undefined ? undefined : join(outDir, '.spool');
  if (withReports && spoolDir !== undefined) await mkdir(spoolDir, { recursive: true, mode: PRIVATE_DIR });

  // The report set's writers only when they are needed (an events-only run has no use for their code).
  const reports = withReports ? await loadReportWriters() : undefined;
  const reportSet =
    reports !== undefined && outDir !== undefined && spoolDir !== undefined
      ? new reports.ReportSet({
          outDir,
          spoolDir,
          bom,
          accounts: options.accounts,
          alerts: options.alerts ?? DEFAULT_ALERT_RULES,
        })
      : undefined;
  const report = reportSet?.openHost(host);

  const eventsPath = outDir === undefined ? undefined : join(outDir, 'events.csv');
  const events = new CsvTextWriter(
    options.stdout ?? createWriteStream(`${eventsPath}.partial`, { mode: PRIVATE_FILE }),
    EVENT_COLUMNS,
    {
      bom,
    },
  );
  const issues = new IssueFile(
    host,
    outDir === undefined ? undefined : join(outDir, 'parse-issues.csv'),
    bom,
  );
  const stage = new RowWorkers({
    workers,
    accounts: options.accounts,
    report: reportSet?.stageReport,
  });
  const lane = stage.lane(host, (result) => {
    events.write(result.csv, result.events);
    if (result.report !== undefined) report?.addBatch(result.report);
  });
  const parser = new HostLogParser(
    { host, accounts: options.accounts, since: options.since, until: options.until },
    { auditEvent: (event) => lane.add(event), issue: (issue) => issues.add(issue) },
  );
  // The manifest lists each input with the SHA-256 of the bytes the parser was given (as stored: gzip stays gzip).
  const hashes = new Map<string, { hash: Hash; bytes: number }>();
  const onBytes = (path: string, chunk: Buffer): void => {
    let h = hashes.get(path);
    if (h === undefined) {
      h = { hash: createHash('sha256'), bytes: 0 };
      hashes.set(path, h);
    }
    h.hash.update(chunk);
    h.bytes += chunk.length;
  };

  const written: string[] = [];
  const rows = new Map<string, number>();
  try {
    const unreadable = await parseLocalFiles(
      options.files,
      parser,
      async () => {
        await stage.drain();
        await events.drain();
        await issues.drain();
        await report?.drain();
      },
      reportSet === undefined ? undefined : onBytes,
    );
    await lane.end();
    await stage.close();
    await events.close();
    if (eventsPath !== undefined) {
      await rename(`${eventsPath}.partial`, eventsPath);
      written.push(eventsPath);
    }
    rows.set('events.csv', events.rows);
    const issueRows = await issues.close();
    if (issueRows !== undefined && issues.path !== undefined) {
      written.push(issues.path);
      rows.set('parse-issues.csv', issueRows);
    }
    const counters = parser.counters;
    const result = { counters, unreadable, issuesByReason: issues.byReason, written };
    if (
      reports === undefined ||
      reportSet === undefined ||
      report === undefined ||
      outDir === undefined ||
      spoolDir === undefined
    ) {
      return result;
    }

    const bad = new Set(unreadable.map((u) => u.file));
    const inputs: ManifestInputFile[] = options.files.flatMap((file) => {
      const h = hashes.get(file);
      // A file that could not be read whole is named in hosts.csv's message instead: a hash of part of it proves nothing.
      return h === undefined || bad.has(file)
        ? []
        : [{ path: resolve(file), bytes: h.bytes, sha256: h.hash.digest('hex') }];
    });
    const outcome = parseOutcome(host, options.files, unreadable, {
      bytes: [...hashes.values()].reduce((n, h) => n + h.bytes, 0),
      events: counters.events,
      durationMs: Date.now() - startedAt.getTime(),
    });
    await report.finish(outcome.status);

    const hostsPath = join(outDir, 'hosts.csv');
    const hostRows = await reports.writeCsvFile(
      hostsPath,
      HOST_COLUMNS,
      [hostRow({ name: host, transport: 'local' }, outcome, { counters, warnings: [] })],
      bom,
    );
    written.push(hostsPath);
    rows.set('hosts.csv', hostRows);

    const run = await reports.writeRunReports({
      outDir,
      runId: options.runId ?? reports.makeRunId(startedAt),
      startedAt,
      window: { since: options.since, until: options.until },
      hosts: [outcome],
      reportSet,
      counters,
      warnings: [],
      rows,
      inputs,
      // The finding spools are joined into the report set by now.
      beforeManifest: () => rm(spoolDir, { recursive: true, force: true }),
    });
    written.push(...run.written);
    return {
      ...result,
      report: {
        outDir,
        outcome,
        alerts: run.alerts,
        warnings: run.warnings,
        findings: run.reportSet.findings,
      },
    };
  } catch (err) {
    await stage.stop();
    if (eventsPath !== undefined) await rm(`${eventsPath}.partial`, { force: true });
    if (issues.path !== undefined) await rm(`${issues.path}.partial`, { force: true });
    if (withReports && spoolDir !== undefined) await rm(spoolDir, { recursive: true, force: true });
    if (err instanceof SweepError) throw err;
    // A failed write (disk full…) says which and why; with the report set, anything else that went wrong while
    // writing it is reported the same way.
    const target = outDir ?? eventsPath ?? 'the events CSV';
    if (isWriteFailure(err) || (withReports && outDir !== undefined)) throw outputError(err, target);
    throw err;
  }
}

/** The hosts.csv code of a file that could not be read. */
function unreadableCode(u: UnreadableFile): HostFailureCode {
  if (/\bENOENT\b/.test(u.error)) return 'LOG_MISSING';
  if (/\b(EACCES|EPERM)\b/.test(u.error)) return 'PERMISSION_DENIED';
  return 'PROTOCOL';
}

/** hosts.csv's row for the host of a parse: `failed` when no file could be read, `partial` when some could not. */
function parseOutcome(
  host: string,
  files: readonly string[],
  unreadable: readonly UnreadableFile[],
  detail: { bytes: number; events: number; durationMs: number },
): HostOutcome {
  const common = { host, files: files.length - unreadable.length, ...detail };
  const first = unreadable[0];
  if (first === undefined) return { ...common, status: 'ok', message: '' };
  const message = unreadable.map((u) => `cannot read ${u.file}: ${u.error}`).join('; ');
  return unreadable.length === files.length
    ? { ...common, status: 'failed', code: unreadableCode(first), message }
    : { ...common, status: 'partial', code: unreadableCode(first), message };
}
