/**
 * The composer: inventory → select → fetch (→ parse) → report files → manifest. The only file that knows the order.
 *
 * Each host's rows are spooled to their own files while it is collected (hosts run concurrently): its events,
 * parse issues and finding rows (report/write-reports.ts). The spools are then concatenated in host order, so rows
 * come out ordered by (host, time, serial) without holding a fleet's events in memory. A failed host's spools and
 * counts are dropped; a partial one's are kept and the host is marked `partial` in hosts.csv. manifest.json, with
 * the SHA-256 of every file of the run folder, is written last of the reports (report/finish-run.ts, as `parse`).
 *
 * The main thread fetches, tokenizes and reassembles every host's events; the row stage (parse/row-workers.ts)
 * builds their rows, classifies the findings and counts, in batches of one host's events, on row workers once the
 * sweep is large enough, and hands each host its results in order.
 *
 * Alerts (report/alerts.ts) are evaluated in the same pass as the findings and lead report.html and the manifest.
 * Then, when mail is configured, the mail stage sends the report (or writes `message.eml` for a dry run) and the
 * outcome goes into `mail.json`. Both come after manifest.json and are not in it: the manifest seals the reports,
 * and a mail that fails never changes or removes them.
 *
 * An events-only sweep (`eventsOnly`) takes the same path to events.csv, parse-issues.csv and hosts.csv, without
 * the report set: no finding work in the row stage, no summary, findings, report.html, alerts or mail; its
 * manifest says so.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TimeWindow } from './config/window.js';
import { type ErrorCode, isSweepError, SweepError } from './errors.js';
import type { AuthOptions } from './fetch/auth.js';
import { fetchFleet, type HostOutput } from './fetch/fetch-fleet.js';
import type { FetchedFile, HostFetchResult } from './fetch/fetch-host.js';
import type { SessionTimeouts } from './fetch/session.js';
import { hostStateKey, type LogCursor, loadState, type SweepState, saveState } from './fetch/state.js';
import { formatIssue, type HostSelection, loadInventory, selectHosts } from './inventory/index.js';
import type { InventoryDefaults, InventoryHost } from './inventory/types.js';
import {
  dryRunPathFor,
  type MailReport,
  type MailSettings,
  mailReport,
  resolveSmtpConnection,
  smtpReply,
} from './mail/index.js';
import { isOutputFailure, isWriteFailure, outputError } from './output-error.js';
import { HostParseWorkers, hostParseWorkerCount } from './parse/host-parse-workers.js';
import type { HostLogInput } from './parse/host-parser.js';
import type { BatchResult } from './parse/row-worker.js';
import { RowWorkers, rowWorkerCount } from './parse/row-workers.js';
import { PRIVATE_DIR, PRIVATE_FILE } from './private-files.js';
import { DEFAULT_ALERT_RULES, type FiredAlert } from './report/alert-evaluator.js';
import type { AlertRule } from './report/alerts.js';
import { HOST_COLUMNS, hostRow, ISSUE_COLUMNS, issueRow } from './report/columns.js';
import { CsvTextWriter } from './report/csv-text-writer.js';
import { CsvWriter } from './report/csv-writer.js';
import type { FindingKind } from './report/findings.js';
import { type RunInput, writeEventsOnlyManifest, writeRunReports } from './report/finish-run.js';
import { MANIFEST_FILE, type Manifest, type ManifestFile } from './report/manifest.js';
import { ensureFreshOutDir } from './report/out-dir.js';
import type { SummaryRow } from './report/summary.js';
import {
  claimRunFolder,
  emptyFindingCounts,
  type FleetTotals,
  fleetTotals,
  makeRunId,
  mergeCsvSpools,
  type ReportFileKind,
  ReportSet,
  safeFileName,
} from './report/write-reports.js';
import {
  type AccountMaps,
  EVENT_COLUMNS,
  emptyCounters,
  type HostOutcome,
  type ParseCounters,
  type ParseIssue,
} from './types.js';

export interface SweepConfig {
  readonly inventoryFiles: readonly string[];
  /** OpenSSH client config; undefined = ~/.ssh/config, false = none. */
  readonly sshConfigFile?: string | false | undefined;
  readonly selection: HostSelection;
  /** Settings below the inventory's own (e.g. `--user`). */
  readonly defaults?: InventoryDefaults | undefined;
  /**
   * Output folder chosen by the caller (`--out`); must not hold an earlier report. Without it the run gets a fresh
   * folder `<reportsDir>/<run id>` (a suffix is appended when that name is taken).
   */
  readonly outDir?: string | undefined;
  /** Where default run folders go (default `reports`). */
  readonly reportsDir?: string | undefined;
  /** The run id (default: the UTC start time, e.g. `2026-11-23T080000Z`); sanitised before it names a folder. */
  readonly runId?: string | undefined;
  readonly window: TimeWindow;
  readonly concurrency?: number | undefined;
  readonly connectConcurrency?: number | undefined;
  readonly hostDeadlineMs?: number | undefined;
  readonly knownHostsFiles?: readonly string[] | undefined;
  readonly auth?: AuthOptions | undefined;
  readonly timeouts?: Partial<SessionTimeouts> | undefined;
  readonly retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number } | undefined;
  readonly insecureAcceptUnknownHostKeys?: boolean | undefined;
  /** `--incremental`: read only what was written since the state file's cursor. */
  readonly incremental?: boolean | undefined;
  readonly stateFile?: string | undefined;
  /** `--keep-raw`: keep the exact bytes received under DIR/raw with a manifest. */
  readonly keepRaw?: boolean | undefined;
  /**
   * `--events-only`: the fast path for another tool to ingest. The row stage builds the rows alone (no finding is
   * classified, no summary counted, no alert rule evaluated), and the run folder gets events.csv, parse-issues.csv
   * (when lines were bad) and hosts.csv, the same bytes as a full sweep's, raw/ with `keepRaw`, and manifest.json
   * last, whose warnings say it is an events-only run (findings `{}`, alerts `[]`); no summary.csv,
   * findings-*.csv or report.html. The incremental state and the spool are handled as in a full sweep. `mail`, or
   * a non-empty `alerts`, with it is a USAGE error before any host is contacted. The summary's `summaryRows` and
   * `alerts` are empty, every `findings` count and every total but `events` (the parse counters') is 0.
   */
  readonly eventsOnly?: boolean | undefined;
  readonly bom?: boolean | undefined;
  readonly accounts?: AccountMaps | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Asked once the hosts are known and before any connection; false cancels the sweep (USAGE). */
  readonly confirm?: ((hosts: readonly InventoryHost[], outDir: string) => Promise<boolean>) | undefined;
  /** The hosts the selection resolved to, once, before `confirm` and any connection (a progress view's total). */
  readonly onHostsSelected?: ((hosts: readonly InventoryHost[]) => void) | undefined;
  /** Progress callbacks (the CLI prints one line per host outcome). */
  readonly onHostStart?: ((host: InventoryHost) => void) | undefined;
  /** A host's running totals (bytes received, events parsed) after each chunk it sends. */
  readonly onHostProgress?: ((host: InventoryHost, bytes: number, events: number) => void) | undefined;
  readonly onHostDone?: ((outcome: HostOutcome) => void) | undefined;
  /** Alert rules (report/alerts.ts); default DEFAULT_ALERT_RULES, `[]` for none. */
  readonly alerts?: readonly AlertRule[] | undefined;
  /** Mail the report once it is on disk; `dryRun` writes `message.eml` into the run folder instead of sending. */
  readonly mail?: SweepMailSettings | undefined;
  /** The mail stage's progress lines (retries, warnings), credentials scrubbed. */
  readonly onMailLog?: ((line: string) => void) | undefined;
}

