/**
 * How the bytes of remote log files are listed and read once an SSH connection exists. Two implementations:
 * `sftp-transport.ts` (the SFTP subsystem, many reads in flight) and `sudo-transport.ts` (an exec channel
 * through `sudo -n`, for logs only root may read). Both fail with a {@link SweepError} whose code says what
 * the operator must fix, and keep the underlying error as `cause`.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import { SweepError } from '../errors.js';

/** One remote file as listed or stat-ed. */
export interface RemoteFile {
  /** Absolute path on the host. */
  readonly path: string;
  /** Base name (`audit.log.3.gz`). */
  readonly name: string;
  readonly size: number;
  /**
   * Last modification, epoch ms. Whole seconds over SFTP (v3 attributes carry seconds only); to the ms over
   * sudo (`stat %y`).
   */
  readonly mtimeMs: number;
  /** Inode number, when the transport can tell (sudo: yes; SFTP v3: no). */
  readonly inode?: number;
  /** Permission bits (`mode & 0o7777`). */
  readonly mode?: number;
}

/** A byte range [start, end): start defaults to 0, end to the file's size when the read starts. */
export interface ByteRange {
  readonly start?: number;
  readonly end?: number;
}

export interface ReadOptions extends ByteRange {
  /**
   * Called once the remote file is open (an SFTP handle; for sudo, once `cat` has sent its first bytes) and
   * before any byte is delivered: a rejection fails the read with its error, nothing delivered. The fetcher
   * checks here that the log did not rotate between its listing and this open (fetch-host.ts).
   */
  readonly opened?: (() => Promise<void>) | undefined;
}

export interface LogTransport {
  readonly kind: 'sftp' | 'sudo';
  /**
   * The log at `logPath` and its rotated siblings in the same folder (`audit.log`, `audit.log.1` …
   * `audit.log.N`, `.gz` forms), oldest first: the highest N first, the live log last. Only regular files.
   * LOG_MISSING when the folder does not exist or holds none of them.
   */
  listLogs(logPath: string): Promise<RemoteFile[]>;
  /** The file at `path` (symbolic links followed). LOG_MISSING when it does not exist. */
  stat(path: string): Promise<RemoteFile>;
  /**
   * Streams the bytes of [start, end) in order, with backpressure. Without `end`, the read stops at the size
   * the file had when the read started: a log that keeps growing is read up to that point, never "forever".
   * The stream delivers exactly end - start bytes or errors: a file that turns out shorter (truncated, or
   * rotated and replaced between stat and read) errors with INTERRUPTED; it never ends as a clean short file.
   */
  read(path: string, options?: ReadOptions): Readable;
  /** The first bytes of a file (for fingerprints and first-event time): min(n, size) bytes. */
  head(path: string, n: number): Promise<Buffer>;
}

/** Checks a caller's range; throws USAGE (a bug in the caller, not a host failure). */
export function checkRange(range: ByteRange): { start: number; end: number | undefined } {
  const start = range.start ?? 0;
  const end = range.end;
  if (!Number.isSafeInteger(start) || start < 0) throw new SweepError('USAGE', `invalid read start ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new SweepError('USAGE', `invalid read end ${end} (start ${start})`);
  }
  return { start, end };
}

/** Escapes what sudoers treats specially in a command argument (sudoers(5), "Other special characters"). */
function sudoersEscape(arg: string): string {
  return arg.replace(/[\\,:= ]/g, (c) => `\\${c}`);
}

/**
 * The sudoers rule that lets `user` read the logs beside `logPath` with exactly the commands the sudo
 * transport runs: one fixed `ls` of the folder and `cat` of the log family, numbered siblings spelled with
 * `[0-9]` classes. No `*`: in sudoers a `*` in arguments also matches spaces, so `cat …/audit.log*` would
 * allow `cat …/audit.log /etc/shadow`. auditd's num_logs is at most 999, hence up to three digits.
 */
export function sudoersRule(user: string, logPath: string): string {
  const dir = path.posix.dirname(logPath);
  const digits = ['[1-9]', '[1-9][0-9]', '[1-9][0-9][0-9]'];
  const family = [
    logPath,
    ...digits.map((d) => `${logPath}.${d}`),
    ...digits.map((d) => `${logPath}.${d}.gz`),
  ].map((f) => `/usr/bin/cat ${sudoersEscape(f)}`);
  return `${user} ALL=(root) NOPASSWD: /usr/bin/ls -lani --full-time ${sudoersEscape(dir)}, ${family.join(', ')}`;
}

/** PERMISSION_DENIED for a log the login user may not read over SFTP, naming the three ways out. */
export function permissionDenied(
  filePath: string,
  user: string,
  logPath: string,
  cause: unknown,
): SweepError {
  return new SweepError(
    'PERMISSION_DENIED',
    `${filePath}: permission denied for user ${user}. Fix one of: add ${user} to auditd's log_group ` +
      '(log_group = <group> in /etc/audit/auditd.conf, then restart auditd; the folder must be group-readable too) / ' +
      'log in as root with a key / use transport: sudo (sudo -n must be allowed for: ' +
      `${sudoersRule(user, logPath)})`,
    { cause },
  );
}

/** LOG_MISSING naming the path. */
export function logMissing(filePath: string, cause?: unknown): SweepError {
  return new SweepError(
    'LOG_MISSING',
    `${filePath}: no such file or directory (is auditd installed and logging there? see log_file in /etc/audit/auditd.conf)`,
    { cause },
  );
}

/** INTERRUPTED: the connection went away while `filePath` was being read or listed. */
export function interrupted(filePath: string, detail: string, cause?: unknown): SweepError {
  return new SweepError('INTERRUPTED', `${filePath}: ${detail}`, { cause });
}

/** INTERRUPTED for a file that ended before the byte the caller expected (truncated, or rotated away). */
export function endedEarly(filePath: string, got: number, expectedEnd: number): SweepError {
  return new SweepError(
    'INTERRUPTED',
    `${filePath}: ended at byte ${got}, before the expected ${expectedEnd} (truncated or rotated while being read)`,
  );
}
