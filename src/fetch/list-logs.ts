/**
 * Pure helpers over a host's log folder: which names are the live log and its rotated siblings, in what order
 * they were written, and which of them can hold events of a review window.
 *
 * auditd rotates by itself (auditd.conf `max_log_file_action = ROTATE`, `num_logs`): audit.log.N-1 → audit.log.N,
 * …, audit.log → audit.log.1, then a fresh audit.log. A logrotate `compress` setup leaves `audit.log.N.gz` (gzip
 * keeps the mtime of the file it compressed). The higher N, the older the file; audit.log is the newest.
 */
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import type { TimeWindow } from '../config/window.js';
import type { RemoteFile } from './transport.js';

/** Where a name sits in the rotation: 0 for the live log, N for `.N`; `gz` for a compressed sibling. */
export interface RotationSlot {
  readonly index: number;
  readonly gz: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The rotation slot of `fileName` if it is `logName` itself or one of its rotated siblings (`audit.log.1`,
 * `audit.log.12`, `audit.log.3.gz`), else undefined (`audit.log.bak`, `audit.log.1.tmp`, `audit.log.gz`).
 */
export function rotationSlot(logName: string, fileName: string): RotationSlot | undefined {
  if (fileName === logName) return { index: 0, gz: false };
  const m = new RegExp(`^${escapeRegExp(logName)}\\.(\\d{1,6})(\\.gz)?$`).exec(fileName);
  if (!m?.[1]) return undefined;
  const index = Number(m[1]);
  // `audit.log.0` is not a name auditd writes; reading it as the live log would put it out of order.
  if (index === 0) return undefined;
  return { index, gz: m[2] !== undefined };
}

/**
 * Keeps the files of `logName`'s family and orders them oldest first: the highest N first, the live log last.
 * When both `audit.log.N` and `audit.log.N.gz` exist (a compressor caught mid-way), the plain file is kept: the
 * `.gz` may still be half written, and both hold the same events.
 */
export function orderRotated<T extends Pick<RemoteFile, 'name'>>(logName: string, files: readonly T[]): T[] {
  const bySlot = new Map<number, { file: T; gz: boolean }>();
  for (const file of files) {
    const slot = rotationSlot(logName, file.name);
    if (!slot) continue;
    const seen = bySlot.get(slot.index);
    if (!seen || (seen.gz && !slot.gz)) bySlot.set(slot.index, { file, gz: slot.gz });
  }
  return [...bySlot.entries()].sort((a, b) => b[0] - a[0]).map(([, v]) => v.file);
}

export interface WindowSelection<T> {
  /** Files that may hold events of the window, oldest first (the files in doubt included). */
  readonly selected: T[];
  /**
   * Selected files whose inclusion hangs on the time of their first event: they were written to at or after
   * `until`, and nothing bounds their first event from below (no older sibling, or one written shortly
   * before). Read their first bytes, pass `firstEventTime(head)` back in `firstEventMs`, and they are decided.
   */
  readonly undecided: T[];
}

export interface SelectOptions {
  /**
   * Tolerance on modification times, ms. SFTP v3 and `stat %Y` carry whole seconds (a file written at 10.9 s
   * shows 10 s), and auditd stamps an event when the kernel emits it, a moment before it writes it. Default 2000.
   */
  readonly slackMs?: number;
  /** First event time (epoch ms) of files already looked at, by path; undefined when a head had none. */
  readonly firstEventMs?: ReadonlyMap<string, number | undefined>;
}

/**
 * Picks, from files ordered oldest first ({@link orderRotated}), those that can hold events in
 * [since, until). The reasoning, with file k older than file k-1 and each file's events after all events of
 * the files older than it:
 *
 * - A file's mtime is the time of its last write, so no event in it is later than its mtime (+ slack). A file
 *   whose mtime + slack is before `since` holds only earlier events: skipped. The newest such file is NOT kept
 *   "for context": an event that straddles the rotation has one timestamp for all its records, which is then
 *   before `since` too, so the records at the head of the next file belong to no event of the window (the
 *   parser counts them as incomplete or out of window, which is the truth).
 * - An empty file holds no event: skipped.
 * - `until`: a file's first event is no earlier than the last write of the next older file (minus slack). So
 *   when that older file's mtime - slack is at or after `until`, the file holds only later events: skipped.
 *   A file whose own mtime + slack is before `until` has its events before `until`: kept without doubt.
 *   Otherwise (written at/after `until`, and no older sibling bounds its start past `until`) it is kept but
 *   listed in `undecided`, unless `firstEventMs` knows its first event: then it is kept iff that is before
 *   `until` + slack (a file whose head shows no event at all stays kept: when in doubt, read).
 */
export function selectForWindow<T extends Pick<RemoteFile, 'path' | 'size' | 'mtimeMs'>>(
  files: readonly T[],
  window: TimeWindow,
  options: SelectOptions = {},
): WindowSelection<T> {
  const slack = options.slackMs ?? 2000;
  const { since, until } = window;
  const selected: T[] = [];
  const undecided: T[] = [];
  for (let k = 0; k < files.length; k++) {
    const file = files[k]!;
    if (file.size === 0) continue;
    if (since !== undefined && file.mtimeMs + slack < since) continue;
    if (until !== undefined && file.mtimeMs + slack >= until) {
      const older = k > 0 ? files[k - 1] : undefined;
      if (older && older.mtimeMs - slack >= until) continue;
      if (options.firstEventMs?.has(file.path)) {
        const first = options.firstEventMs.get(file.path);
        // Events are written nearly, not strictly, in time order: the same slack applies.
        if (first !== undefined && first - slack >= until) continue;
      } else {
        undecided.push(file);
      }
    }
    selected.push(file);
  }
  return { selected, undecided };
}

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
// `msg=audit(1700000000.123:42):` as auditd writes it (lib/audit_logging.c, src/auditd-event.c).
const HEADER = /msg=audit\((\d{1,12})\.(\d{3}):\d+\)/;

/**
 * Epoch ms of the first event in the first bytes of a log (`msg=audit(SEC.MS:SERIAL)` of the first complete
 * line that has one), or undefined. Gzip bytes (a `.gz` sibling's head) are inflated as far as they go; a
 * line cut by the end of the bytes is not trusted.
 */
export function firstEventTime(headBytes: Buffer): number | undefined {
  let bytes = headBytes;
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1) {
    try {
      // Z_SYNC_FLUSH: a truncated stream yields what it has instead of throwing "unexpected end of file".
      bytes = gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      return undefined;
    }
  }
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) return undefined;
    const m = HEADER.exec(bytes.toString('latin1', start, nl));
    if (m) return Number(m[1]) * 1000 + Number(m[2]);
    start = nl + 1;
  }
}

