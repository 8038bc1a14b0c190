/**
 * Stage 2 of the parser: records → events. All records sharing (node, SEC.MS, serial) form one event.
 *
 * audit.log has no EOE records, so an event is closed the way auparse closes it (ausearch-lol.c, common.c
 * `audit_is_last_record`): a record that is always last (PROCTITLE, EOE) or a user-space message closes at once;
 * any other event closes when the log has moved `eoeTimeoutSec` past it, when the bounded in-flight window needs
 * room, or at the end of input. Unlike ausearch 3.0.9 a kernel LOGIN or ANOM_* record waits for the SYSCALL and
 * PROCTITLE that share its id, so one auditd event is one row.
 *
 * The timestamp is part of the key: auditd's own DAEMON_* records use auditd's serial counter, and serials restart
 * after a reboot and wrap, so a serial alone would merge unrelated events.
 *
 * Completed events pass through a small reorder buffer so that they come out in (time, serial) order, which
 * a log does not guarantee (DAEMON_START is stamped after the kernel record that follows it).
 */
import type { AuditEvent, AuditRecord, ParseIssue } from '../types.js';
import { memoByTypeName, recordTypeNumber } from './tables/record-types.js';

export interface ReassembleOptions {
  /** Events still waiting for records; the oldest is closed when one more would exceed it. auparse uses 80. */
  readonly maxInFlight?: number;
  /** An event closes once a record this many seconds newer arrives (auditd.conf end_of_event_timeout, 2). */
  readonly eoeTimeoutSec?: number;
  /** A bigger event is closed and reported (a 3000-argument EXECVE is ~10 records; this is a memory bound). */
  readonly maxRecordsPerEvent?: number;
  /** How far (seconds of log time) an event may arrive late and still be put in order. */
  readonly reorderWindowSec?: number;
  /** Memory bound of the reorder buffer, in events. */
  readonly maxReorder?: number;
}

export type CloseReason = 'complete' | 'timeout' | 'evicted' | 'end-of-input' | 'too-large';

export interface ReassembleSink {
  event(event: AuditEvent, reason: CloseReason): void;
  issue(issue: ParseIssue): void;
}

const AUDIT_EOE = 1320;
const AUDIT_PROCTITLE = 1327;

/**
 * Records that never have companions: user-space messages (1100–1299, 2100–2999: each has its own serial) and the
 * records the kernel always writes last (PROCTITLE, EOE).
 */
export const closesEvent: (type: string) => boolean = memoByTypeName((type) => {
  const n = recordTypeNumber(type);
  if (n === undefined) return false;
  return n === AUDIT_PROCTITLE || n === AUDIT_EOE || (n >= 1100 && n < 1300) || (n >= 2100 && n < 3000);
});

interface Building {
  readonly event: AuditEvent;
  /** Insertion order, to evict the oldest. */
  readonly seq: number;
  /** Still in `building` (not closed yet). */
  open: boolean;
  /** The next event in flight with the same serial (another node or time). */
  next: Building | undefined;
}

function isEventOf(b: Building, r: AuditRecord): boolean {
  const e = b.event;
  return e.serial === r.serial && e.sec === r.sec && e.ms === r.ms && e.node === r.node;
}

function before(a: AuditEvent, b: AuditEvent): boolean {
  if (a.sec !== b.sec) return a.sec < b.sec;
  if (a.ms !== b.ms) return a.ms < b.ms;
  if (a.serial !== b.serial) return a.serial < b.serial;
  return a.node < b.node;
}

/** A binary min-heap on (time, serial, node) with a stable tie-break on arrival. */
class ReorderHeap {
  private readonly items: { e: AuditEvent; r: CloseReason; n: number }[] = [];
  private arrivals = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): AuditEvent | undefined {
    return this.items[0]?.e;
  }

  push(e: AuditEvent, r: CloseReason): void {
    const items = this.items;
    items.push({ e, r, n: this.arrivals++ });
    let i = items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { e: AuditEvent; r: CloseReason } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(l, m)) m = l;
        if (r < items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private less(i: number, j: number): boolean {
    const a = this.items[i]!;
    const b = this.items[j]!;
    if (before(a.e, b.e)) return true;
    if (before(b.e, a.e)) return false;
    return a.n < b.n;
  }

  private swap(i: number, j: number): void {
    const t = this.items[i]!;
    this.items[i] = this.items[j]!;
    this.items[j] = t;
  }
}

