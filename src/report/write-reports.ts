/**
 * The report set of one run, `reports/<run-id>/`: summary.csv, one findings CSV per kind, and the top list of
 * authentication failures, written from the parsed events as each host streams by.
 *
 * Hosts are collected concurrently, so each host gets a {@link HostReportSink}: its finding rows go to its own
 * spool file per kind (memory stays bounded), its summary counts and failure tops to its own accumulators. When
 * the host ends, a failed host's spools and counts are dropped (nothing half-parsed of it reaches a report, as
 * for events.csv) and the others' are joined to the run. `ReportSet.finish` concatenates the kept spools in host
 * name order, so that rows are ordered by (host, time, serial), and writes each file atomically (`.partial`, then
 * rename). The run-wide parts of report.html (timeline, finding samples, alerts) are fed as events stream by.
 *
 * A sink takes events one by one (`event`), or, from the row stage (parse/row-workers.ts), what a batch of events
 * adds to the reports, made where the batch's rows were built (`addBatch`, report/batch-report.ts). Either way
 * the events pass through the same BatchReporter, so the files are the same.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SweepError } from '../errors.js';
import { safeFileName } from '../file-name.js';
import { outputError, StreamFailure } from '../output-error.js';
import { PRIVATE_DIR, PRIVATE_FILE } from '../private-files.js';
import type { AccountMaps, HostOutcome, ParsedEvent } from '../types.js';
import { AlertEvaluator } from './alert-evaluator.js';
import type { AlertRule } from './alerts.js';
import { type BatchReport, BatchReporter, type BatchReporterOptions } from './batch-report.js';
import { CsvTextWriter } from './csv-text-writer.js';
import { CsvWriter } from './csv-writer.js';
import {
  AUTH_FAILURE_TOP_COLUMNS,
  AUTH_FAILURE_TOP_FILE,
  type AuthFailureTopRow,
  AuthFailureTops,
  type AuthFailureTopsOptions,
  FINDING_COLUMNS,
  FINDING_FILES,
  FINDING_KINDS,
  type FindingKind,
} from './findings.js';
import { FindingDigest } from './html-findings.js';
import {
  FLEET_HOST,
  SUMMARY_COLUMNS,
  SummaryAccumulator,
  type SummaryOptions,
  type SummaryRow,
} from './summary.js';
import { TimelineAccumulator } from './timeline.js';

export const SUMMARY_FILE = 'summary.csv';

/** What a report file is, for the mail's attachment policy (the same words as its `ReportFile.kind`). */
export type ReportFileKind = 'summary' | 'hosts' | 'finding' | 'events' | 'other';

/** One file written into the run folder. */
export interface WrittenReport {
  /** Name relative to the run folder (`findings-logins.csv`). */
  readonly name: string;
  readonly path: string;
  readonly kind: ReportFileKind;
  /** Data rows (the header is not a row). */
  readonly rows: number;
}

/** Fleet totals from the `(all)` row of summary.csv; the distinct counts are left out (they may read `≥N`). */
export interface FleetTotals {
  readonly events: number;
  readonly logins: number;
  readonly failedLogins: number;
  readonly authentications: number;
  readonly failedAuthentications: number;
  readonly accountChanges: number;
  readonly configChanges: number;
  readonly failedSyscalls: number;
  readonly anomalies: number;
  readonly macEvents: number;
  readonly avcs: number;
  readonly failedEvents: number;
  readonly [counter: string]: number;
}

export interface ReportSetResult {
  readonly files: WrittenReport[];
  /** The fleet's top auth-failure sources and targets (findings-auth-failures-top.csv's fleet rows included). */
  readonly authFailureTops: AuthFailureTopRow[];
  /** summary.csv's rows: one per selected host (sorted by name), then `(all)`. */
  readonly summaryRows: SummaryRow[];
  readonly totals: FleetTotals;
  /** Rows of each findings file. */
  readonly findings: Record<FindingKind, number>;
}

export interface ReportSetOptions {
  /** The run folder the reports go to. */
  readonly outDir: string;
  /** Where per-host spools are kept while hosts are collected (removed by the caller with the rest of it). */
  readonly spoolDir: string;
  readonly bom?: boolean | undefined;
  /** The hosts' passwd/group, to name the account of an account change logged by id only (RAW logs). */
  readonly accounts?: AccountMaps | undefined;
  /** Entries per host and dimension in the auth-failure top list (default 10). */
  readonly topN?: number | undefined;
  readonly summary?: SummaryOptions | undefined;
  readonly tops?: AuthFailureTopsOptions | undefined;
  /** Alert rules evaluated over the findings (default none; the sweep and parse pass DEFAULT_ALERT_RULES). */
  readonly alerts?: readonly AlertRule[] | undefined;
}