export type SweepMailSettings = MailSettings & { readonly dryRun?: boolean | undefined };

/** Where the mail outcome is written in the run folder (after manifest.json, so not listed in it). */
export const MAIL_RESULT_FILE = 'mail.json';

/** What became of the mail: also written to `mail.json` in the run folder. */
export type MailOutcome =
  | {
      readonly status: 'sent';
      readonly to: readonly string[];
      /** Recipients the server accepted and refused. */
      readonly accepted: readonly string[];
      readonly rejected: readonly string[];
      readonly messageId: string;
      /** The server's final reply. */
      readonly response: string;
      readonly attempts: number;
      readonly bytes: number;
      readonly attachments: readonly string[];
      /** Report files left out of the mail (too large, …): they are on disk. */
      readonly leftOut: readonly string[];
      readonly warnings: readonly string[];
    }
  | {
      readonly status: 'dry-run';
      /** `<run folder>/message.eml`. */
      readonly path: string;
      readonly to: readonly string[];
      readonly messageId: string;
      readonly bytes: number;
      readonly attachments: readonly string[];
      readonly leftOut: readonly string[];
      readonly warnings: readonly string[];
    }
  | {
      readonly status: 'failed';
      readonly to: readonly string[];
      readonly code: ErrorCode;
      /** One line, the SMTP reply included when the server sent one. */
      readonly message: string;
      readonly reply?: { readonly code: number; readonly text: string } | undefined;
    };

