/**
 * The row stage on worker threads: events in (in order), events.csv text out (in the same order). Used by
 * `auditsweep parse` on large inputs. The main thread reads, tokenizes and reassembles; normalizing, building the
 * rows and serialising them (row-worker.ts) is two thirds of the work and independent from event to event, so
 * batches of events go to the workers, and to the main thread itself whenever every worker is busy. On two CPUs
 * that keeps both busy: one worker, and the main thread between its own stages.
 *
 * Results are written in batch order, so the file is the same byte for byte as the single-threaded writer's.
 * Memory stays bounded: `drain()` waits while too many batches are out or the destination is full, and each
 * worker's heap is capped.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { cellsOf, headerText, serialiseRows } from '../report/csv-writer.js';
import type { AuditEvent } from '../types.js';
import { EVENT_COLUMNS } from '../types.js';
import type { InterpretContext } from './interpret/ids.js';
import { LineRecord } from './record.js';
import { buildRow } from './row.js';
import { RECORD_SHAPE, ROLE, type RowBatch, type RowResult, type RowWorkerData } from './row-worker.js';

export interface RowWorkerOptions {
  /** Worker threads (the main thread takes batches too when they are all busy). */
  readonly workers: number;
  readonly bom?: boolean | undefined;
  /** Events per batch. */
  readonly batchEvents?: number | undefined;
}

const WORKER_URL = new URL('./row-worker.js', import.meta.url);

/**
 * A worker's heap: a small young generation, so that a batch's garbage is collected young; the old generation is
 * left to V8 (a batch is small, but one event may hold 4096 long lines).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };

/**
 * Batches a worker may hold. Deep enough that the worker keeps busy while the main thread does a batch of its
 * own; every batch out is memory held.
 */
const PER_WORKER = 4;
/** Batches done by the main thread and waiting for an earlier worker batch before they can be written. */
const MAX_WAITING = 4;
/**
 * A batch with more line text than this is done on the main thread (one event may have 4096 lines of 64 KiB):
 * a worker's heap is small, and only ever holds small batches.
 */
const MAX_BATCH_CHARS = 1024 * 1024;

/** Whether the compiled worker is there (it is not when the sources run untranspiled, as under a test runner). */
export function rowWorkersAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

/** Events → their CSV rows, each ending in CRLF, as CsvWriter writes them. */
export function rowsCsv(events: readonly AuditEvent[], ctx: InterpretContext): string {
  const cells = cellsOf(EVENT_COLUMNS);
  const rows = events.map((e) => cells(buildRow(e, ctx)));
  return rows.length === 0 ? '' : `${serialiseRows(rows)}\r\n`;
}

export class RowWorkers {
  private readonly pool: Worker[] = [];
  private readonly batchEvents: number;
  private readonly ctx: InterpretContext;
  /** Batches each worker holds. */
  private readonly load: number[] = [];
  private sent = 0;
  private written = 0;
  private readonly done = new Map<number, string | Buffer>();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;
  private batch: AuditEvent[] = [];