/** A run id: UTC time to the second, sortable and safe as a folder name (`2026-11-23T080000Z`). */
export function makeRunId(now: Date = new Date()): string {
  return now.toISOString().replace(/[:]/g, '').replace(/\..+$/, 'Z');
}

/**
 * Creates a fresh run folder `<root>/<run id>` and returns its path. The run id is sanitised ({@link safeFileName});
 * when a folder of that name exists already (two runs in one second, or a re-run with the same id), `-2`, `-3`, …
 * is appended: an earlier run is never written into. `mkdir` without `recursive` claims the name atomically.
 */
export async function claimRunFolder(root: string, runId: string): Promise<{ dir: string; runId: string }> {
  await mkdir(root, { recursive: true });
  const base = safeFileName(runId);
  for (let n = 1; n < 10_000; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    const dir = join(root, id);
    try {
      await mkdir(dir, { mode: PRIVATE_DIR });
      return { dir, runId: id };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new SweepError('USAGE', `no free run folder under ${root} for run id ${base}`);
}

/** Appends the data rows of `files` (each with its own header line) to `out`, in order. */
export async function concatCsv(files: readonly string[], out: Writable): Promise<void> {
  for (const file of files) {
    let skippedHeader = false;
    await pipeline(
      createReadStream(file),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          if (skippedHeader) {
            yield chunk;
            continue;
          }
          // Spools are written without a BOM and with plain column names: the header ends at the first newline.
          const nl = chunk.indexOf(0x0a);
          if (nl < 0) continue; // a header longer than a chunk: keep looking
          skippedHeader = true;
          if (nl + 1 < chunk.length) yield chunk.subarray(nl + 1);
        }
      },
      out,
      { end: false },
    );
  }
}

function headerLine(columns: readonly string[], bom: boolean | undefined): string {
  return `${bom ? '\ufeff' : ''}${columns.join(',')}\r\n`;
}

/**
 * Writes `path` from a header and the spools (CSV files of the same columns, header first) atomically: into
 * `path.partial`, renamed at the end, so that a report file is whole or absent.
 */
export async function mergeCsvSpools(
  path: string,
  columns: readonly string[],
  spools: readonly string[],
  bom?: boolean,
): Promise<void> {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { flags: 'wx', mode: PRIVATE_FILE });
  const failure = new StreamFailure(out);
  try {
    out.write(headerLine(columns, bom));
    await concatCsv(spools, out);
    failure.check();
    out.end();
    await failure.until('finish');
    await rename(partial, path);
  } catch (err) {
    throw outputError(err, partial);
  }
}