/**
 * Events a sweep of one host brings before its row workers start (about 16 MiB of ENRICHED log, as `parse`'s
 * threshold): a smaller sweep is parsed on the main thread alone. Starting the threads costs ~0.2 CPU-s and each
 * event a little more CPU on threads than on one; measured on 2 CPUs (bench/fetch.mjs --hosts 4: 8 MiB), a sweep
 * of a few MiB is slower with workers than without.
 */
const SWEEP_WORKERS_AFTER_EVENTS = 16_000;

/** A file of the run folder, as the later stages (mail, report.html) need it. */
export interface SweepReportFile {
  /** Relative to the run folder, `/`-separated. */
  readonly name: string;
  readonly path: string;
  readonly kind: ReportFileKind;
  readonly bytes: number;
  readonly sha256: string;
  /** Data rows of the CSV files the run wrote. */
  readonly rows?: number;
}

export interface SweepSummary {
  /** The run id, as it names the run folder when the folder is the default one. */
  readonly runId: string;
  readonly outDir: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly window: TimeWindow;
  readonly selected: readonly InventoryHost[];
  /** One per selected host, in inventory order. */
  readonly outcomes: HostOutcome[];
  readonly counters: ParseCounters;
  /** Paths of the files written, manifest.json last. */
  readonly written: string[];
  /** Every file of the run folder but manifest.json, with its kind, size and SHA-256 (as in the manifest). */
  readonly reports: SweepReportFile[];
  /** summary.csv's rows: one per selected host, then `(all)`; none with `eventsOnly`. */
  readonly summaryRows: SummaryRow[];
  /**
   * Fleet totals (the `(all)` row as numbers): events, failedLogins, failedAuthentications, … With `eventsOnly`
   * only `events` is counted (the parse counters'); the others are 0.
   */
  readonly totals: FleetTotals;
  /** Rows of each findings file; every count 0 with `eventsOnly` (nothing classified). */
  readonly findings: Record<FindingKind, number>;
  readonly manifest: Manifest;
  /** Security warnings that every report must carry. */
  readonly warnings: string[];
  readonly files: ReadonlyMap<string, FetchedFile[]>;
  /** Alerts that fired, in rule order (report.html and the mail order them by severity); none with `eventsOnly`. */
  readonly alerts: FiredAlert[];
  /** Present when mail was configured. */
  readonly mail?: MailOutcome | undefined;
}

interface Spool {
  readonly events: string;
  readonly issues: string;
  readonly eventRows: number;
  readonly issueRows: number;
}

/** One sweep once its hosts are chosen and its folder claimed: what every later step needs. */
interface Run {
  readonly config: SweepConfig;
  readonly hosts: readonly InventoryHost[];
  readonly runId: string;
  /** The run folder. */
  readonly outDir: string;
  /** The hosts' spools while they are collected; removed before the manifest. */
  readonly spoolDir: string;
}

/** What collecting the fleet leaves: every host's fetch result and outcome, and the spools of those not failed. */
interface Collected {
  readonly results: ReadonlyMap<string, HostFetchResult>;
  readonly outcomes: ReadonlyMap<string, HostOutcome>;
  readonly spools: ReadonlyMap<string, Spool>;
}

/** events.csv, parse-issues.csv (when lines were bad) and hosts.csv: written alike with or without the report set. */
interface RowFiles {
  readonly written: string[];
  /** Data rows of each file, by name. */
  readonly rows: Map<string, number>;
  readonly counters: ParseCounters;
}

/** What sealing the run folder adds to the summary: the report set's parts (none with eventsOnly), the manifest. */
interface Sealed {
  /** The report set's files and report.html, in the order written (before raw/manifest.json). */
  readonly reports: readonly string[];
  readonly manifest: Manifest;
  readonly alerts: FiredAlert[];
  readonly warnings: string[];
  readonly summaryRows: SummaryRow[];
  readonly totals: FleetTotals;
  readonly findings: Record<FindingKind, number>;
}

const RAW_MANIFEST = 'raw/manifest.json';

/** The run folder: the caller's (checked fresh) or a new `<reportsDir>/<run id>[-n]`. */
async function openRunFolder(config: SweepConfig, runId: string): Promise<{ dir: string; runId: string }> {
  if (config.outDir !== undefined) {
    await ensureFreshOutDir(config.outDir);
    return { dir: config.outDir, runId };
  }
  return claimRunFolder(resolve(config.reportsDir ?? 'reports'), runId);
}