  constructor(
    private readonly out: Writable,
    ctx: InterpretContext,
    options: RowWorkerOptions,
  ) {
    this.ctx = ctx;
    this.batchEvents = options.batchEvents ?? 100;
    const workerData: RowWorkerData = { role: ROLE, ctx: { host: ctx.host, accounts: ctx.accounts } };
    for (let i = 0; i < options.workers; i++) {
      const worker = new Worker(WORKER_URL, { workerData, resourceLimits: WORKER_LIMITS });
      worker.on('message', (result: RowResult) => {
        this.load[i]!--;
        this.finished(result.seq, result.csv);
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`a row worker stopped (exit code ${code})`));
      });
      this.pool.push(worker);
      this.load.push(0);
    }
    out.write(headerText(EVENT_COLUMNS, options.bom));
  }

  /** Queues one event (its records must come from the tokenizer: their lines are what a worker gets). */
  add(event: AuditEvent): void {
    this.batch.push(event);
    if (this.batch.length >= this.batchEvents) this.dispatch();
  }

  /** Waits while too many batches are out or the destination is full; throws what went wrong in a worker. */
  async drain(): Promise<void> {
    while (
      this.sent - this.written > this.pool.length * PER_WORKER + MAX_WAITING &&
      this.failure === undefined
    )
      await this.nextResult();
    if (this.failure !== undefined) throw this.failure;
    if (this.out.writableNeedDrain) await once(this.out, 'drain');
  }

  /** Sends the last batch, writes every result, stops the workers and ends the destination. */
  async close(): Promise<void> {
    this.dispatch();
    try {
      while (this.written < this.sent && this.failure === undefined) await this.nextResult();
      if (this.failure !== undefined) throw this.failure;
    } finally {
      await this.stop();
    }
    this.out.end();
    if (!this.out.writableFinished) await once(this.out, 'finish');
  }

  /** Stops the workers without writing anything more (after an error elsewhere). */
  async stop(): Promise<void> {
    this.closed = true;
    await Promise.all(this.pool.map((w) => w.terminate()));
  }

  /** The current batch → the least loaded worker with room, or the main thread when there is none. */
  private dispatch(): void {
    const events = this.batch;
    if (events.length === 0) return;
    this.batch = [];
    const seq = this.sent++;
    let target = -1;
    for (let i = 0; i < this.pool.length; i++) {
      if (this.load[i]! < PER_WORKER && (target < 0 || this.load[i]! < this.load[target]!)) target = i;
    }
    const packed = target < 0 || lineChars(events) > MAX_BATCH_CHARS ? undefined : pack(seq, events);
    if (packed === undefined) {
      // Encoded now: the text is made of the cells, which are slices of the decoded log, and would keep all of it
      // alive while the batch waits for the batches before it.
      this.finished(seq, Buffer.from(rowsCsv(events, this.ctx)));
      return;
    }
    this.load[target]!++;
    this.pool[target]!.postMessage(packed, [
      packed.shape.buffer as ArrayBuffer,
      packed.spans.buffer as ArrayBuffer,
    ]);
  }

  private finished(seq: number, csv: string | Buffer): void {
    this.done.set(seq, csv);
    // Write in batch order: a batch that is done early waits for the ones before it.
    for (let next = this.done.get(this.written); next !== undefined; next = this.done.get(this.written)) {
      this.done.delete(this.written);
      this.written++;
      if (next.length > 0) this.out.write(next);
    }
    this.wakeUp();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private nextResult(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}

/** Characters of line text of the events (records that are not the tokenizer's count as none). */
function lineChars(events: readonly AuditEvent[]): number {
  let n = 0;
  for (const e of events) for (const r of e.records) if (r instanceof LineRecord) n += r.end - r.start;
  return n;
}

/** Events → a batch for a worker: their lines, field positions and grouping; undefined when a record has no line. */
export function pack(seq: number, events: readonly AuditEvent[]): RowBatch | undefined {
  const files: string[] = [];
  let lastFile = '';
  let lastIndex = -1;
  const lines: string[] = [];
  let records = 0;
  let ints = 0;
  for (const e of events) {
    for (const r of e.records) {
      if (!(r instanceof LineRecord)) return undefined;
      ints += r.nRaw + r.nEnr;
    }
    records += e.records.length;
  }
  const shape = new Int32Array(events.length + records * RECORD_SHAPE);
  const spans = new Int32Array(ints);
  let k = 0;
  let used = 0;
  for (const event of events) {
    shape[k++] = event.records.length;
    for (const r of event.records) {
      if (!(r instanceof LineRecord)) return undefined; // checked above; for the type
      if (r.file !== lastFile || lastIndex < 0) {
        lastIndex = files.indexOf(r.file);
        if (lastIndex < 0) lastIndex = files.push(r.file) - 1;
        lastFile = r.file;
      }
      lines.push(r.lineText);
      shape[k] = lastIndex;
      shape[k + 1] = r.line;
      // A record with strings of its own (rare: the AVC preamble, a cut value) is tokenized again instead.
      if (r.extra !== undefined) {
        shape[k + 2] = -1;
      } else {
        const n = r.nRaw + r.nEnr;
        const from = r.spans;
        for (let j = 0, a = r.at; j < n; j++) spans[used + j] = from[a + j]!;
        shape[k + 2] = used;
        shape[k + 3] = r.nRaw;
        shape[k + 4] = r.nEnr;
        used += n;
      }
      k += RECORD_SHAPE;
    }
  }
  // Each line ends in LF, the last one included.
  return { seq, files, lines: `${lines.join('\n')}\n`, shape, spans };
}
