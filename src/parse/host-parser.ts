/**
 * The parser of one host's logs: bytes in (file by file, oldest first), ParsedEvents and ParseIssues out.
 *
 * bytes → lines (bounded length) → tokenize → reassemble → window filter → row. One instance per host, so an
 * event split by a log rotation comes out whole. Synchronous and push-based (`write(chunk)`), so the local-file
 * reader and the SSH fetcher drive it the same way and keep backpressure on their own streams.
 */
import type { AccountMaps, AuditEvent, ParseCounters, ParsedEvent, ParseIssue } from '../types.js';
import { emptyCounters } from '../types.js';
import { type CloseReason, type ReassembleOptions, Reassembler } from './reassemble.js';
import { buildRow } from './row.js';
import { tokenize } from './tokenize.js';

export interface HostParserOptions {
  /** Inventory name of the host; the `host` column. */
  readonly host: string;
  /** The host's account maps, to name ids in RAW logs. */
  readonly accounts?: AccountMaps | undefined;
  /** Keep only events at or after this time (epoch ms). */
  readonly since?: number | undefined;
  /** Keep only events before this time (epoch ms). */
  readonly until?: number | undefined;
  /**
   * Longest line accepted, in bytes. auditd's own limit is MAX_AUDIT_MESSAGE_LENGTH (8970) plus the ENRICHED
   * part; anything far beyond is not a record, and holding it would let one line exhaust memory.
   */
  readonly maxLineBytes?: number | undefined;
  readonly reassemble?: ReassembleOptions | undefined;
}

export interface HostParserSink {
  event(parsed: ParsedEvent): void;
  issue(issue: ParseIssue): void;
}

/** A sink that builds the rows itself (on worker threads, row-workers.ts): it gets the events of the window. */
export interface HostEventSink {
  auditEvent(event: AuditEvent): void;
  issue(issue: ParseIssue): void;
}

/**
 * What the fetcher drives for one host: a {@link HostLogParser} on this thread, or one on a host parse worker
 * (host-parse-workers.ts). Files in order, each `beginFile`, `write`s, `endFile`; then `end` once.
 */
export interface HostLogInput {
  /** The running totals (for a parser on a worker: as of its last answer; final once `end` has resolved). */
  readonly counters: ParseCounters;
  beginFile(name: string): void;
  write(chunk: Buffer): void;
  endFile(): void;
  /**
   * Ends the input. `flush` (a whole read): events still waiting for records are closed and let out; without it
   * (a read cut short), they are dropped, since records beyond the cut may be missing from them.
   */
  end(flush?: boolean): void | Promise<void>;
}

const NEWLINE = 0x0a;

/**
 * Characters that may make a line "not text" (tokenize.ts NOT_TEXT, which a line is tested against after its
 * trailing CR is cut): control bytes other than tab, LF, CR and GS, DEL, U+FFFD; and a CR not followed by LF
 * (see {@link suspect}). A plain character class, so that V8 scans a clean chunk fast (a lookahead would not).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const SUSPECT = /[\x00-\x08\x0b\x0c\x0e-\x1c\x1e\x1f\x7f\ufffd]/;

/** Whether `text` holds a SUSPECT character or a CR that does not end a line. */
function suspect(text: string): boolean {
  if (SUSPECT.test(text)) return true;
  for (let cr = text.indexOf('\r'); cr >= 0; cr = text.indexOf('\r', cr + 1)) {
    if (text.charCodeAt(cr + 1) !== NEWLINE) return true;
  }
  return false;
}
const DEFAULT_MAX_LINE = 64 * 1024;

export class HostLogParser implements HostLogInput {
  readonly counters: ParseCounters = emptyCounters();
  private readonly reassembler: Reassembler;
  private readonly maxLine: number;
  private file = '';
  private lineNo = 0;
  /** Bytes of an unfinished line carried over from the previous chunk. */
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** Set while skipping the rest of an over-long line. */
  private skipping = false;
  private skipStartLine = 0;

  constructor(
    private readonly options: HostParserOptions,
    private readonly sink: HostParserSink | HostEventSink,
  ) {
    this.maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE;
    this.reassembler = new Reassembler(
      {
        event: (event, reason) => this.onEvent(event, reason),
        issue: (issue) => this.reportIssue(issue),
      },
      options.reassemble,
    );
  }

  /** Starts the next file of this host (the name goes into `source_file`). Closes the previous one. */
  beginFile(name: string): void {
    if (this.file !== '') this.endFile();
    this.file = name;
    this.lineNo = 0;
  }