function kindOf(name: string): ReportFileKind {
  if (name === 'summary.csv') return 'summary';
  if (name === 'hosts.csv') return 'hosts';
  if (name === 'events.csv') return 'events';
  if (/^findings-[a-z-]+\.csv$/.test(name)) return 'finding';
  return 'other';
}

function toOutcome(host: InventoryHost, r: HostFetchResult): HostOutcome {
  const common = {
    host: host.name,
    message: r.message,
    files: r.files.length,
    bytes: r.bytes,
    events: r.counters.events,
    durationMs: r.durationMs,
  };
  if (r.status === 'failed') return { ...common, status: 'failed', code: r.code ?? 'PROTOCOL' };
  return r.code === undefined
    ? { ...common, status: r.status }
    : { ...common, status: r.status, code: r.code };
}

function addCounters(into: ParseCounters, c: ParseCounters): void {
  for (const k of Object.keys(into) as (keyof ParseCounters)[]) into[k] += c[k];
}

/**
 * Runs a whole sweep and writes the run folder: events.csv, hosts.csv, parse-issues.csv (when lines were bad),
 * summary.csv, findings-<kind>.csv, findings-auth-failures-top.csv, report.html, raw/ (with --keep-raw) and
 * manifest.json last; with `eventsOnly`, no summary, findings or report.html.
 */
export async function runSweep(config: SweepConfig): Promise<SweepSummary> {
  const startedAt = new Date();
  const hosts = await selectSweepHosts(config);
  checkSettings(config);
  config.onHostsSelected?.(hosts);
  const wantedRunId = config.runId ?? makeRunId(startedAt);
  const plannedDir =
    config.outDir ?? join(resolve(config.reportsDir ?? 'reports'), safeFileName(wantedRunId));
  if (config.confirm && !(await config.confirm(hosts, plannedDir))) {
    throw new SweepError('USAGE', 'sweep cancelled; nothing was contacted');
  }

  const folder = await writing(plannedDir, () => openRunFolder(config, wantedRunId));
  const run: Run = {
    config,
    hosts,
    runId: folder.runId,
    outDir: folder.dir,
    spoolDir: join(folder.dir, '.spool'),
  };
  await writing(run.outDir, () => mkdir(run.spoolDir, { recursive: true, mode: PRIVATE_DIR }));
  const state = config.incremental && config.stateFile ? await loadState(config.stateFile) : undefined;

  // report.html's timeline and finding samples see every event once, as it streams by. A failed host has
  // emitted no event (fetch-host keeps nothing of a host that failed before its first byte), so nothing to undo.
  // An events-only sweep has no report set: its row stage builds the rows alone.
  const reportSet = config.eventsOnly
    ? undefined
    : new ReportSet({
        outDir: run.outDir,
        spoolDir: run.spoolDir,
        bom: config.bom,
        accounts: config.accounts,
        alerts: config.alerts ?? DEFAULT_ALERT_RULES,
      });
  const collected = await writing(run.outDir, () => collectFleet(run, state, reportSet));
  const hostOutcomes = outcomesInOrder(hosts, collected);
  const rowFiles = await writing(run.outDir, () => writeRowFiles(run, collected));

  const files = new Map([...collected.results.entries()].map(([name, r]) => [name, r.files]));
  const rawManifest = config.keepRaw ? RAW_MANIFEST : undefined;
  const input: RunInput = {
    outDir: run.outDir,
    runId: run.runId,
    startedAt,
    window: config.window,
    hosts: hostOutcomes,
    counters: rowFiles.counters,
    warnings: [...new Set([...collected.results.values()].flatMap((r) => r.warnings))],
    rows: rowFiles.rows,
    selection: config.selection,
    inventoryFiles: config.inventoryFiles.map((f) => resolve(f)),
    rawManifest,
    beforeManifest: () => finishRunFolder(run, files),
  };
  const sealed = await writing(run.outDir, () =>
    reportSet === undefined ? sealEventsOnly(input) : sealReports(input, reportSet),
  );
  await writing(run.outDir, () => advanceState(run, collected.results, state));
  const { manifest, alerts, warnings } = sealed;
  const finishedAt = new Date(manifest.finishedAt);
  // raw/manifest.json is written after report.html and before manifest.json, the last.
  const written = [
    ...rowFiles.written,
    ...sealed.reports,
    ...(rawManifest === undefined ? [] : [join(run.outDir, ...rawManifest.split('/'))]),
    join(run.outDir, MANIFEST_FILE),
  ];

  const reports = manifest.files.map(
    (f: ManifestFile): SweepReportFile => ({
      ...f,
      path: join(run.outDir, ...f.name.split('/')),
      kind: kindOf(f.name),
    }),
  );
  const mail = config.mail
    ? await sendRunMail(config, config.mail, {
        runId: run.runId,
        outDir: run.outDir,
        generatedAt: finishedAt,
        window: {
          ...(config.window.since === undefined ? {} : { since: new Date(config.window.since) }),
          ...(config.window.until === undefined ? {} : { until: new Date(config.window.until) }),
        },
        hosts: hostOutcomes,
        totals: sealed.totals,
        alerts,
        warnings,
        // The kept raw bytes (--keep-raw) are evidence, not reading: they stay on disk.
        files: reports.filter((f) => !f.name.startsWith('raw/')),
      })
    : undefined;

  return {
    runId: run.runId,
    outDir: run.outDir,
    startedAt,
    finishedAt,
    window: config.window,
    selected: hosts,
    outcomes: hostOutcomes,
    counters: rowFiles.counters,
    written,
    reports,
    summaryRows: sealed.summaryRows,
    totals: sealed.totals,
    findings: sealed.findings,
    manifest,
    warnings,
    files,
    alerts,
    ...(mail ? { mail } : {}),
  };
}

