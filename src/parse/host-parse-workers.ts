/**
 * The sweep's parsers on worker threads, a whole host on one (host-parse-worker.ts): the main thread keeps SSH,
 * the SHA-256 and the raw copy, and hands each chunk it receives, unparsed, to the worker its host is pinned to.
 * With many hosts every byte of parsing is off the main thread and no batch is packed or tokenized twice (the row
 * stage, row-workers.ts, does both); each host's rows still come in the order one parser makes them.
 *
 * {@link RemoteHostParser} is what fetchHost drives (HostLogInput): the same calls as a HostLogParser here, its
 * counters as of the worker's last reply, and `end()` resolving once every row of the host has been delivered.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { AlertRule } from '../report/alerts.js';
import type { AccountMaps, ParseCounters, ParseIssue } from '../types.js';
import { emptyCounters } from '../types.js';
import {
  HOST_PARSE_ROLE,
  type HostParseMessage,
  type HostParseReply,
  type HostParseWorkerData,
} from './host-parse-worker.js';
import type { HostLogInput } from './host-parser.js';
import type { BatchResult } from './row-worker.js';
import { WorkProgress } from './work-progress.js';

const WORKER_URL = new URL('./host-parse-worker.js', import.meta.url);

/** Whether the compiled worker is there (it is not when the sources run untranspiled, as under a test runner). */
export function hostParseWorkersAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

/** More parse workers than this do not pay on the machines the sweep runs on: SSH stays on one thread. */
const MAX_WORKERS = 4;

/**
 * Host parse workers for a sweep of several hosts: one per CPU (the main thread mostly waits on the network), up to
 * MAX_WORKERS; none on one CPU or when the worker cannot run. `AUDITSWEEP_PARSE_WORKERS` overrides it (0: parse on
 * the main thread), for benchmarks and tests.
 */
export function hostParseWorkerCount(): number {
  if (!hostParseWorkersAvailable()) return 0;
  const forced = process.env.AUDITSWEEP_PARSE_WORKERS;
  if (forced !== undefined && /^\d+$/.test(forced)) return Math.min(Number(forced), 64);
  const cpus = availableParallelism();
  return cpus < 2 ? 0 : Math.min(cpus, MAX_WORKERS);
}

/**
 * A worker's heap: a small young generation (a chunk's records and a batch's rows are short-lived), as for the
 * parse thread of `auditsweep parse`.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 16 };

/**
 * Each worker's ring of shared memory that the bytes go through (the main thread writes, the worker reads, a reply
 * frees them): no allocation per chunk on either side. A message that copied each chunk instead cost ~100 MB more
 * peak RSS in a sweep of 400 MiB (freed message buffers kept by malloc), and moving a fresh buffer per chunk made
 * the main thread run a full GC every few MB (its external memory).
 */
const RING_BYTES = 8 * 1024 * 1024;
/**
 * Hosts wait (`drain`) while their worker's ring holds more than its size less this: a next chunk (≤ 256 KiB)
 * still fits.
 */
const RING_HEADROOM = 2 * 1024 * 1024;

export interface HostParseWorkersOptions {
  readonly workers: number;
  /** The account maps of every host (RAW logs). */
  readonly accounts?: AccountMaps | undefined;
  /** Make each batch's report too: the run's alert rules, and the samples the report still wants. */
  readonly report?: { readonly alerts: readonly AlertRule[]; wanted(): number } | undefined;
  /** Events per batch. */
  readonly batchEvents?: number | undefined;
  /** Bytes of each worker's ring (tests make it small). */
  readonly ringBytes?: number | undefined;
}

/** Where one host's results go, on the main thread, in order. */
export interface HostParseOutput {
  deliver(result: BatchResult): void;
  issue(issue: ParseIssue): void;
}

interface WorkerSlot {
  readonly worker: Worker;
  readonly replies: MessagePort;
  readonly ring: Buffer;
  /** Where the next chunk goes in the ring, and where the oldest one not yet answered starts. */
  head: number;
  /** Bytes of the ring in use (chunks posted and not yet answered, and the gaps left before a wrap). */
  pending: number;
  /** Ring bytes each `data` message not yet answered holds, in order (the worker answers in order). */
  readonly spans: number[];
  /** Hosts open on it. */
  hosts: number;
  /** `drain` waits while `pending` is above this. */
  readonly maxPending: number;
}

export class HostParseWorkers {
  private readonly slots: WorkerSlot[] = [];
  private readonly parsers = new Map<number, RemoteHostParser>();
  private nextId = 0;
  /** @internal Each reply is a step; a worker's failure ends every wait. */
  readonly progress = new WorkProgress();
  private closed = false;
  private wantedSent: number;

  constructor(private readonly options: HostParseWorkersOptions) {
    if (options.workers < 1) throw new Error('host parse workers: at least one worker');
    this.wantedSent = options.report?.wanted() ?? 0;
    for (let i = 0; i < options.workers; i++) this.slots.push(this.startWorker());
    if (options.report !== undefined) this.broadcast({ op: 'wanted', mask: this.wantedSent });
  }

  /** A parser for `host` on the worker with the fewest hosts open (then the fewest bytes waiting). */
  open(
    host: string,
    window: { readonly since?: number | undefined; readonly until?: number | undefined },
    output: HostParseOutput,
  ): RemoteHostParser {
    this.progress.check();
    let slot = this.slots[0]!;
    for (const s of this.slots) {
      if (s.hosts < slot.hosts || (s.hosts === slot.hosts && s.pending < slot.pending)) slot = s;
    }
    const id = this.nextId++;
    const parser = new RemoteHostParser(id, slot, this, output);
    this.parsers.set(id, parser);
    slot.hosts++;
    this.post(slot, { op: 'open', id, host, since: window.since, until: window.until });
    return parser;
  }

