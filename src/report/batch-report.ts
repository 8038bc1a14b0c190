/**
 * The report work of the row stage: what the report set needs from a batch of one host's events, made where the
 * batch's rows are built (a row worker, or the thread that takes a batch itself: parse/row-workers.ts) and added to
 * the host's report sink in batch order (HostReportSink.addBatch).
 *
 * Per batch: the finding rows of each kind as CSV text (for the host's spools), the summary's counters and distinct
 * values (SummaryDelta), the timeline's days and failed hours (TimelineDelta), the auth failures' addresses and
 * accounts in order (for the top lists: a sketch's counts depend on the order), the alert rules' matches per group
 * (AlertTally), the count of findings per kind and, while report.html's samples want them, the first findings'
 * cells. All plain data, small against the batch's rows, so that it crosses threads cheaply; every part adds up,
 * batch after batch, to exactly what the same events counted one by one give.
 */
import type { AccountMaps, ParsedEvent } from '../types.js';
import { AlertTallier, type AlertTally } from './alert-evaluator.js';
import type { AlertRule } from './alerts.js';
import { type CellsOf, cellsOf, serialiseRows } from './csv-writer.js';
import { classifyFindings, FINDING_COLUMNS, FINDING_KINDS, type FindingKind } from './findings.js';
import { SAMPLE_ROWS } from './html-findings.js';
import { SummaryAccumulator, type SummaryDelta } from './summary.js';
import { isFailedRow, TimelineBatch, type TimelineDelta } from './timeline.js';

/** What a batch of one host's events adds to the report set. */
export interface BatchReport {
  /** Per kind (FINDING_KINDS order): the finding rows as CSV text, each row ending in CRLF ('' for none). */
  readonly findingCsv: (string | Uint8Array)[];
  /** Per kind: the number of those rows. */
  readonly findingRows: readonly number[];
  /** Undefined when the batch had no event. */
  readonly summary: SummaryDelta | undefined;
  readonly timeline: TimelineDelta;
  /** `[address, account, …]` of each auth-failures finding, in order. */
  readonly authFailures: readonly string[];
  readonly alerts: AlertTally;
  /** Per kind: the first findings' cells (FINDING_COLUMNS order) when the kind was wanted, else null. */
  readonly samples: readonly (readonly (readonly string[])[] | null)[];
}

export interface BatchReporterOptions {
  /** The host's account maps (those the rows are built with), to name the account of an account change. */
  readonly accounts?: AccountMaps | undefined;
  /** The run's alert rules. */
  readonly alerts: readonly AlertRule[];
}

const KIND_INDEX = new Map<FindingKind, number>(FINDING_KINDS.map((k, i) => [k, i]));

/**
 * Collects a BatchReport: `begin(host, wanted)`, `add(parsed)` per event in order, `take()`. One instance serves
 * batch after batch.
 */
export class BatchReporter {
  private readonly cells: CellsOf<string>[] = FINDING_KINDS.map((k) => cellsOf(FINDING_COLUMNS[k]));
  private readonly tallier: AlertTallier;
  private readonly timeline = new TimelineBatch();
  private summary = new SummaryAccumulator({ distinctCap: Number.POSITIVE_INFINITY });
  private rows: string[][][] = FINDING_KINDS.map(() => []);
  private samples: (string[][] | null)[] = FINDING_KINDS.map(() => null);
  private authFailures: string[] = [];
  private host = '';

  constructor(private readonly options: BatchReporterOptions) {
    this.tallier = new AlertTallier(options.alerts);
  }

  /**
   * Starts a batch of `host`'s events. `wanted` (FindingDigest.wanted(), bit k for FINDING_KINDS[k]): the kinds
   * whose first rows the batch carries for report.html's samples.
   */
  begin(host: string, wanted: number): void {
    this.host = host;
    this.samples = FINDING_KINDS.map((_, k) => ((wanted & (1 << k)) !== 0 ? [] : null));
  }

  add(parsed: ParsedEvent): void {
    const { event, row } = parsed;
    this.timeline.add(event.sec * 1000 + event.ms, isFailedRow(row));
    // One walk over the event's parts for the summary and the findings.
    const summary = this.summary;
    summary.startEvent(this.host, event);
    const findings = classifyFindings(parsed, this.options.accounts, summary.visitPart);
    summary.endEvent();
    for (const finding of findings) {
      const k = KIND_INDEX.get(finding.kind)!;
      const cells = this.cells[k]!(finding.row);
      this.rows[k]!.push(cells);
      if (finding.kind === 'auth-failures') {
        this.authFailures.push(finding.row.address ?? '', finding.row.account ?? '');
      }
      this.tallier.add(finding);
      const sample = this.samples[k];
      if (sample !== null && sample !== undefined && sample.length < SAMPLE_ROWS) sample.push(cells);
    }
  }

  /** The batch's report; the reporter is ready for the next `begin`. */
  take(): BatchReport {
    const report: BatchReport = {
      findingCsv: this.rows.map((rows) => (rows.length === 0 ? '' : `${serialiseRows(rows)}\r\n`)),
      findingRows: this.rows.map((rows) => rows.length),
      summary: this.summary.delta(this.host),
      timeline: this.timeline.take(),
      authFailures: this.authFailures,
      alerts: this.tallier.take(),
      samples: this.samples,
    };
    this.summary = new SummaryAccumulator({ distinctCap: Number.POSITIVE_INFINITY });
    this.rows = FINDING_KINDS.map(() => []);
    this.samples = FINDING_KINDS.map(() => null);
    this.authFailures = [];
    return report;
  }
}