/** The inventory's hosts that the selection names (INVENTORY_INVALID, or USAGE when it names none). */
async function selectSweepHosts(config: SweepConfig): Promise<readonly InventoryHost[]> {
  const loaded = await loadInventory(config.inventoryFiles, {
    ...(config.sshConfigFile !== undefined ? { sshConfigFile: config.sshConfigFile } : {}),
    ...(config.defaults ? { defaults: config.defaults } : {}),
  });
  if (loaded.value === undefined) {
    throw new SweepError('INVENTORY_INVALID', loaded.errors.map(formatIssue).join('\n'));
  }
  const selected = selectHosts(loaded.value, config.selection);
  if (selected.value === undefined || selected.errors.length > 0) {
    const why = selected.errors.map((e) => `${e.message}${e.fix ? ` (${e.fix})` : ''}`).join('\n');
    throw new SweepError('USAGE', why || 'the selection matched no host');
  }
  if (selected.value.length === 0) throw new SweepError('USAGE', 'the selection matched no host');
  return selected.value;
}

/**
 * Fetches every host and parses its logs into its spools (and, with a report set, its report sink). The main
 * thread fetches. With two CPUs or more and more than one host, each host's bytes go to a host parse worker
 * (parse/host-parse-workers.ts) that tokenizes, reassembles, builds the rows and, for the report set, classifies
 * the findings and counts. One host is parsed here, its rows built by row workers (parse/row-workers.ts) once it
 * has brought enough events (from the first event when their number is forced): one host on one worker would
 * leave the other CPUs idle (bench/README.md).
 */
