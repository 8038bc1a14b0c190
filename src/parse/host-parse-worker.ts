/**
 * A host parse worker (host-parse-workers.ts): whole hosts' logs parsed on a thread of their own. The sweep's
 * main thread receives the bytes over SSH and hands them here unparsed; each host pinned to this worker has its
 * HostLogParser here, and its events become events.csv text (and, with the report set, what they add to the
 * reports) in batches, the same batches as the row stage makes (row-worker.ts batchResult()).
 *
 * Messages are handled in the order they come, and every reply of a host goes out in that order, so the main thread
 * writes each host's rows in the order a parser on its own thread would have made them.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { AlertRule } from '../report/alerts.js';
import type { BatchReporter } from '../report/batch-report.js';
import type { AccountMaps, AuditEvent, ParseCounters, ParseIssue } from '../types.js';
import { HostLogParser } from './host-parser.js';
import type { InterpretContext } from './interpret/ids.js';
import { type BatchResult, batchResult, workerReporter } from './row-worker.js';

/** Marks the workerData of a host parse worker. */
export const HOST_PARSE_ROLE = 'auditsweep-host-parse-worker';

/** What a host parse worker is started with. */
export interface HostParseWorkerData {
  readonly role: typeof HOST_PARSE_ROLE;
  readonly accounts: AccountMaps | undefined;
  /** With the report set: the run's alert rules. */
  readonly report: { readonly alerts: readonly AlertRule[] } | undefined;
  /** The ring the main thread writes the bytes into (host-parse-workers.ts). */
  readonly ring: SharedArrayBuffer;
  /** Events per batch (row-workers.ts uses the same size). */
  readonly batchEvents: number;
  /** Where the replies go. */
  readonly replies: MessagePort;
}

/** The main thread → the worker. `id` names one host's parser for the sweep's whole run. */
export type HostParseMessage =
  | {
      readonly op: 'open';
      readonly id: number;
      readonly host: string;
      readonly since: number | undefined;
      readonly until: number | undefined;
    }
  | { readonly op: 'file'; readonly id: number; readonly name: string }
  /** Bytes at [at, at + length) of the ring; or, when the ring had no room, in the message. */
  | { readonly op: 'data'; readonly id: number; readonly at: number; readonly length: number }
  | { readonly op: 'data'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly op: 'endFile'; readonly id: number }
  /** The host's input is over: with `flush`, events still waiting for records are closed (a whole read). */
  | { readonly op: 'end'; readonly id: number; readonly flush: boolean }
  /** The kinds whose samples the report still wants (FindingDigest.wanted(): only ever loses bits). */
  | { readonly op: 'wanted'; readonly mask: number };

/** The worker → the main thread, after each `data` and `end` of a host. */
export interface HostParseReply {
  readonly id: number;
  /** Bytes of the `data` message this answers (0 for `end`): their part of the ring is free again. */
  readonly bytes: number;
  /** Batches made since the last reply, in order. */
  readonly results: readonly BatchResult[];
  readonly issues: readonly ParseIssue[];
  readonly counters: ParseCounters;
  /** The last reply of the host: its parser is gone. */
  readonly ended: boolean;
}

/** One host being parsed here. */
class HostJob {
  readonly parser: HostLogParser;
  batch: AuditEvent[] = [];
  results: BatchResult[] = [];
  issues: ParseIssue[] = [];
  private readonly ctx: InterpretContext;

  constructor(
    open: Extract<HostParseMessage, { op: 'open' }>,
    private readonly worker: HostParseWork,
  ) {
    this.ctx = { host: open.host, accounts: worker.accounts };
    this.parser = new HostLogParser(
      { host: open.host, accounts: worker.accounts, since: open.since, until: open.until },
      {
        auditEvent: (event) => {
          this.batch.push(event);
          if (this.batch.length >= worker.batchEvents) this.cut();
        },
        issue: (issue) => {
          this.issues.push(issue);
        },
      },
    );
  }

  /** The events so far → one batch result. */
  cut(): void {
    if (this.batch.length === 0) return;
    const events = this.batch;
    this.batch = [];
    this.results.push(batchResult(events, this.ctx, this.worker.reporter, this.worker.wanted));
  }
}

/** The worker's state: its hosts, and how it answers. */
class HostParseWork {
  readonly jobs = new Map<number, HostJob>();
  wanted = 0;

  private readonly ring: Buffer;

  constructor(
    readonly accounts: AccountMaps | undefined,
    readonly reporter: BatchReporter | undefined,
    readonly batchEvents: number,
    ring: SharedArrayBuffer,
    private readonly replies: MessagePort,
  ) {
    this.ring = Buffer.from(ring);
  }

  handle(message: HostParseMessage): void {
    if (message.op === 'wanted') {
      this.wanted = message.mask;
      return;
    }
    if (message.op === 'open') {
      this.jobs.set(message.id, new HostJob(message, this));
      return;
    }
    const job = this.jobs.get(message.id);
    if (job === undefined) throw new Error(`host parse worker: no host ${message.id}`);
    switch (message.op) {
      case 'file':
        job.parser.beginFile(message.name);
        return;
      case 'endFile':
        job.parser.endFile();
        return;
      case 'data': {
        // The parser copies what it keeps (a line cut by the chunk's end): the ring's bytes are free once it returns.
        const chunk =
          'bytes' in message
            ? Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength)
            : this.ring.subarray(message.at, message.at + message.length);
        job.parser.write(chunk);
        this.reply(message.id, job, chunk.length, false);
        return;
      }
      case 'end':
        if (message.flush) job.parser.end();
        job.cut();
        this.jobs.delete(message.id);
        this.reply(message.id, job, 0, true);
        return;
    }
  }

  private reply(id: number, job: HostJob, bytes: number, ended: boolean): void {
    // The texts go back as strings: encoded here and moved, they would arrive as hundreds of MB of external
    // memory on the main thread, which then runs a full GC every few MB (measured: 77 instead of 27 in a sweep
    // of 400 MiB).
    const reply: HostParseReply = {
      id,
      bytes,
      results: job.results,
      issues: job.issues,
      counters: job.parser.counters,
      ended,
    };
    job.results = [];
    job.issues = [];
    this.replies.postMessage(reply);
  }
}

// Only when started as a host parse worker: this module is also imported by threads that are not.
const data = workerData as Partial<HostParseWorkerData> | undefined;
if (
  parentPort !== null &&
  data?.role === HOST_PARSE_ROLE &&
  data.replies !== undefined &&
  data.ring !== undefined
) {
  const accounts = data.accounts;
  const reporter = await workerReporter(accounts, data.report);
  const work = new HostParseWork(accounts, reporter, data.batchEvents ?? 100, data.ring, data.replies);
  parentPort.on('message', (message: HostParseMessage) => work.handle(message));
}
