/**
 * The steps of a run after its rows, shared by the sweep and `auditsweep parse`: the report set (summary.csv,
 * findings-*.csv, the auth-failure top list), the alerts, report.html and manifest.json last.
 *
 * The caller has written events.csv, parse-issues.csv and hosts.csv (the sweep's hosts.csv knows addresses and
 * transports, parse's knows files) and finished every host's sink; what it writes after report.html and before the
 * seal (the sweep's raw/manifest.json) goes in `beforeManifest`. A sweep with `eventsOnly` has no report set: it
 * seals its run folder with {@link writeEventsOnlyManifest}, the same manifest without findings or alerts.
 */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TimeWindow } from '../config/window.js';
import type { HostSelection } from '../inventory/index.js';
import { PRIVATE_FILE } from '../private-files.js';
import type { HostOutcome, ParseCounters } from '../types.js';
import type { FiredAlert } from './alert-evaluator.js';
import { REPORT_HTML_FILE, renderReportHtml } from './html.js';
import {
  MANIFEST_FILE,
  type Manifest,
  type ManifestInputFile,
  readToolVersion,
  writeManifest,
} from './manifest.js';
import type { ReportSet, ReportSetResult } from './write-reports.js';

/** A run's folder as its manifest describes it, with or without a report set. */
export interface RunInput {
  /** The run folder. */
  readonly outDir: string;
  readonly runId: string;
  readonly startedAt: Date;
  readonly window: TimeWindow;
  /** Every host of the run, in the order report.html and the manifest list them. */
  readonly hosts: readonly HostOutcome[];
  readonly counters: ParseCounters;
  /** Warnings every report carries; the alert evaluator's are added. */
  readonly warnings: readonly string[];
  /** Data rows of the CSV files the caller wrote (events.csv, hosts.csv, …), by name; the report set's are added. */
  readonly rows: ReadonlyMap<string, number>;
  readonly selection?: HostSelection | undefined;
  readonly inventoryFiles?: readonly string[] | undefined;
  /** Local files read (`auditsweep parse`), listed in the manifest. */
  readonly inputs?: readonly ManifestInputFile[] | undefined;
  readonly rawManifest?: string | undefined;
  /** Runs after report.html and before manifest.json (files written here are sealed by the manifest). */
  readonly beforeManifest?: (() => Promise<void>) | undefined;
}

export interface RunReportsInput extends RunInput {
  /** Every host's sink finished. */
  readonly reportSet: ReportSet;
}

export interface RunReportsResult {
  readonly reportSet: ReportSetResult;
  /** Alerts that fired, in rule order. */
  readonly alerts: FiredAlert[];
  /** The warnings the reports carry (the caller's and the alert evaluator's). */
  readonly warnings: string[];
  /** Paths written here, manifest.json last. */
  readonly written: string[];
  readonly manifest: Manifest;
}

/** Report set → report.html → manifest.json. Resolves with what was written and the alerts that fired. */
export async function writeRunReports(input: RunReportsInput): Promise<RunReportsResult> {
  const { outDir } = input;
  const written: string[] = [];
  const rows = new Map(input.rows);
  const reportSet = await input.reportSet.finish(input.hosts);
  const { alerts: evaluator, digest, timeline } = input.reportSet;
  for (const f of reportSet.files) {
    written.push(f.path);
    rows.set(f.name, f.rows);
  }

  const alerts = evaluator.alerts();
  // A rule whose group cap was reached has counted too little: every report says so.
  const warnings = [...new Set([...input.warnings, ...evaluator.warnings()])];
  const window = {
    ...(input.window.since === undefined ? {} : { since: new Date(input.window.since) }),
    ...(input.window.until === undefined ? {} : { until: new Date(input.window.until) }),
  };
  const htmlPath = join(outDir, REPORT_HTML_FILE);
  await writeFile(
    `${htmlPath}.partial`,
    renderReportHtml({
      runId: input.runId,
      generatedAt: new Date(),
      window,
      toolVersion: await readToolVersion(),
      warnings,
      alerts,
      hosts: input.hosts,
      summary: reportSet.summaryRows,
      findings: digest.sections(),
      authFailureTops: reportSet.authFailureTops,
      timeline: timeline.result(),
    }),
    { flag: 'wx', mode: PRIVATE_FILE },
  );
  await rename(`${htmlPath}.partial`, htmlPath);
  written.push(htmlPath);

  const manifest = await sealRun(input, { findings: reportSet.findings, alerts, warnings, rows });
  written.push(join(outDir, MANIFEST_FILE));
  return { reportSet, alerts, warnings, written, manifest };
}

/** The warning an events-only run's manifest carries, so that a reader knows why there is no summary. */
export const EVENTS_ONLY_WARNING = 'events only (--events-only): no summary, findings, report.html or alerts';

/**
 * Seals a run folder that has no report set (the sweep's `eventsOnly`): `beforeManifest`, then manifest.json last,
 * with no findings, no alerts, and {@link EVENTS_ONLY_WARNING} after the caller's warnings. Resolves with the
 * manifest as written and the warnings it carries.
 */
export async function writeEventsOnlyManifest(
  input: RunInput,
): Promise<{ readonly manifest: Manifest; readonly warnings: string[] }> {
  const warnings = [...new Set([...input.warnings, EVENTS_ONLY_WARNING])];
  const manifest = await sealRun(input, { findings: {}, alerts: [], warnings, rows: input.rows });
  return { manifest, warnings };
}

/** `beforeManifest`, then manifest.json: last, because it hashes everything written before it. */
async function sealRun(
  input: RunInput,
  run: {
    readonly findings: Readonly<Record<string, number>>;
    readonly alerts: readonly FiredAlert[];
    readonly warnings: readonly string[];
    readonly rows: ReadonlyMap<string, number>;
  },
): Promise<Manifest> {
  await input.beforeManifest?.();
  return writeManifest(input.outDir, {
    runId: input.runId,
    startedAt: input.startedAt,
    finishedAt: new Date(),
    window: input.window,
    selection: input.selection ?? {},
    inventoryFiles: input.inventoryFiles ?? [],
    inputs: input.inputs,
    hosts: input.hosts,
    counters: input.counters,
    findings: run.findings,
    warnings: run.warnings,
    rows: run.rows,
    rawManifest: input.rawManifest,
    alerts: run.alerts,
  });
}