async function collectFleet(
  run: Run,
  state: SweepState | undefined,
  reportSet: ReportSet | undefined,
): Promise<Collected> {
  const { config } = run;
  // AUDITSWEEP_PARSE_WORKERS forces the number of workers of the stage the sweep uses: host parse workers for
  // several hosts, row workers for one.
  const hostWorkers = run.hosts.length > 1 ? hostParseWorkerCount() : 0;
  const remote =
    hostWorkers > 0
      ? new HostParseWorkers({
          workers: hostWorkers,
          accounts: config.accounts,
          report: reportSet?.stageReport,
        })
      : undefined;
  const rowWorkers = remote === undefined ? rowWorkerCount() : { workers: 0, forced: true };
  const stage = new RowWorkers({
    workers: rowWorkers.workers,
    startAfterEvents: rowWorkers.forced ? 0 : SWEEP_WORKERS_AFTER_EVENTS,
    accounts: config.accounts,
    report: reportSet?.stageReport,
  });
  const spools = new Map<string, Spool>();
  const results = new Map<string, HostFetchResult>();
  const outcomes = new Map<string, HostOutcome>();
  let n = 0;
  // A write that fails (disk full, quota, permissions) stops the whole sweep: every host still running is
  // interrupted, so that nothing more is fetched into a run that cannot be written.
  const stop = new AbortController();
  let outputFailure: SweepError | undefined;
  const outputFailed = (err: SweepError): void => {
    outputFailure ??= err;
    stop.abort(err);
  };

  const outputFor = async (host: InventoryHost): Promise<HostOutput> => {
    const base = join(run.spoolDir, `${String(n++).padStart(5, '0')}-${safeFileName(host.name)}`);
    const paths = { events: `${base}.events.csv`, issues: `${base}.issues.csv` };
    const events = new CsvTextWriter(
      createWriteStream(paths.events, { flags: 'wx', mode: PRIVATE_FILE }),
      EVENT_COLUMNS,
    );
    const issues = new CsvWriter(
      createWriteStream(paths.issues, { flags: 'wx', mode: PRIVATE_FILE }),
      ISSUE_COLUMNS,
    );
    const report = reportSet?.openHost(host.name);
    const deliver = (result: BatchResult): void => {
      events.write(result.csv, result.events);
      if (result.report !== undefined) report?.addBatch(result.report);
    };
    const issue = (issue: ParseIssue): void => {
      issues.add(issueRow(host.name, issue));
    };
    let sink: HostOutput['sink'];
    let waitForParser: () => Promise<void>;
    let endParser: () => Promise<void>;
    if (remote !== undefined) {
      // fetchHost ends the parser (HostLogInput.end) and waits for its last rows before it returns.
      const parser = remote.open(host.name, config.window, { deliver, issue });
      sink = parser satisfies HostLogInput;
      waitForParser = () => parser.drain();
      endParser = () => parser.end(false);
    } else {
      const lane = stage.lane(host.name, deliver);
      sink = { auditEvent: (event) => lane.add(event), issue };
      waitForParser = () => stage.drain();
      // The events the parser let out (a cut host's: those complete before the cut) are all in the lane.
      endParser = () => lane.end();
    }
    return {
      sink,
      afterChunk: async () => {
        await waitForParser();
        await events.drain();
        await issues.drain();
        await report?.drain();
      },
      finish: async (result) => {
        try {
          await endParser();
          await events.close();
          await issues.close();
          // A failed host's finding rows and counts are dropped with its events: nothing half-parsed is reported.
          await report?.finish(result.status);
        } catch (err) {
          if (!isOutputFailure(err)) throw err;
          outputFailed(err);
        }
        results.set(host.name, result);
        if (result.status === 'failed') {
          await rm(paths.events, { force: true });
          await rm(paths.issues, { force: true });
        } else {
          spools.set(host.name, { ...paths, eventRows: events.rows, issueRows: issues.rows });
        }
      },
    };
  };

  try {
    await fetchFleet(run.hosts, {
      window: config.window,
      session: {
        ...(config.knownHostsFiles ? { knownHostsFiles: config.knownHostsFiles } : {}),
        ...(config.auth ? { auth: config.auth } : {}),
        ...(config.timeouts ? { timeouts: config.timeouts } : {}),
        ...(config.insecureAcceptUnknownHostKeys ? { insecureAcceptUnknownHostKeys: true } : {}),
      },
      ...(config.retry ? { retry: config.retry } : {}),
      accounts: config.accounts,
      keepRawDir: config.keepRaw ? join(run.outDir, 'raw') : undefined,
      concurrency: config.concurrency,
      connectConcurrency: config.connectConcurrency,
      hostDeadlineMs: config.hostDeadlineMs,
      signal: config.signal === undefined ? stop.signal : AbortSignal.any([config.signal, stop.signal]),
      onOutputFailure: outputFailed,
      cursors: new Map<string, LogCursor>(state ? Object.entries(state.hosts) : []),
      outputFor,
      onHostStart: (host) => config.onHostStart?.(host),
      ...(config.onHostProgress ? { onHostProgress: config.onHostProgress } : {}),
      onHostDone: (host, result) => {
        const outcome = toOutcome(host, result);
        outcomes.set(host.name, outcome);
        config.onHostDone?.(outcome);
      },
    });
    await remote?.close();
    await stage.close();
  } finally {
    await remote?.stop();
    await stage.stop();
  }
  if (outputFailure !== undefined) throw outputFailure;
  return { results, outcomes, spools };
}

/** Every selected host's outcome, in inventory order. */
function outcomesInOrder(hosts: readonly InventoryHost[], collected: Collected): HostOutcome[] {
  return hosts.map((h) => {
    const outcome = collected.outcomes.get(h.name);
    if (outcome === undefined || !collected.results.has(h.name)) {
      throw new SweepError('INTERNAL', `host ${h.name} ended without an outcome`);
    }
    return outcome;
  });
}

