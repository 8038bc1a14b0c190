/**
 * The row stage, on worker threads: events in (per host, in order), their events.csv text and, with the report set,
 * what they add to the reports (report/batch-report.ts) out, per host in the same order. Used by `auditsweep parse`
 * and by the sweep. The thread that owns it reads, tokenizes and reassembles; building the rows, classifying the
 * findings and counting (row-worker.ts) is most of the rest and independent from event to event, so batches of one
 * host's events go to the workers, and to the owning thread itself whenever every worker is busy. On two CPUs that
 * keeps both busy: one worker, and the owning thread between its own stages.
 *
 * Each host has a {@link RowLane}. Results are delivered in the order the batches were made (every lane's in its
 * own order), so what a lane's owner writes is the same byte for byte as when every batch is done on one thread.
 * Memory stays bounded: `drain()` waits while too many batches are out, and each worker's heap is capped.
 */

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { AlertRule } from '../report/alerts.js';
import { BatchReporter } from '../report/batch-report.js';
import type { AccountMaps, AuditEvent } from '../types.js';
import { LineRecord } from './record.js';
import {
  type BatchResult,
  batchResult,
  encodeResult,
  RECORD_SHAPE,
  ROLE,
  type RowBatch,
  type RowResult,
  type RowWorkerData,
} from './row-worker.js';
import { WORKER_URL } from './row-worker-count.js';
import { WorkProgress } from './work-progress.js';

// Also here for the sweep; in a module of their own so that `parse`'s main thread can choose without loading the
// row stage.
export { rowWorkerCount, rowWorkersAvailable } from './row-worker-count.js';

export interface RowStageOptions {
  /** Worker threads (the owning thread takes batches too when they are all busy); 0: every batch on this thread. */
  readonly workers: number;
  /** Start the workers only once this many events have come (default 0: at once); fewer stay on this thread. */
  readonly startAfterEvents?: number | undefined;
  /** The account maps of every host of the stage (RAW logs): for the rows, and the findings of the reports. */
  readonly accounts?: AccountMaps | undefined;
  /** Make each batch's report too: the run's alert rules, and the samples wanted when a batch is made. */
  readonly report?: { readonly alerts: readonly AlertRule[]; wanted(): number } | undefined;
  /** Events per batch. */
  readonly batchEvents?: number | undefined;
}

/**
 * A worker's heap: a small young generation, so that a batch's garbage is collected young; the old generation is
 * left to V8 (a batch is small, but one event may hold 4096 long lines).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8 };

/**
 * Batches a worker may hold. Deep enough that the worker keeps busy while the owning thread does a batch of its
 * own; every batch out is memory held.
 */
const PER_WORKER = 4;
/** Batches done by the owning thread and waiting for an earlier worker batch before they can be delivered. */
const MAX_WAITING = 4;
/**
 * A batch with more line text than this is done on the owning thread (one event may have 4096 lines of 64 KiB):
 * a worker's heap is small, and only ever holds small batches.
 */
const MAX_BATCH_CHARS = 1024 * 1024;

/** One host's way into the row stage: `add(event)` in the parser's order, `end()` once. */
export class RowLane {
  /** @internal */ batch: AuditEvent[] = [];
  /** @internal Batches made and not yet delivered. */ outstanding = 0;
  /** @internal */ ended = false;

  /** @internal Made by {@link RowWorkers.lane}. */
  constructor(
    readonly host: string,
    /** @internal */ readonly deliver: (result: BatchResult) => void,
    private readonly stage: RowWorkers,
  ) {}

  /** Queues one event (its records must come from the tokenizer: their lines are what a worker gets). */
  add(event: AuditEvent): void {
    this.batch.push(event);
    this.stage.queued(this);
  }

  /**
   * Sends the last batch and resolves once every batch of the lane is delivered; rejects with what went wrong in
   * a worker. Nothing comes through the lane afterwards.
   */
  async end(): Promise<void> {
    this.ended = true;
    this.stage.dispatch(this);
    await this.stage.settled(this);
  }
}

export class RowWorkers {
  private readonly pool: Worker[] = [];
  /** Where each worker's results come back (this thread's end of a channel of its own). */
  private readonly results: MessagePort[] = [];
  private readonly batchEvents: number;
  private readonly reporter: BatchReporter | undefined;
  /** Batches each worker holds. */
  private readonly load: number[] = [];
  private sent = 0;
  private delivered = 0;
  /** Lanes of the batches made and not yet delivered, by batch number. */
  private readonly lanes = new Map<number, RowLane>();
  private readonly done = new Map<number, BatchResult>();
  private readonly progress = new WorkProgress();
  private closed = false;
  private events = 0;
  private toStart: number;
  private readonly startAfter: number;

  constructor(private readonly options: RowStageOptions) {
    this.batchEvents = options.batchEvents ?? 100;
    this.toStart = options.workers;
    this.startAfter = options.startAfterEvents ?? 0;
    const report = options.report;
    this.reporter =
      report === undefined
        ? undefined
        : new BatchReporter({ accounts: options.accounts, alerts: report.alerts });
    if (this.startAfter <= 0) this.start();
  }

  /** Worker threads running. */
  get workers(): number {
    return this.pool.length;
  }

  /** A lane for `host`'s events; `deliver` receives its batches' results in order. */
  lane(host: string, deliver: (result: BatchResult) => void): RowLane {
    return new RowLane(host, deliver, this);
  }

  /** Waits while too many batches are out; throws what went wrong in a worker. */
  async drain(): Promise<void> {
    await this.progress.until(
      () => this.sent - this.delivered <= this.pool.length * PER_WORKER + MAX_WAITING,
    );
    this.progress.check();
  }