/** Groups records into events; push records in file order, call flush() at the end of a host's input. */
export class Reassembler {
  private readonly maxInFlight: number;
  private readonly eoeTimeoutSec: number;
  private readonly maxRecords: number;
  private readonly reorderWindowSec: number;
  private readonly maxReorder: number;
  /**
   * The events in flight by serial, each the head of a list of the events with that serial (rarely more than one):
   * a number is a cheaper key than a string made of the node, the time and the serial.
   */
  private readonly building = new Map<number, Building>();
  private inFlightCount = 0;
  private readonly reorder = new ReorderHeap();
  private last: Building | undefined;
  private seq = 0;
  private newestSec = 0;
  private lastTimeoutCheck = 0;

  constructor(
    private readonly sink: ReassembleSink,
    options: ReassembleOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 128;
    this.eoeTimeoutSec = options.eoeTimeoutSec ?? 2;
    this.maxRecords = options.maxRecordsPerEvent ?? 4096;
    this.reorderWindowSec = options.reorderWindowSec ?? 5;
    this.maxReorder = options.maxReorder ?? 4096;
  }

  /** Events currently waiting for more records (bounded by maxInFlight). */
  get inFlight(): number {
    return this.inFlightCount;
  }

  push(record: AuditRecord): void {
    if (record.sec > this.newestSec) this.newestSec = record.sec;
    let b = this.last;
    // Fast path: records of one event are nearly always adjacent.
    if (b === undefined || !b.open || !isEventOf(b, record)) {
      b = this.building.get(record.serial);
      while (b !== undefined && !isEventOf(b, record)) b = b.next;
      if (b === undefined) {
        if (this.inFlightCount >= this.maxInFlight) this.evictOldest();
        b = {
          open: true,
          seq: this.seq++,
          next: this.building.get(record.serial),
          event: { node: record.node, sec: record.sec, ms: record.ms, serial: record.serial, records: [] },
        };
        this.building.set(record.serial, b);
        this.inFlightCount++;
      }
      this.last = b;
    }
    b.event.records.push(record);
    if (closesEvent(record.type)) {
      this.close(b, 'complete');
    } else if (b.event.records.length >= this.maxRecords) {
      this.sink.issue({
        file: record.file,
        line: record.line,
        reason: 'event-too-large',
        detail: `event ${record.sec}.${record.ms}:${record.serial} reached ${this.maxRecords} records; closed early`,
      });
      this.close(b, 'too-large');
    }
    if (record.sec > this.lastTimeoutCheck) {
      this.lastTimeoutCheck = record.sec;
      this.closeTimedOut(record.sec);
    }
    this.release(false);
  }

  /** Closes every in-flight event and empties the reorder buffer: call at the end of a host's input. */
  flush(): void {
    const rest = this.inFlightEvents().sort((a, b) => a.seq - b.seq);
    for (const b of rest) this.close(b, 'end-of-input');
    this.release(true);
  }

  /** Every event in flight (a copy: closing them changes `building`). */
  private inFlightEvents(): Building[] {
    const all: Building[] = [];
    for (const head of this.building.values())
      for (let b: Building | undefined = head; b; b = b.next) all.push(b);
    return all;
  }

  private close(b: Building, reason: CloseReason): void {
    const serial = b.event.serial;
    const head = this.building.get(serial);
    if (head === b) {
      if (b.next === undefined) this.building.delete(serial);
      else this.building.set(serial, b.next);
    } else {
      let before = head;
      while (before !== undefined && before.next !== b) before = before.next;
      if (before !== undefined) before.next = b.next;
    }
    b.next = undefined;
    this.inFlightCount--;
    b.open = false;
    if (this.last === b) this.last = undefined;
    this.reorder.push(b.event, reason);
  }

  private evictOldest(): void {
    let oldest: Building | undefined;
    for (const head of this.building.values()) {
      for (let b: Building | undefined = head; b; b = b.next)
        if (oldest === undefined || b.seq < oldest.seq) oldest = b;
    }
    if (oldest) this.close(oldest, 'evicted');
  }

  private closeTimedOut(nowSec: number): void {
    if (this.inFlightCount === 0) return;
    for (const b of this.inFlightEvents()) {
      if (b.event.sec + this.eoeTimeoutSec <= nowSec && b !== this.last) this.close(b, 'timeout');
    }
  }

  /** Hands completed events on in time order once the log has moved past the reorder window. */
  private release(all: boolean): void {
    const heap = this.reorder;
    for (;;) {
      const top = heap.peek();
      if (top === undefined) return;
      if (!all && top.sec + this.reorderWindowSec >= this.newestSec && heap.size <= this.maxReorder) return;
      const next = heap.pop();
      if (next === undefined) return;
      this.sink.event(next.e, next.r);
    }
  }
}