  /** Waits for every host to end, then stops the workers; throws what went wrong in a worker. */
  async close(): Promise<void> {
    try {
      await this.progress.until(() => this.parsers.size === 0);
      this.progress.check();
    } finally {
      await this.stop();
    }
  }

  /** Stops the workers without waiting for anything (after an error elsewhere). */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = this.slots.splice(0);
    for (const s of slots) s.replies.close();
    await Promise.all(slots.map((s) => s.worker.terminate()));
    this.progress.fail(new Error('the host parse workers were stopped'));
  }

  /** @internal */
  post(slot: WorkerSlot, message: HostParseMessage, transfer?: ArrayBuffer[]): void {
    this.progress.check();
    slot.worker.postMessage(message, transfer);
  }

  /** @internal The host's parser is done. */
  forget(id: number, slot: WorkerSlot): void {
    if (this.parsers.delete(id)) slot.hosts--;
  }

  private startWorker(): WorkerSlot {
    const { port1, port2 } = new MessageChannel();
    const ringBytes = this.options.ringBytes ?? RING_BYTES;
    const shared = new SharedArrayBuffer(ringBytes);
    const workerData: HostParseWorkerData = {
      role: HOST_PARSE_ROLE,
      ring: shared,
      accounts: this.options.accounts,
      report: this.options.report === undefined ? undefined : { alerts: this.options.report.alerts },
      batchEvents: this.options.batchEvents ?? 100,
      replies: port2,
    };
    const worker = new Worker(WORKER_URL, {
      workerData,
      transferList: [port2],
      resourceLimits: WORKER_LIMITS,
    });
    const slot: WorkerSlot = {
      worker,
      replies: port1,
      ring: Buffer.from(shared),
      head: 0,
      pending: 0,
      spans: [],
      hosts: 0,
      maxPending: ringBytes - Math.min(RING_HEADROOM, ringBytes / 2),
    };
    port1.on('message', (reply: HostParseReply) => this.received(slot, reply));
    worker.on('error', (err) => this.progress.fail(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.progress.fail(new Error(`a host parse worker stopped (exit code ${code})`));
    });
    return slot;
  }

  private received(slot: WorkerSlot, reply: HostParseReply): void {
    if (reply.bytes > 0) slot.pending -= slot.spans.shift() ?? 0;
    const parser = this.parsers.get(reply.id);
    if (parser !== undefined) {
      try {
        parser.received(reply);
      } catch (err) {
        this.progress.fail(err);
      }
      if (reply.ended) this.forget(reply.id, slot);
    }
    this.updateWanted();
    this.progress.step();
  }

  /** Tells the workers when the report's samples want fewer kinds (a delivery may have filled one). */
  private updateWanted(): void {
    const report = this.options.report;
    if (report === undefined) return;
    const mask = report.wanted();
    if (mask === this.wantedSent) return;
    this.wantedSent = mask;
    this.broadcast({ op: 'wanted', mask });
  }

  private broadcast(message: HostParseMessage): void {
    for (const s of this.slots) s.worker.postMessage(message);
  }
}

/** One host's parser on a worker, driven as a HostLogParser is (see fetch-host.ts). */
export class RemoteHostParser implements HostLogInput {
  readonly counters: ParseCounters = emptyCounters();
  private ended = false;
  private done = false;

  /** @internal Made by {@link HostParseWorkers.open}. */
  constructor(
    private readonly id: number,
    private readonly slot: WorkerSlot,
    private readonly pool: HostParseWorkers,
    private readonly output: HostParseOutput,
  ) {}

  beginFile(name: string): void {
    this.pool.post(this.slot, { op: 'file', id: this.id, name });
  }

  write(chunk: Buffer): void {
    const n = chunk.length;
    if (n === 0) return;
    this.counters.bytes += n;
    const slot = this.slot;
    const size = slot.ring.length;
    // Contiguous room at the head, else from the start of the ring (the end left as a gap).
    let at = slot.head;
    let span = n;
    if (at + n > size) {
      span += size - at;
      at = 0;
    }
    if (slot.pending + span > size) {
      // No room (a caller that did not wait in drain()): the bytes go in the message itself.
      slot.spans.push(0);
      this.pool.post(slot, { op: 'data', id: this.id, bytes: Uint8Array.prototype.slice.call(chunk) });
      return;
    }
    chunk.copy(slot.ring, at);
    slot.head = at + n;
    slot.pending += span;
    slot.spans.push(span);
    this.pool.post(slot, { op: 'data', id: this.id, at, length: n });
  }

  endFile(): void {
    this.pool.post(this.slot, { op: 'endFile', id: this.id });
  }

  /** Waits while the host's worker holds too many bytes not yet parsed; throws what went wrong in a worker. */
  async drain(): Promise<void> {
    const slot = this.slot;
    await this.pool.progress.until(() => slot.pending <= slot.maxPending);
    this.pool.progress.check();
  }

  /**
   * Ends the host's input (`flush`: events still waiting for records are closed; not for a cut host, whose
   * unfinished events must not look whole) and resolves once every row and issue of the host has been delivered
   * and the counters are final. Never rejects: a worker's failure is thrown by {@link HostParseWorkers.close}.
   */
  async end(flush = true): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      if (this.pool.progress.failed) return;
      this.pool.post(this.slot, { op: 'end', id: this.id, flush });
    }
    await this.pool.progress.until(() => this.done);
  }

  /** @internal A reply of the worker, for this host. */
  received(reply: HostParseReply): void {
    for (const result of reply.results) this.output.deliver(result);
    for (const issue of reply.issues) this.output.issue(issue);
    const { bytes: _bytes, ...counters } = reply.counters;
    Object.assign(this.counters, counters);
    if (reply.ended) this.done = true;
  }
}