  /** Waits for every batch made so far (end every lane first), then stops the workers. */
  async close(): Promise<void> {
    try {
      await this.progress.until(() => this.delivered >= this.sent);
      this.progress.check();
    } finally {
      await this.stop();
    }
  }

  /** Stops the workers without delivering anything more (after an error elsewhere). */
  async stop(): Promise<void> {
    this.closed = true;
    const pool = this.pool.splice(0);
    for (const port of this.results.splice(0)) port.close();
    await Promise.all(pool.map((w) => w.terminate()));
  }

  /** @internal An event was queued on `lane`. */
  queued(lane: RowLane): void {
    if (lane.ended) throw new Error(`events of ${lane.host} after the end of its lane`);
    this.events++;
    if (this.toStart > 0 && this.events >= this.startAfter) this.start();
    if (lane.batch.length >= this.batchEvents) this.dispatch(lane);
  }

  /** @internal The lane's current batch → the least loaded worker with room, or this thread when there is none. */
  dispatch(lane: RowLane): void {
    const events = lane.batch;
    if (events.length === 0) return;
    lane.batch = [];
    const seq = this.sent++;
    lane.outstanding++;
    this.lanes.set(seq, lane);
    const wanted = this.options.report?.wanted() ?? 0;
    let target = this.leastLoaded();
    if (target < 0 && this.pool.length > 0) {
      // Every worker looks full, but this thread may have been busy for a while (a large chunk of input is
      // tokenized in one go): take the results that have come meanwhile, rather than wait for the event loop.
      this.collect();
      target = this.leastLoaded();
    }
    const packed =
      target < 0 || lineChars(events) > MAX_BATCH_CHARS ? undefined : pack(seq, lane.host, wanted, events);
    if (packed === undefined) {
      const ctx = { host: lane.host, accounts: this.options.accounts };
      this.finished(seq, batchResult(events, ctx, this.reporter, wanted), true);
      return;
    }
    this.load[target]!++;
    this.pool[target]!.postMessage(packed, [
      packed.shape.buffer as ArrayBuffer,
      packed.spans.buffer as ArrayBuffer,
    ]);
  }

  /** @internal Resolves once every batch of `lane` is delivered. */
  async settled(lane: RowLane): Promise<void> {
    await this.progress.until(() => lane.outstanding <= 0);
    this.progress.check();
  }

  private start(): void {
    const n = this.toStart;
    this.toStart = 0;
    if (this.closed) return;
    const workerData: RowWorkerData = {
      role: ROLE,
      accounts: this.options.accounts,
      report: this.options.report === undefined ? undefined : { alerts: this.options.report.alerts },
    };
    for (let i = 0; i < n; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_URL, {
        workerData: { ...workerData, results: port2 } satisfies RowWorkerData,
        transferList: [port2],
        resourceLimits: WORKER_LIMITS,
      });
      const index = this.pool.length;
      port1.on('message', (message: RowResult) => this.received(index, message));
      worker.on('error', (err) => this.progress.fail(err));
      worker.on('exit', (code) => {
        if (!this.closed) this.progress.fail(new Error(`a row worker stopped (exit code ${code})`));
      });
      this.pool.push(worker);
      this.results.push(port1);
      this.load.push(0);
    }
  }

  /** The worker with room for one more batch and the fewest, or -1. */
  private leastLoaded(): number {
    let target = -1;
    for (let i = 0; i < this.pool.length; i++) {
      if (this.load[i]! < PER_WORKER && (target < 0 || this.load[i]! < this.load[target]!)) target = i;
    }
    return target;
  }

  /** Takes every result that has arrived and not yet been handled, without waiting for the event loop. */
  private collect(): void {
    for (let i = 0; i < this.results.length; i++) {
      for (
        let m = receiveMessageOnPort(this.results[i]!);
        m !== undefined;
        m = receiveMessageOnPort(this.results[i]!)
      ) {
        this.received(i, m.message as RowResult);
      }
    }
  }

  private received(worker: number, message: RowResult): void {
    this.load[worker]!--;
    this.finished(message.seq, message.result, false);
  }

  private finished(seq: number, result: BatchResult, here: boolean): void {
    if (here && seq !== this.delivered) {
      // Waits for the batches before it: encoded now, since the text is made of the cells, which are slices of the
      // decoded log, and would keep all of it alive meanwhile.
      result = encodeResult(result, (text) =>
        typeof text === 'string' && text !== '' ? Buffer.from(text) : text,
      );
    }
    this.done.set(seq, result);
    // Deliver in batch order: a batch that is done early waits for the ones before it.
    for (let next = this.done.get(this.delivered); next !== undefined; next = this.done.get(this.delivered)) {
      const lane = this.lanes.get(this.delivered)!;
      this.done.delete(this.delivered);
      this.lanes.delete(this.delivered);
      this.delivered++;
      lane.outstanding--;
      try {
        lane.deliver(next);
      } catch (err) {
        this.progress.fail(err);
      }
    }
    this.progress.step();
  }
}

/** Characters of line text of the events (records that are not the tokenizer's count as none). */
function lineChars(events: readonly AuditEvent[]): number {
  let n = 0;
  for (const e of events) for (const r of e.records) if (r instanceof LineRecord) n += r.end - r.start;
  return n;
}

/**
 * `host`'s events → a batch for a worker: their lines, field positions and grouping; undefined when a record has no
 * line.
 */
export function pack(
  seq: number,
  host: string,
  wanted: number,
  events: readonly AuditEvent[],
): RowBatch | undefined {
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
  return { seq, host, wanted, files, lines: `${lines.join('\n')}\n`, shape, spans };
}
