/**
 * The real corpus and its golden `aureport` (audit 3.0.9) output, for the summary and findings tests: each log
 * parsed on its own through the public parser (HostLogParser + parseLocalFiles), and readers for the
 * `--summary`, `--failed` and listing (`-au`, `-l`, `-m`, `-k`) files written beside it with TZ=UTC LC_ALL=C.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import type { AccountMaps, ParsedEvent, ParseIssue } from '../../src/types.js';

export const CORPUS =
  process.env.AUDITSWEEP_CORPUS ?? fileURLToPath(new URL('../../../shared/corpus', import.meta.url));
export const VARIANTS = ['enriched', 'raw', 'node-user', 'node-hostname'] as const;
export const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'] as const;

let accountMaps: AccountMaps | undefined;
/** The corpus machine's passwd and group (what aureport -i saw): names for ids of RAW logs. */
export function accounts(): AccountMaps {
  accountMaps ??= parseAccounts(
    readFileSync(join(CORPUS, 'accounts/passwd'), 'utf8'),
    readFileSync(join(CORPUS, 'accounts/group'), 'utf8'),
  ).maps;
  return accountMaps;
}

export interface ParsedLog {
  readonly path: string;
  readonly events: ParsedEvent[];
  readonly issues: ParseIssue[];
}

const cache = new Map<string, Promise<ParsedLog>>();

/** One corpus log, parsed alone (the golden files are per log), host = `variant/log`. */
export function parseCorpusLog(variant: string, log: string): Promise<ParsedLog> {
  const path = join(CORPUS, variant, log);
  let parsed = cache.get(path);
  if (parsed === undefined) {
    parsed = (async () => {
      const events: ParsedEvent[] = [];
      const issues: ParseIssue[] = [];
      const parser = new HostLogParser(
        { host: `${variant}/${log}`, accounts: accounts() },
        { event: (e) => events.push(e), issue: (i) => issues.push(i) },
      );
      await parseLocalFiles([path], parser);
      return { path, events, issues };
    })();
    cache.set(path, parsed);
  }
  return parsed;
}

/** `MM/DD/YY` and `HH:MM:SS[.mmm]` as aureport prints them with TZ=UTC → epoch milliseconds. */
export function goldenTime(date: string, time: string): number {
  const [mm, dd, yy] = date.split('/').map(Number);
  const [hms = '', milli = '0'] = time.split('.');
  const [h, m, s] = hms.split(':').map(Number);
  return Date.UTC(2000 + (yy ?? 0), (mm ?? 1) - 1, dd ?? 1, h ?? 0, m ?? 0, s ?? 0) + Number(milli);
}

export interface GoldenSummary {
  /** "Number of X: N" → N, keyed by X. */
  readonly counts: ReadonlyMap<string, number>;
  /** "Range of time in logs": epoch ms of its two ends. */
  readonly rangeStart: number;
  readonly rangeEnd: number;
}

/** `aureport --summary` (or `--failed`) output. */
export function readSummary(path: string): GoldenSummary {
  const counts = new Map<string, number>();
  let rangeStart = Number.NaN;
  let rangeEnd = Number.NaN;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const count = /^Number of (.+): (\d+)$/.exec(line);
    if (count) counts.set(count[1]!, Number(count[2]));
    const range = /^Range of time in logs: (\S+) (\S+) - (\S+) (\S+)$/.exec(line);
    if (range) {
      rangeStart = goldenTime(range[1]!, range[2]!);
      rangeEnd = goldenTime(range[3]!, range[4]!);
    }
  }
  return { counts, rangeStart, rangeEnd };
}

export interface ListingLine {
  /** Epoch ms of the event's second (listings print no milliseconds). */
  readonly time: number;
  /** The columns between the time and the event serial, as printed. */
  readonly cells: readonly string[];
  readonly serial: string;
}

/**
 * A detailed aureport listing: `N. MM/DD/YY HH:MM:SS cell … serial`. Cells never hold spaces in this corpus except
 * `(invalid user)`, which is rejoined.
 */
export function readListing(path: string): ListingLine[] {
  const lines: ListingLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\d+\. (\S+) (\S+) (.*) (\d+)$/.exec(line);
    if (!m) continue;
    const cells = m[3]!.replaceAll('(invalid user)', '(invalid\u0000user)').split(' ');
    lines.push({
      time: goldenTime(m[1]!, m[2]!),
      cells: cells.map((c) => c.replaceAll('\u0000', ' ')),
      serial: m[4]!,
    });
  }
  return lines;
}

/** Epoch ms of our ISO `time` cut to the second, as listings print it. */
export function toSecond(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000) * 1000;
}

/** An empty value as aureport prints it. */
export function orQuestion(v: string | undefined): string {
  return v === undefined || v === '' ? '?' : v;
}
