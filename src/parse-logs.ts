/**
 * `auditsweep parse`: local log files of one host → events.csv (+ parse-issues.csv when lines were bad).
 * The same parser the sweep uses; files are given oldest first and read as one stream of records.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { HostLogParser } from './parse/host-parser.js';
import { parseLocalFiles, type UnreadableFile } from './parse/read-files.js';
import { ISSUE_COLUMNS, issueRow } from './report/columns.js';
import { CsvWriter } from './report/csv-writer.js';
import type { AccountMaps, ParseCounters } from './types.js';
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
}

export interface ParseLogsResult {
  readonly counters: ParseCounters;
  readonly unreadable: UnreadableFile[];
  /** Issues by reason, for the one-line summary. */
  readonly issuesByReason: Record<string, number>;
  /** Files written (final names). */
  readonly written: string[];
}

/** Parses the files and writes the CSVs. Files appear under their final names only once complete. */
export async function parseLogs(options: ParseLogsOptions): Promise<ParseLogsResult> {
  const outDir = options.outDir;
  if (options.stdout === undefined && outDir === undefined)
    throw new Error('parseLogs needs outDir or stdout');
  if (outDir !== undefined && options.stdout === undefined) await mkdir(outDir, { recursive: true });

  const eventsPath = outDir === undefined ? undefined : join(outDir, 'events.csv');
  const eventsOut = options.stdout ?? createWriteStream(`${eventsPath}.partial`);
  const events = new CsvWriter(eventsOut, EVENT_COLUMNS, { bom: options.bom });
  const issuesPath = outDir === undefined ? undefined : join(outDir, 'parse-issues.csv');
  let issues: CsvWriter<(typeof ISSUE_COLUMNS)[number]> | undefined;
  const issuesByReason: Record<string, number> = {};

  const parser = new HostLogParser(
    { host: options.host, accounts: options.accounts, since: options.since, until: options.until },
    {
      event: (parsed) => events.add(parsed.row),
      issue: (issue) => {
        issuesByReason[issue.reason] = (issuesByReason[issue.reason] ?? 0) + 1;
        if (issuesPath === undefined) return;
        issues ??= new CsvWriter(createWriteStream(`${issuesPath}.partial`), ISSUE_COLUMNS, {
          bom: options.bom,
        });
        issues.add(issueRow(options.host, issue));
      },
    },
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
    if (eventsPath !== undefined) await rm(`${eventsPath}.partial`, { force: true });
    if (issuesPath !== undefined) await rm(`${issuesPath}.partial`, { force: true });
    throw err;
  }
}