/**
 * events.csv and parse-issues.csv (when lines were bad) from the kept hosts' spools, hosts in name order so that
 * rows are ordered by (host, time, serial); then hosts.csv, one row per selected host in inventory order.
 */
async function writeRowFiles(run: Run, collected: Collected): Promise<RowFiles> {
  const { config, hosts, outDir } = run;
  const order = [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kept = order.flatMap((h) => {
    const s = collected.spools.get(h.name);
    return s ? [s] : [];
  });
  const written: string[] = [];
  const rows = new Map<string, number>();
  const eventsPath = join(outDir, 'events.csv');
  await mergeCsvSpools(
    eventsPath,
    EVENT_COLUMNS,
    kept.map((s) => s.events),
    config.bom,
  );
  written.push(eventsPath);
  rows.set(
    'events.csv',
    kept.reduce((sum, s) => sum + s.eventRows, 0),
  );

  const counters = emptyCounters();
  for (const r of collected.results.values()) addCounters(counters, r.counters);
  if (counters.malformed > 0) {
    const issuesPath = join(outDir, 'parse-issues.csv');
    await mergeCsvSpools(
      issuesPath,
      ISSUE_COLUMNS,
      kept.map((s) => s.issues),
      config.bom,
    );
    written.push(issuesPath);
    rows.set(
      'parse-issues.csv',
      kept.reduce((sum, s) => sum + s.issueRows, 0),
    );
  }

  const hostsPath = join(outDir, 'hosts.csv');
  const hostsCsv = new CsvWriter(
    createWriteStream(`${hostsPath}.partial`, { flags: 'wx', mode: PRIVATE_FILE }),
    HOST_COLUMNS,
    {
      bom: config.bom,
    },
  );
  for (const h of hosts) {
    hostsCsv.add(hostRow(h, collected.outcomes.get(h.name)!, collected.results.get(h.name)!));
  }
  await hostsCsv.close();
  await rename(`${hostsPath}.partial`, hostsPath);
  written.push(hostsPath);
  rows.set('hosts.csv', hostsCsv.rows);
  return { written, rows, counters };
}

/**
 * What goes into the run folder after the reports and before manifest.json, which seals it: raw/manifest.json
 * (--keep-raw); the spools go. (The incremental state advances after the seal: advanceState.)
 */
async function finishRunFolder(run: Run, files: ReadonlyMap<string, FetchedFile[]>): Promise<void> {
  const { config, outDir } = run;
  if (config.keepRaw) {
    await mkdir(join(outDir, 'raw'), { recursive: true, mode: PRIVATE_DIR });
    await writeFile(
      join(outDir, ...RAW_MANIFEST.split('/')),
      `${JSON.stringify(Object.fromEntries(files.entries()), null, 2)}\n`,
      { mode: PRIVATE_FILE },
    );
  }
  await rm(run.spoolDir, { recursive: true, force: true });
}

/**
 * `--incremental`: the cursors of the hosts read whole, once the run folder is sealed. Not before: a run whose
 * reports could not be written leaves the state where it was, and the next sweep reads the same bytes again.
 */
async function advanceState(
  run: Run,
  results: ReadonlyMap<string, HostFetchResult>,
  state: SweepState | undefined,
): Promise<void> {
  const { config } = run;
  if (!config.incremental || !config.stateFile) return;
  const next: Record<string, LogCursor> = { ...(state?.hosts ?? {}) };
  for (const h of run.hosts) {
    const r = results.get(h.name);
    if (r?.status === 'ok' && r.cursor) next[hostStateKey(h)] = r.cursor;
  }
  await saveState(config.stateFile, { version: 1, hosts: next });
}

/**
 * Runs a step that writes the run folder. A failed write (disk full, quota, permissions) ends the sweep as
 * OUTPUT_FAILED, with what it means for the reviewer; any other error goes on as it is.
 */
async function writing<T>(outDir: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!isWriteFailure(err)) throw err;
    const cause = outputError(err, outDir);
    throw new SweepError(
      'OUTPUT_FAILED',
      `${cause.message}. The sweep stopped: nothing was mailed, the incremental state was not advanced (the ` +
        `next sweep reads the same bytes again), and what was written is left in ${outDir}`,
      { cause },
    );
  }
}