/** Writes rows to `path` atomically (`.partial`, then rename). */
export async function writeCsvFile<C extends string>(
  path: string,
  columns: readonly C[],
  rows: Iterable<Readonly<Record<C, string>>>,
  bom?: boolean,
): Promise<number> {
  const partial = `${path}.partial`;
  const csv = new CsvWriter(createWriteStream(partial, { flags: 'wx', mode: PRIVATE_FILE }), columns, {
    bom,
  });
  for (const row of rows) {
    csv.add(row);
    await csv.drain();
  }
  await csv.close();
  await rename(partial, path);
  return csv.rows;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A count of 0 for every findings kind. */
export function emptyFindingCounts(): Record<FindingKind, number> {
  return Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
}

/** The fleet totals of summary rows (their `(all)` row). */
export function fleetTotals(rows: readonly SummaryRow[]): FleetTotals {
  const all = rows.find((r) => r.host === FLEET_HOST);
  const n = (v: string | undefined): number => (v === undefined || v === '' ? 0 : Number(v));
  return {
    events: n(all?.events),
    logins: n(all?.logins),
    failedLogins: n(all?.failed_logins),
    authentications: n(all?.authentications),
    failedAuthentications: n(all?.failed_authentications),
    accountChanges: n(all?.account_changes),
    configChanges: n(all?.config_changes),
    failedSyscalls: n(all?.failed_syscalls),
    anomalies: n(all?.anomalies),
    macEvents: n(all?.mac_events),
    avcs: n(all?.avcs),
    failedEvents: n(all?.failed_events),
  };
}

/** What one host left for the reports once it ended without failing. */
interface KeptHost {
  readonly spools: ReadonlyMap<FindingKind, string>;
  readonly rows: Record<FindingKind, number>;
}

/** Events a sink's own reporter gathers before it adds them (HostReportSink.event). */
const SINK_BATCH_EVENTS = 100;

/** The run-wide parts of the report set that every host's batches feed (report.html's timeline, samples, alerts). */
interface RunParts {
  readonly timeline: TimelineAccumulator;
  readonly digest: FindingDigest;
  readonly alerts: AlertEvaluator;
}

/**
 * The report rows of one host while it is collected: `event(parsed)` per parsed event (in the parser's order) or
 * `addBatch(report)` per batch of events from the row stage (in batch order), `drain()` after each input chunk for
 * backpressure, `finish(status)` once at the end.
 */
export class HostReportSink {
  private readonly writers = new Map<FindingKind, CsvTextWriter>();
  private readonly spools = new Map<FindingKind, string>();
  private readonly summary: SummaryAccumulator;
  private readonly tops: AuthFailureTops;
  private reporter: BatchReporter | undefined;
  private pending = 0;
  private finished = false;

  /** @internal Made by {@link ReportSet.openHost}. */
  constructor(
    readonly host: string,
    private readonly spoolBase: string,
    private readonly options: ReportSetOptions,
    private readonly run: RunParts,
    private readonly onFinish: (sink: HostReportSink, kept: KeptHost | undefined) => void,
  ) {
    this.summary = new SummaryAccumulator(options.summary);
    this.summary.addHost(host);
    this.tops = new AuthFailureTops(options.tops);
  }

  /** Counts one event and spools its finding rows (in batches of SINK_BATCH_EVENTS). */
  event(parsed: ParsedEvent): void {
    if (this.reporter === undefined) {
      this.reporter = new BatchReporter({
        accounts: this.options.accounts,
        alerts: this.options.alerts ?? [],
      });
    }
    if (this.pending === 0) this.reporter.begin(this.host, this.run.digest.wanted());
    this.reporter.add(parsed);
    if (++this.pending >= SINK_BATCH_EVENTS) this.flush();
  }

  /**
   * Adds what a batch of this host's events adds to the reports (made by a BatchReporter with this set's
   * `reporterOptions`, begun with this host and `samplesWanted()` at the time). Batches come in the order of
   * their events.
   */
  addBatch(report: BatchReport): void {
    if (this.finished) throw new SweepError('INTERNAL', `report rows of ${this.host} added after its end`);
    // Events given one by one before come first.
    this.flush();
    this.apply(report);
  }

  private apply(report: BatchReport): void {
    if (report.summary !== undefined) this.summary.addDelta(this.host, report.summary);
    FINDING_KINDS.forEach((kind, k) => {
      const n = report.findingRows[k] ?? 0;
      if (n > 0) this.writer(kind).write(report.findingCsv[k]!, n);
    });
    this.tops.addPairs(this.host, report.authFailures);
    this.run.timeline.addDelta(this.host, report.timeline);
    this.run.digest.addBatch(report.findingRows, report.samples);
    this.run.alerts.addTally(this.host, report.alerts);
  }

  /** Waits while a spool file is full. */
  async drain(): Promise<void> {
    this.flush();
    for (const w of this.writers.values()) await w.drain();
  }

  /**
   * Closes the spools. A `failed` host's spools and counts are dropped; an `ok` or `partial` host's are kept for
   * the reports (a partial host is marked so in hosts.csv).
   */
  async finish(status: HostOutcome['status']): Promise<void> {
    if (this.finished) throw new SweepError('INTERNAL', `report rows of ${this.host} finished twice`);
    this.flush();
    this.finished = true;
    const rows = emptyFindingCounts();
    for (const [kind, w] of this.writers) {
      await w.close();
      rows[kind] = w.rows;
    }
    if (status === 'failed') {
      for (const path of this.spools.values()) await rm(path, { force: true });
      this.onFinish(this, undefined);
      return;
    }
    this.onFinish(this, { spools: this.spools, rows });
  }

  /** @internal The host's counts, joined to the run's by {@link ReportSet}. */
  get counts(): { summary: SummaryAccumulator; tops: AuthFailureTops } {
    return { summary: this.summary, tops: this.tops };
  }

  /** Adds the events gathered by `event`. */
  private flush(): void {
    if (this.pending === 0 || this.reporter === undefined) return;
    this.pending = 0;
    this.apply(this.reporter.take());
  }

  private writer(kind: FindingKind): CsvTextWriter {
    let w = this.writers.get(kind);
    if (w === undefined) {
      // Opened on a host's first finding of a kind: most hosts have only a few kinds.
      const path = `${this.spoolBase}.${kind}.csv`;
      w = new CsvTextWriter(
        createWriteStream(path, { flags: 'wx', mode: PRIVATE_FILE }),
        FINDING_COLUMNS[kind],
      );
      this.writers.set(kind, w);
      this.spools.set(kind, path);
    }
    return w;
  }
}

/**
 * The report set of one run: `openHost(name)` for each host as its collection starts, `finish(outcomes)` once
 * every host has ended. Writes summary.csv, findings-<kind>.csv (each always, header-only when empty) and
 * findings-auth-failures-top.csv into the run folder.
 */
export class ReportSet {
  /** report.html's charts: every event of every host, as it streams by. */
  readonly timeline = new TimelineAccumulator();
  /** report.html's finding counts and samples. */
  readonly digest = new FindingDigest();
  /** The alert rules over every finding. */
  readonly alerts: AlertEvaluator;
  private readonly summary: SummaryAccumulator;
  private readonly tops: AuthFailureTops;
  private readonly kept = new Map<string, KeptHost>();
  private readonly open = new Set<string>();
  private readonly dropped = new Set<string>();
  private n = 0;

  constructor(private readonly options: ReportSetOptions) {
    this.summary = new SummaryAccumulator(options.summary);
    this.tops = new AuthFailureTops(options.tops);
    this.alerts = new AlertEvaluator(options.alerts ?? []);
  }

  /** What a BatchReporter making batches for this set's sinks is made with (on a row worker, say). */
  get reporterOptions(): BatchReporterOptions {
    return { accounts: this.options.accounts, alerts: this.options.alerts ?? [] };
  }

  /** The `wanted` of a batch begun now (BatchReporter.begin): the kinds whose samples still want rows. */
  samplesWanted(): number {
    return this.digest.wanted();
  }

  /** How a row stage (parse/row-workers.ts) makes each batch's report for this set's sinks. */
  get stageReport(): { readonly alerts: readonly AlertRule[]; wanted(): number } {
    return { alerts: this.reporterOptions.alerts, wanted: () => this.samplesWanted() };
  }

  /** The sink for `host`'s events. Each host is opened once. */
  openHost(host: string): HostReportSink {
    if (this.open.has(host) || this.kept.has(host) || this.dropped.has(host)) {
      throw new SweepError('INTERNAL', `report rows of ${host} opened twice`);
    }
    this.open.add(host);
    // The index keeps two hosts whose names sanitise alike apart; the name is only there for a reader.
    const base = join(
      this.options.spoolDir,
      `${String(this.n++).padStart(5, '0')}-${safeFileName(host)}.findings`,
    );
    return new HostReportSink(host, base, this.options, this, (sink, kept) => {
      this.open.delete(host);
      if (kept === undefined) {
        this.dropped.add(host);
        return;
      }
      this.kept.set(host, kept);
      this.summary.merge(sink.counts.summary);
      this.tops.merge(sink.counts.tops);
    });
  }

  /**
   * Writes the report files. `outcomes` names every selected host: each gets a summary row, zero counts when it
   * failed or was never opened. Resolves with the files written, the summary rows and the finding counts.
   */
  async finish(outcomes: readonly Pick<HostOutcome, 'host' | 'status'>[]): Promise<ReportSetResult> {
    if (this.open.size > 0) {
      throw new SweepError('INTERNAL', `report rows still open for ${[...this.open].join(', ')}`);
    }
    await mkdir(this.options.outDir, { recursive: true, mode: PRIVATE_DIR });
    for (const o of outcomes) {
      if (o.status === 'failed' && this.kept.has(o.host)) {
        // Cannot happen through runSweep (the sink is finished with the host's own status); kept defensive so a
        // failed host never reaches a report.
        throw new SweepError('INTERNAL', `host ${o.host} failed but its report rows were kept`);
      }
      this.summary.addHost(o.host);
    }
    const files: WrittenReport[] = [];
    const bom = this.options.bom;

    const summaryRows = this.summary.rows();
    const summaryPath = join(this.options.outDir, SUMMARY_FILE);
    await writeCsvFile(summaryPath, SUMMARY_COLUMNS, summaryRows, bom);
    files.push({ name: SUMMARY_FILE, path: summaryPath, kind: 'summary', rows: summaryRows.length });

    const hosts = [...this.kept.keys()].sort(byName);
    const findings = emptyFindingCounts();
    for (const kind of FINDING_KINDS) {
      const spools: string[] = [];
      for (const host of hosts) {
        const kept = this.kept.get(host)!;
        const spool = kept.spools.get(kind);
        if (spool !== undefined) spools.push(spool);
        findings[kind] += kept.rows[kind];
      }
      const name = FINDING_FILES[kind];
      const path = join(this.options.outDir, name);
      await mergeCsvSpools(path, FINDING_COLUMNS[kind], spools, bom);
      files.push({ name, path, kind: 'finding', rows: findings[kind] });
    }

    const topPath = join(this.options.outDir, AUTH_FAILURE_TOP_FILE);
    const authFailureTops = this.tops.rows(this.options.topN ?? 10);
    const topRows = await writeCsvFile(topPath, AUTH_FAILURE_TOP_COLUMNS, authFailureTops, bom);
    files.push({ name: AUTH_FAILURE_TOP_FILE, path: topPath, kind: 'finding', rows: topRows });

    return { files, authFailureTops, summaryRows, totals: fleetTotals(summaryRows), findings };
  }
}

export { safeFileName };
