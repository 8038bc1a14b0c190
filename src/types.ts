/**
 * The vocabulary shared by every stage: inventory → fetch → parse → report → mail.
 * auditd's own words are used on purpose: record, event, serial, node.
 */
import type { ErrorCode, HostFailureCode } from './errors.js';

/** One line of audit.log, split into fields. Values are kept as written (quotes included) and decoded lazily. */
export interface AuditRecord {
  /** `node=` prefix value, '' when the line had none. */
  readonly node: string;
  /** Record type name (`SYSCALL`, `USER_LOGIN`, or `UNKNOWN[1334]` as auditd writes unknown numbers). */
  readonly type: string;
  /** Seconds since the epoch, from `msg=audit(SECONDS.MILLIS:SERIAL)`. */
  readonly sec: number;
  readonly ms: number;
  readonly serial: number;
  /**
   * Raw body fields, flat and in order: [name0, value0, name1, value1, …]. A value keeps its double quotes
   * (`"bash"`) so that an unquoted value can be recognised as hex-encoded. The nested `msg='…'` of user-space
   * records is flattened here (its fields follow the outer ones; the `msg` field itself is not kept).
   */
  readonly fields: string[];
  /**
   * ENRICHED logs: the upper-case interpreted fields after the 0x1D separator, flat like `fields`, values with
   * their quotes removed (`AUID`, `alice`). Empty for RAW logs.
   */
  readonly enriched: string[];
  /** Where the line came from, for evidence. */
  readonly file: string;
  readonly line: number;
}

/** All records sharing (node, sec.ms, serial): one auditd event. */
export interface AuditEvent {
  readonly node: string;
  readonly sec: number;
  readonly ms: number;
  readonly serial: number;
  readonly records: AuditRecord[];
}

/** A line that could not be used. Counted and reported, never silently dropped. */
export interface ParseIssue {
  readonly file: string;
  readonly line: number;
  readonly reason: ParseIssueReason;
  /** Human detail; never the whole line (it may be 1 MB of garbage), at most a short excerpt. */
  readonly detail: string;
}

export type ParseIssueReason =
  | 'line-too-long'
  | 'not-text'
  | 'missing-header'
  | 'bad-header'
  | 'truncated'
  | 'bad-field'
  | 'bad-hex'
  | 'event-too-large'
  | 'out-of-order';

/** Counters that travel from the parser into the summary and the manifest. */
export interface ParseCounters {
  bytes: number;
  lines: number;
  records: number;
  events: number;
  /** Lines reported as issues. */
  malformed: number;
  /** Events closed early: pushed out of the bounded in-flight window, or over the records-per-event bound. */
  incomplete: number;
  /** Events dropped by the time window (--since/--until). */
  outsideWindow: number;
}

export function emptyCounters(): ParseCounters {
  return { bytes: 0, lines: 0, records: 0, events: 0, malformed: 0, incomplete: 0, outsideWindow: 0 };
}

/** Columns of events.csv, in order. The first 33 are a contract (issue #2); more may only be appended. */
export const EVENT_COLUMNS = [
  'host',
  'node',
  'time',
  'serial',
  'event_type',
  'event_kind',
  'session',
  'subj_prime',
  'subj_sec',
  'subj_kind',
  'action',
  'result',
  'obj_prime',
  'obj_sec',
  'obj_kind',
  'how',
  'key',
  'record_types',
  'auid',
  'uid',
  'euid',
  'pid',
  'ppid',
  'syscall',
  'exe',
  'comm',
  'command',
  'cwd',
  'terminal',
  'addr',
  'hostname',
  'source_file',
  'source_line',
  // Appended for reviewers (not part of the original contract; order kept stable from here on).
  'exit',
  'success',
  'arch',
  'tty',
  'obj2',
  'saddr',
] as const;

export type EventColumn = (typeof EVENT_COLUMNS)[number];
export type EventRow = Record<EventColumn, string>;

/** A parsed event with its normalized row: later stages (summary, findings) need both. */
export interface ParsedEvent {
  readonly event: AuditEvent;
  readonly row: EventRow;
}

/** Account maps for RAW logs (uid → name, gid → name), from the audited host's passwd/group. */
export interface AccountMaps {
  readonly users: ReadonlyMap<number, string>;
  readonly groups: ReadonlyMap<number, string>;
}

/** How one selected host ended. Every selected host gets one, failed hosts included. */
export type HostOutcome =
  | {
      readonly host: string;
      readonly status: 'ok' | 'partial';
      readonly files: number;
      readonly bytes: number;
      readonly events: number;
      readonly durationMs: number;
      /** For `partial`: why the collection stopped early. */
      readonly code?: HostFailureCode;
      readonly message: string;
    }
  | {
      readonly host: string;
      readonly status: 'failed';
      readonly code: HostFailureCode;
      readonly message: string;
      readonly files: number;
      readonly bytes: number;
      readonly events: number;
      readonly durationMs: number;
    };

export type { ErrorCode, HostFailureCode };
