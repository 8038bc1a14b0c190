/**
 * A worker thread of the row stage (row-workers.ts): batches of one host's events, as the lines of their records,
 * in → their events.csv text out, and with the report set, what the batch adds to the reports (report/batch-report.ts).
 * The lines are tokenized again here rather than sent as records: one string per batch is the cheapest thing to
 * pass between threads, and tokenizing is a small part of the row's cost.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { AlertRule } from '../report/alerts.js';
import type { BatchReport, BatchReporter } from '../report/batch-report.js';
import { cellsOf, serialiseRows } from '../report/csv-writer.js';
import type { AccountMaps, AuditEvent, AuditRecord } from '../types.js';
import { EVENT_COLUMNS } from '../types.js';
import type { InterpretContext } from './interpret/ids.js';
import { buildRow } from './row.js';
import { recordFromSpans, tokenize } from './tokenize.js';

/** One batch: the lines of its events' records, where their fields are, and how they group into events. */
export interface RowBatch {
  readonly seq: number;
  /** The host of every event of the batch (the `host` column). */
  readonly host: string;
  /** With the report set: the kinds whose samples want rows (BatchReporter.begin). */
  readonly wanted: number;
  /** Names of the files the lines come from (`source_file`); `shape` refers to them by index. */
  readonly files: readonly string[];
  /** The lines, in order, each ending in LF (the LF is not part of the line). */
  readonly lines: string;
  /**
   * Per event: its record count, then per record: the index of its file, its line number, and where its field
   * positions are in `spans` and how many there are (raw, ENRICHED); -1 when the line is to be tokenized again.
   */
  readonly shape: Int32Array;
  /** The records' field positions, as the main thread's tokenizer found them (Spans in record.ts). */
  readonly spans: Int32Array;
}

/** Numbers per record in `RowBatch.shape`. */
export const RECORD_SHAPE = 5;

/** What the row stage makes of one batch. */
export interface BatchResult {
  readonly events: number;
  /** The events' CSV rows, each ending in CRLF ('' for none). */
  readonly csv: string | Uint8Array;
  /** With the report set. */
  readonly report?: BatchReport | undefined;
}

/** `result` with every text of it (events.csv's and each finding kind's) passed through `encode`. */
export function encodeResult(
  result: BatchResult,
  encode: (text: string | Uint8Array) => string | Uint8Array,
): BatchResult {
  const report = result.report;
  return {
    events: result.events,
    csv: encode(result.csv),
    report: report === undefined ? undefined : { ...report, findingCsv: report.findingCsv.map(encode) },
  };
}

export interface RowResult {
  readonly seq: number;
  readonly result: BatchResult;
}

/** A batch → its events, records rebuilt from the lines and field positions the main thread found. */
export function unpack(batch: RowBatch): AuditEvent[] {
  const { lines, shape, files, spans } = batch;
  const events: AuditEvent[] = [];
  let pos = 0;
  let k = 0;
  while (k < shape.length) {
    const n = shape[k++]!;
    const records: AuditRecord[] = [];
    for (let j = 0; j < n; j++, k += RECORD_SHAPE) {
      const file = files[shape[k]!]!;
      const lineNo = shape[k + 1]!;
      const at = shape[k + 2]!;
      const nl = lines.indexOf('\n', pos);
      // The main thread has tokenized (and text-checked) the line already: the same record comes out.
      const record =
        at < 0
          ? tokenize(lines, pos, nl, file, lineNo, false).record
          : recordFromSpans(lines, pos, nl, file, lineNo, spans, at, shape[k + 3]!, shape[k + 4]!);
      if (record === undefined) throw new Error(`${file}:${lineNo}: a record line no longer tokenizes`);
      records.push(record);
      pos = nl + 1;
    }
    const first = records[0]!;
    events.push({ node: first.node, sec: first.sec, ms: first.ms, serial: first.serial, records });
  }
  return events;
}

const eventCells = cellsOf(EVENT_COLUMNS);

/**
 * The row stage's work on one batch of `ctx.host`'s events, wherever it runs: their events.csv text, the way the
 * single-threaded writer writes the same events, and with a reporter, what they add to the report set.
 */
export function batchResult(
  events: readonly AuditEvent[],
  ctx: InterpretContext,
  reporter?: BatchReporter,
  wanted = 0,
): BatchResult {
  reporter?.begin(ctx.host, wanted);
  const rows: string[][] = [];
  for (const event of events) {
    const row = buildRow(event, ctx);
    rows.push(eventCells(row));
    reporter?.add({ event, row });
  }
  const csv = rows.length === 0 ? '' : `${serialiseRows(rows)}\r\n`;
  return { events: events.length, csv, report: reporter?.take() };
}

/** Marks the workerData of a row worker. */
export const ROLE = 'auditsweep-row-worker';

/** What a row worker is started with. */
export interface RowWorkerData {
  readonly role: typeof ROLE;
  readonly accounts: AccountMaps | undefined;
  /** With the report set: the run's alert rules (the findings are classified with `accounts`). */
  readonly report: { readonly alerts: readonly AlertRule[] } | undefined;
  /**
   * Where the results go: a port of their own, so that the owning thread can take them while it is busy
   * (receiveMessageOnPort) rather than only between two of its tasks.
   */
  readonly results?: MessagePort | undefined;
}

/**
 * A worker's BatchReporter with the report set, its code loaded only then (the worker's port keeps the messages
 * that come meanwhile); undefined without.
 */
export async function workerReporter(
  accounts: AccountMaps | undefined,
  report: { readonly alerts: readonly AlertRule[] } | undefined,
): Promise<BatchReporter | undefined> {
  if (report === undefined) return undefined;
  const { BatchReporter } = await import('../report/batch-report.js');
  return new BatchReporter({ accounts, alerts: report.alerts });
}

// Only when started as a row worker: this module is also imported by threads that are not (a test runner's).
const data = workerData as Partial<RowWorkerData> | undefined;
if (parentPort !== null && data?.role === ROLE) {
  const port = parentPort;
  const accounts = data.accounts;
  const reporter = await workerReporter(accounts, data.report);
  const encoder = new TextEncoder();
  const results = data.results ?? port;
  port.on('message', (batch: RowBatch) => {
    const ctx: InterpretContext = { host: batch.host, accounts };
    const result = batchResult(unpack(batch), ctx, reporter, batch.wanted);
    // The text goes back encoded, its memory moved rather than copied: the owning thread writes it as it is.
    const transfer: ArrayBuffer[] = [];
    const encode = (text: string | Uint8Array): string | Uint8Array => {
      if (typeof text !== 'string' || text === '') return text;
      const bytes = encoder.encode(text);
      transfer.push(bytes.buffer as ArrayBuffer);
      return bytes;
    };
    const message: RowResult = { seq: batch.seq, result: encodeResult(result, encode) };
    results.postMessage(message, transfer);
  });
}