  /** Feeds bytes of the current file. */
  write(chunk: Buffer): void {
    this.counters.bytes += chunk.length;
    let start = 0;
    if (this.skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) return;
      this.endSkip();
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last < start) {
      this.hold(chunk, start);
      return;
    }
    if (this.carryLen > 0) {
      // The bytes held start a line that ends at this chunk's first newline: that line is decoded on its own, and
      // the rest straight from the chunk (no copy of it). Every piece decoded ends with a newline, so no character
      // is ever split between two pieces.
      const nl = chunk.indexOf(NEWLINE, start);
      this.carry.push(chunk.subarray(start, nl + 1));
      const first = Buffer.concat(this.carry).toString('utf8');
      this.carry = [];
      this.carryLen = 0;
      this.lines(first);
      start = nl + 1;
    }
    if (start <= last) this.lines(chunk.toString('utf8', start, last + 1));
    if (last + 1 < chunk.length) this.hold(chunk, last + 1);
  }

  /** Ends the current file: a last line without a newline is parsed and reported (the file was cut). */
  endFile(): void {
    if (this.skipping) this.endSkip();
    if (this.carryLen > 0) {
      const text = Buffer.concat(this.carry).toString('utf8');
      this.carry = [];
      this.carryLen = 0;
      this.lineNo++;
      this.counters.lines++;
      this.reportIssue({
        file: this.file,
        line: this.lineNo,
        reason: 'truncated',
        detail: 'the last line has no newline: the file was cut or was being written',
      });
      this.line(text, 0, text.length, true);
    }
  }

  /** Ends the host's input: closes every event still waiting for records (without `flush`: does nothing). */
  end(flush = true): void {
    if (!flush) return;
    this.endFile();
    this.reassembler.flush();
  }

  private hold(chunk: Buffer, from: number): void {
    const part = chunk.subarray(from);
    if (this.carryLen + part.length > this.maxLine) {
      this.carry = [];
      this.carryLen = 0;
      this.skipping = true;
      this.skipStartLine = this.lineNo + 1;
      return;
    }
    // Copy: the caller may reuse its buffer.
    this.carry.push(Buffer.from(part));
    this.carryLen += part.length;
  }

  private endSkip(): void {
    this.skipping = false;
    this.lineNo = this.skipStartLine;
    this.counters.lines++;
    this.reportIssue({
      file: this.file,
      line: this.lineNo,
      reason: 'line-too-long',
      detail: `line longer than ${this.maxLine} bytes skipped`,
    });
  }

  private lines(text: string): void {
    // One check of the whole chunk instead of one per line: only a chunk with a suspicious character has its
    // lines checked one by one (tokenize's NOT_TEXT; a CR is fine only as a line's last character).
    const checkText = suspect(text);
    let pos = 0;
    const end = text.length;
    while (pos < end) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = end;
      this.lineNo++;
      this.counters.lines++;
      if (nl - pos > this.maxLine) {
        this.reportIssue({
          file: this.file,
          line: this.lineNo,
          reason: 'line-too-long',
          detail: `line of ${nl - pos} characters skipped`,
        });
      } else if (nl > pos) {
        this.line(text, pos, nl, checkText);
      }
      pos = nl + 1;
    }
  }

  /** Tokenizes the line `text[start, end)` and hands its record on. */
  private line(text: string, start: number, end: number, checkText: boolean): void {
    if (end <= start) return;
    const result = tokenize(text, start, end, this.file, this.lineNo, checkText);
    if (result.issue !== undefined) this.reportIssue(result.issue);
    if (result.record !== undefined) {
      this.counters.records++;
      this.reassembler.push(result.record);
    }
  }

  private reportIssue(issue: ParseIssue): void {
    if (issue.reason !== 'event-too-large') this.counters.malformed++;
    this.sink.issue(issue);
  }

  private onEvent(event: AuditEvent, reason: CloseReason): void {
    if (reason === 'evicted' || reason === 'too-large') this.counters.incomplete++;
    const t = event.sec * 1000 + event.ms;
    const { since, until } = this.options;
    if ((since !== undefined && t < since) || (until !== undefined && t >= until)) {
      this.counters.outsideWindow++;
      return;
    }
    this.counters.events++;
    if ('auditEvent' in this.sink) this.sink.auditEvent(event);
    else this.sink.event({ event, row: buildRow(event, this.options) });
  }
}