/** The report set, its alerts and report.html, then the manifest (report/finish-run.ts). */
async function sealReports(input: RunInput, reportSet: ReportSet): Promise<Sealed> {
  const run = await writeRunReports({ ...input, reportSet });
  return {
    // Its last file is manifest.json.
    reports: run.written.slice(0, -1),
    manifest: run.manifest,
    alerts: run.alerts,
    warnings: run.warnings,
    summaryRows: run.reportSet.summaryRows,
    totals: run.reportSet.totals,
    findings: run.reportSet.findings,
  };
}

/**
 * An events-only run: the manifest alone, which says so. Of the totals only the events were counted (by the
 * parser, as summary.csv's `(all)` row would count them); nothing was classified, so every other count is 0.
 */
async function sealEventsOnly(input: RunInput): Promise<Sealed> {
  const { manifest, warnings } = await writeEventsOnlyManifest(input);
  return {
    reports: [],
    manifest,
    alerts: [],
    warnings,
    summaryRows: [],
    totals: { ...fleetTotals([]), events: input.counters.events },
    findings: emptyFindingCounts(),
  };
}

/** Settings that cannot work fail the sweep before any host is contacted. */
function checkSettings(config: SweepConfig): void {
  if (config.eventsOnly) checkEventsOnly(config);
  if (config.mail) checkMailSettings(config.mail);
}

/**
 * An events-only sweep writes no report to mail and evaluates no alert rule: asking for either is a usage error,
 * so that nobody believes a rule ran when it did not.
 */
function checkEventsOnly(config: SweepConfig): void {
  if (config.mail) {
    throw new SweepError(
      'USAGE',
      'eventsOnly cannot be combined with mail: an events-only sweep writes no report to mail',
    );
  }
  if (config.alerts !== undefined && config.alerts.length > 0) {
    throw new SweepError(
      'USAGE',
      'eventsOnly cannot be combined with alert rules: an events-only sweep evaluates none (leave alerts out)',
    );
  }
}

/** Mail settings that cannot work (CONFIG_INVALID). */
function checkMailSettings(mail: SweepMailSettings): void {
  if (mail.to.length === 0) {
    throw new SweepError('CONFIG_INVALID', 'mail: no recipient; give at least one address (--mail-to)');
  }
  if (!mail.dryRun) resolveSmtpConnection(mail);
}

/**
 * Mails the finished report (or writes `message.eml` for a dry run) and records the outcome in `mail.json`.
 * Never throws for a failed send: the failure is the outcome. The reports are not touched.
 */
async function sendRunMail(
  config: SweepConfig,
  mail: SweepMailSettings,
  report: MailReport,
): Promise<MailOutcome> {
  const { dryRun, ...settings } = mail;
  const to = [...settings.to, ...(settings.cc ?? [])];
  let outcome: MailOutcome;
  try {
    const dryRunPath = dryRun ? dryRunPathFor(report.outDir) : undefined;
    const r = await mailReport(report, settings, {
      ...(dryRunPath ? { dryRunPath } : {}),
      ...(config.signal ? { signal: config.signal } : {}),
      ...(config.onMailLog ? { log: config.onMailLog } : {}),
    });
    const attachments = r.plan.attachments.map((a) => a.filename);
    const leftOut = r.plan.leftOut.map((l) => l.file.name);
    outcome =
      dryRunPath !== undefined
        ? {
            status: 'dry-run',
            path: dryRunPath,
            to,
            messageId: r.messageId,
            bytes: r.bytes,
            attachments,
            leftOut,
            warnings: [...r.warnings],
          }
        : {
            status: 'sent',
            to,
            accepted: [...r.accepted],
            rejected: [...r.rejected],
            messageId: r.messageId,
            response: r.response,
            attempts: r.attempts,
            bytes: r.bytes,
            attachments,
            leftOut,
            warnings: [...r.warnings],
          };
  } catch (err) {
    const reply = smtpReply(err);
    outcome = {
      status: 'failed',
      to,
      code: isSweepError(err) ? err.code : 'MAIL_SEND_FAILED',
      message: err instanceof Error ? err.message.replace(/\r?\n/g, ' ') : String(err),
      ...(reply ? { reply } : {}),
    };
  }
  const path = join(report.outDir, MAIL_RESULT_FILE);
  try {
    await writeFile(
      `${path}.partial`,
      `${JSON.stringify({ format: 'auditsweep-mail/1', ...outcome }, null, 2)}\n`,
      { mode: PRIVATE_FILE },
    );
    await rename(`${path}.partial`, path);
  } catch (err) {
    // The outcome is still returned (and printed); only its copy on disk is missing.
    config.onMailLog?.(`mail: could not write ${path}: ${String(err)}`);
  }
  return outcome;
}