/**
 * What tells one rotated file from another in a listing. A rotated file is no longer written to, so its size and
 * mtime stay as they are; the inode, when the transport tells it, settles it.
 */
function identity(f: RemoteFile): string {
  return `${f.size}:${f.mtimeMs}:${f.inode ?? ''}`;
}

/**
 * Whether the log rotated between two listings of `logName`'s family. A rotation renames every rotated file and
 * turns the live log into `.1`, so the rotated files (name and identity) are no longer the same; with inodes, the
 * live log's changes too. The live log's size and mtime change as auditd writes: they say nothing.
 */
export function rotatedBetween(
  logName: string,
  before: readonly RemoteFile[],
  after: readonly RemoteFile[],
): boolean {
  const rotated = (files: readonly RemoteFile[]) =>
    files
      .filter((f) => f.name !== logName)
      .map((f) => `${f.name}|${identity(f)}`)
      .sort()
      .join('\n');
  const live = (files: readonly RemoteFile[]) => {
    const f = files.find((x) => x.name === logName);
    return f === undefined ? 'none' : `${f.inode ?? ''}`;
  };
  return rotated(before) !== rotated(after) || live(before) !== live(after);
}

/**
 * Where `file`, as listed in `before`, is in `after` (a later listing, after the log rotated); undefined when it
 * is gone (deleted past `num_logs`, or compressed). By inode when the transport tells inodes. Otherwise a rotated
 * file by its size and mtime; the live log, which auditd wrote to until it rotated it, as the oldest of the
 * rotated files `before` did not have, no shorter than it was.
 */
export function relocate(
  logName: string,
  file: RemoteFile,
  before: readonly RemoteFile[],
  after: readonly RemoteFile[],
): RemoteFile | undefined {
  if (file.inode !== undefined) return after.find((f) => f.inode === file.inode);
  const rotated = after.filter((f) => f.name !== logName);
  if (file.name !== logName) return rotated.find((f) => identity(f) === identity(file));
  const known = new Set(before.filter((f) => f.name !== logName).map(identity));
  return rotated.find((f) => !known.has(identity(f)) && f.size >= file.size);
}
