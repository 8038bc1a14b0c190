/**
 * A worker thread of the parallel row stage (row-workers.ts): batches of events, as the lines of their records,
 * in → their events.csv text out. The lines are tokenized again here rather than sent as records: one string per
 * batch is the cheapest thing to pass between threads, and tokenizing is a small part of the row's cost.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { cellsOf, serialiseRows } from '../report/csv-writer.js';
import type { AuditEvent, AuditRecord } from '../types.js';
import { EVENT_COLUMNS } from '../types.js';
import type { InterpretContext } from './interpret/ids.js';
import { buildRow } from './row.js';
import { recordFromSpans, tokenize } from './tokenize.js';

/** One batch: the lines of its events' records, where their fields are, and how they group into events. */
export interface RowBatch {
  readonly seq: number;
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

export interface RowResult {
  readonly seq: number;
  /** The events' CSV rows, each ending in CRLF ('' for none). */
  readonly csv: string;
}

/** Batch → CSV text, the way the single-threaded parser writes the same events. */
export function batchCsv(batch: RowBatch, ctx: InterpretContext): string {
  const cells = cellsOf(EVENT_COLUMNS);
  const { lines, shape, files, spans } = batch;
  const rows: string[][] = [];
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
    const event: AuditEvent = {
      node: first.node,
      sec: first.sec,
      ms: first.ms,
      serial: first.serial,
      records,
    };
    rows.push(cells(buildRow(event, ctx)));
  }
  return rows.length === 0 ? '' : `${serialiseRows(rows)}\r\n`;
}

/** Marks the workerData of a row worker. */
export const ROLE = 'auditsweep-row-worker';

/** What a row worker is started with. */
export interface RowWorkerData {
  readonly role: typeof ROLE;
  readonly ctx: InterpretContext;
}

// Only when started as a row worker: this module is also imported by threads that are not (a test runner's).
const data = workerData as Partial<RowWorkerData> | undefined;
if (parentPort !== null && data?.role === ROLE && data.ctx !== undefined) {
  const port = parentPort;
  const ctx = data.ctx;
  port.on('message', (batch: RowBatch) => {
    const result: RowResult = { seq: batch.seq, csv: batchCsv(batch, ctx) };
    port.postMessage(result);
  });
}
