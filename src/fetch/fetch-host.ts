/**
 * One host, end to end: connect (with retries for transient failures), list the audit log and its rotated
 * siblings, pick what the window and the incremental state call for, and stream each file, oldest first,
 * through the host's one parser. Never throws for a host failure: the result says ok / partial / failed.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { TimeWindow } from '../config/window.js';
import { isSweepError, SweepError } from '../errors.js';
import { safeFileName } from '../file-name.js';
import type { InventoryHost } from '../inventory/types.js';
import { isOutputFailure, StreamFailure } from '../output-error.js';
import {
  type HostEventSink,
  type HostLogInput,
  HostLogParser,
  type HostParserSink,
} from '../parse/host-parser.js';
import { PRIVATE_DIR, PRIVATE_FILE } from '../private-files.js';
import type { AccountMaps, HostFailureCode, ParseCounters } from '../types.js';
import { hostFailure } from './host-failure.js';
import { firstEventTime, relocate, rotatedBetween, selectForWindow } from './list-logs.js';
import { connectHost, openTransport } from './open-transport.js';
import type { RetryOptions } from './retry.js';
import type { Session, SessionOptions } from './session.js';
import { fingerprint, HEAD_FINGERPRINT_BYTES, type LogCursor } from './state.js';
import type { LogTransport, RemoteFile } from './transport.js';

export interface FetchHostOptions {
  readonly window: TimeWindow;
  readonly session: SessionOptions;
  readonly retry?: Partial<Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>>;
  /** The host's account maps for RAW logs (rarely known for a remote host). */
  readonly accounts?: AccountMaps | undefined;
  /** `--keep-raw`: store the exact bytes received here (one folder per host), with their SHA-256. */
  readonly keepRawDir?: string | undefined;
  /** `--incremental`: where the previous sweep stopped; undefined reads everything the window selects. */
  readonly cursor?: LogCursor | undefined;
  /** Aborted at the per-host deadline or on interrupt. */
  readonly signal?: AbortSignal | undefined;
  /** After each chunk is parsed: the host's running totals so far (bytes received, events complete). */
  readonly onProgress?: ((bytes: number, events: number) => void) | undefined;
  /**
   * A write of the run failed (OUTPUT_FAILED: the raw copy, or the caller's `afterChunk` waiting on its writers):
   * the host still ends with a result, and the caller hears of it here, to stop the run.
   */
  readonly onOutputFailure?: ((err: SweepError) => void) | undefined;
}

/** One file as received, for the manifest (chain of custody). */
export interface FetchedFile {
  readonly path: string;
  readonly name: string;
  /** Byte range read: [start, end). */
  readonly start: number;
  readonly end: number;
  readonly remoteSize: number;
  readonly remoteMtime: string;
  readonly inode?: number | undefined;
  /** SHA-256 of exactly the bytes received. */
  readonly sha256: string;
  /** Where --keep-raw stored them, relative to the raw folder (`<host>/<file>`). */
  readonly rawFile?: string | undefined;
  readonly complete: boolean;
}

export interface HostFetchResult {
  readonly status: 'ok' | 'partial' | 'failed';
  readonly code?: HostFailureCode | undefined;
  readonly message: string;
  readonly files: FetchedFile[];
  /** Bytes received from the host. */
  readonly bytes: number;
  readonly counters: ParseCounters;
  readonly durationMs: number;
  /** For the next incremental sweep: the end of the newest plain file read; undefined when none was read. */
  readonly cursor?: LogCursor | undefined;
  /** Security warnings from the session (e.g. an unverified host key accepted) for every report. */
  readonly warnings: string[];
}

/**
 * Feeds a parser from a file stream, holding back a last line that has no newline yet when the file is the live
 * log (auditd may be writing it): that line is read next time, not reported as truncated.
 */
class LineBoundary {
  private tail: Buffer[] = [];
  private tailLen = 0;
  /** Bytes handed to the parser, which end with a complete line. */
  consumed = 0;

  constructor(
    private readonly parser: HostLogInput,
    private readonly holdTail: boolean,
  ) {}

  write(chunk: Buffer): void {
    if (!this.holdTail) {
      this.parser.write(chunk);
      this.consumed += chunk.length;
      return;
    }
    const nl = chunk.lastIndexOf(0x0a);
    if (nl < 0) {
      this.tail.push(chunk);
      this.tailLen += chunk.length;
      return;
    }
    for (const t of this.tail) this.parser.write(t);
    this.parser.write(chunk.subarray(0, nl + 1));
    this.consumed += this.tailLen + nl + 1;
    this.tail = nl + 1 < chunk.length ? [chunk.subarray(nl + 1)] : [];
    this.tailLen = chunk.length - nl - 1;
  }
}

/**
 * Finds the file the cursor points at, newest first: by inode when the transport tells inodes, else by its head
 * bytes. Undefined when no file can be told to be it (rotated out of reach, or rewritten over SFTP).
 */
async function locateCursor(
  transport: LogTransport,
  files: readonly RemoteFile[],
  cursor: LogCursor,
): Promise<{ index: number; truncated: boolean } | undefined> {
  for (let i = files.length - 1; i >= 0; i--) {
    const f = files[i]!;
    if (f.name.endsWith('.gz')) continue;
    const inodesKnown = cursor.inode !== undefined && f.inode !== undefined;
    if (inodesKnown && f.inode !== cursor.inode) continue;
    const sameHead =
      cursor.headLength > 0 &&
      f.size >= cursor.headLength &&
      fingerprint(await transport.head(f.path, cursor.headLength)) === cursor.headSha256;
    if (sameHead || (inodesKnown && cursor.headLength === 0)) {
      return { index: i, truncated: f.size < cursor.offset };
    }
    // The same inode with other head bytes: truncated in place (and written again since).
    if (inodesKnown) return { index: i, truncated: true };
  }
  return undefined;
}

/**
 * Slack on mtimes when judging whether a file was written since the last sweep: SFTP v3 gives whole seconds,
 * so a file written 0.9 s after the last sweep's listing may show the same second.
 */
const MTIME_SLACK_MS = 1000;

/**
 * A read's `opened` check found the log rotated since it was listed: the path may now name another file.
 * `listing` is the log as it is now.
 */
class LogRotated extends Error {
  constructor(readonly listing: RemoteFile[]) {
    super('the log rotated since it was listed');
  }
}

/** Rotations followed during one host's read before it gives up (auditd rotating faster than it can be read). */
const MAX_ROTATIONS_FOLLOWED = 5;

interface PlannedRead {
  readonly file: RemoteFile;
  readonly start: number;
  readonly live: boolean;
  /**
   * Read after the log rotated this many times during the sweep: the raw copy's name says so, since the file
   * copied earlier under the same name (before the rotation) was another one.
   */
  readonly afterRotations?: number;
}

/** Decides which files to read and from where: window selection, then the incremental cursor. */
async function plan(
  transport: LogTransport,
  files: RemoteFile[],
  options: FetchHostOptions,
  notes: string[],
): Promise<PlannedRead[]> {
  let candidates = files;
  let startOf = new Map<string, number>();
  if (options.cursor !== undefined) {
    const cursor = options.cursor;
    const found = await locateCursor(transport, files, cursor);
    if (found === undefined) {
      // How far the files still here were read is unknown, but a file not written to since the last sweep's
      // listing holds nothing new: read every other one from the start (when in doubt, read: twice beats never).
      candidates = files.filter((f) => f.mtimeMs + MTIME_SLACK_MS >= cursor.mtimeMs);
      const same = files.find((f) => f.path === cursor.path);
      notes.push(
        same
          ? `${same.name} does not begin with the bytes read last time (truncated or replaced since the last sweep); reading it from the start, with every file written since`
          : 'the log read last time is gone (rotated out of reach); reading every file written since the last sweep',
      );
    } else if (found.truncated) {
      notes.push(`${files[found.index]!.name} was truncated since the last sweep; reading it from the start`);
      candidates = files.slice(found.index);
    } else {
      const at = files[found.index]!;
      if (found.index < files.length - 1) {
        notes.push(
          `the log was rotated since the last sweep: reading ${at.name} from byte ${cursor.offset}, then the newer files`,
        );
      }
      candidates = files.slice(found.index);
      startOf = new Map([[at.path, cursor.offset]]);
    }
  }
  let selection = selectForWindow(candidates, options.window);
  if (selection.undecided.length > 0) {
    const firstEventMs = new Map<string, number | undefined>();
    for (const f of selection.undecided)
      firstEventMs.set(f.path, firstEventTime(await transport.head(f.path, 64 * 1024)));
    selection = selectForWindow(candidates, options.window, { firstEventMs });
  }
  return readsOf(selection.selected, files, (file) => startOf.get(file.path) ?? 0);
}

/**
 * The reads of `selected` (oldest first, out of the listing `files`), each from `startOf(file)`. The newest plain
 * file of the listing is live: auditd may still be writing it, so a last line without its newline is left for the
 * next sweep, and it is read even when it holds nothing new yet. Any other file with nothing left to read is left out.
 */
function readsOf(
  selected: readonly RemoteFile[],
  files: readonly RemoteFile[],
  startOf: (file: RemoteFile) => number,
  afterRotations?: number,
): PlannedRead[] {
  const newest = files[files.length - 1];
  return selected
    .map((file) => ({
      file,
      start: startOf(file),
      live: file === newest && !file.name.endsWith('.gz'),
      ...(afterRotations === undefined ? {} : { afterRotations }),
    }))
    .filter((r) => r.start < r.file.size || r.live);
}

function stampOf(f: RemoteFile): string {
  return new Date(f.mtimeMs).toISOString();
}

/**
 * Reads one file into the parser (and the raw copy). `record` receives what was received, also when the read
 * fails half-way (the manifest then shows the file incomplete). Resolves with the end of the last complete line
 * handed to the parser and, from offset 0, the file's first {@link HEAD_FINGERPRINT_BYTES} bytes; or, when
 * `opened` found that the log rotated before the file was opened, with that {@link LogRotated}, nothing read.
 */
async function readOne(
  transport: LogTransport,
  read: PlannedRead,
  parser: HostLogInput,
  options: FetchHostOptions,
  host: InventoryHost,
  afterChunk: () => Promise<void>,
  onBytes: (n: number) => void,
  record: (fetched: FetchedFile) => void,
  opened: () => Promise<void>,
): Promise<{ consumedEnd: number; head: Buffer } | LogRotated> {
  const { file, start, live } = read;
  const end = file.size;
  const hash: Hash = createHash('sha256');
  let raw: WriteStream | undefined;
  let rawFailure: StreamFailure | undefined;
  let rawFile: string | undefined;
  if (options.keepRawDir !== undefined) {
    // A name that had to be changed gets a hash of the original, so `a/b` and `a_b` keep separate folders.
    const safe = safeFileName(host.name);
    const dir =
      safe === host.name
        ? safe
        : `${safe}-${createHash('sha256').update(host.name).digest('hex').slice(0, 8)}`;
    await mkdir(join(options.keepRawDir, dir), { recursive: true, mode: PRIVATE_DIR });
    // Relative to the raw folder, so that the manifest still holds when the report folder is moved.
    const rotations = read.afterRotations === undefined ? '' : `.after-rotation-${read.afterRotations}`;
    rawFile = join(dir, `${file.name}${start > 0 ? `.from-${start}` : ''}${rotations}`);
    raw = createWriteStream(join(options.keepRawDir, rawFile), { flags: 'wx', mode: PRIVATE_FILE });
    rawFailure = new StreamFailure(raw);
  }
  const source: Readable = transport.read(file.path, { start, end, opened });
  const gz = file.name.endsWith('.gz');
  const boundary = new LineBoundary(parser, live);
  parser.beginFile(file.path);
  let received = 0;
  let head = Buffer.alloc(0);
  let rotated: LogRotated | undefined;
  try {
    const bytes: AsyncIterable<Buffer> = gz ? gunzipTap(source, hash, raw, (n) => tally(n)) : source;
    for await (const chunk of bytes) {
      if (!gz) {
        hash.update(chunk);
        tally(chunk.length);
        if (raw && !raw.write(chunk)) await rawFailure?.until('drain');
        rawFailure?.check();
        if (start === 0 && head.length < HEAD_FINGERPRINT_BYTES) {
          head = Buffer.concat([head, chunk.subarray(0, HEAD_FINGERPRINT_BYTES - head.length)]);
        }
      }
      boundary.write(chunk);
      await afterChunk();
    }
    if (raw) {
      // The copy is complete only once it is on disk: a failed last write is a failed copy.
      raw.end();
      await rawFailure?.until('finish');
    }
  } catch (err) {
    // The file is not the one listed (the log rotated): nothing of it was received; the caller finds where it went.
    // A file gone by the time it was opened may have rotated out from under its name too.
    if (received > 0) throw err;
    if (err instanceof LogRotated) rotated = err;
    else if (isSweepError(err) && err.code === 'LOG_MISSING') {
      rotated = await opened().then(
        () => undefined,
        (again: unknown) => (again instanceof LogRotated ? again : undefined),
      );
    }
    if (rotated === undefined) throw err;
  } finally {
    // After a failure, what was copied so far is kept (evidence of a partial read), unless the copy itself failed.
    if (raw && !raw.writableFinished && !raw.errored) await new Promise<void>((r) => raw?.end(() => r()));
    if (rotated === undefined) {
      record({
        path: file.path,
        name: file.name,
        start,
        end: start + received,
        remoteSize: file.size,
        remoteMtime: stampOf(file),
        inode: file.inode,
        sha256: hash.digest('hex'),
        rawFile,
        complete: start + received === end,
      });
    }
  }
  parser.endFile();
  if (rotated !== undefined) {
    // Its empty copy goes: the file will be read (and copied) under the name it has now.
    if (rawFile !== undefined && options.keepRawDir !== undefined)
      await rm(join(options.keepRawDir, rawFile));
    return rotated;
  }
  return { consumedEnd: gz ? end : start + boundary.consumed, head };

  function tally(n: number): void {
    received += n;
    onBytes(n);
  }
}

/** Decompresses a .gz stream while hashing and storing the compressed bytes as received. */
async function* gunzipTap(
  source: Readable,
  hash: Hash,
  raw: WriteStream | undefined,
  onCompressed: (n: number) => void,
): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  source.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    onCompressed(chunk.length);
    raw?.write(chunk);
  });
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/**
 * Collects one host. `sink` receives its rows (or, a HostEventSink, its events, for a row stage that builds the
 * rows elsewhere) and parse issues as they come; or `sink` is the host's parser itself (a HostLogInput: one on a
 * host parse worker, which delivers the rows on its own). `afterChunk` lets the caller keep backpressure (wait for its
 * writers and row workers): the next chunk is not read before it resolves. On a failure after some files were
 * read, the status is `partial`: the rows received so far are real and kept, and the message says where it stopped.
 */
export async function fetchHost(
  host: InventoryHost,
  sink: HostParserSink | HostEventSink | HostLogInput,
  afterChunk: () => Promise<void>,
  options: FetchHostOptions,
): Promise<HostFetchResult> {
  const started = Date.now();
  const parser: HostLogInput =
    'beginFile' in sink
      ? sink
      : new HostLogParser(
          {
            host: host.name,
            accounts: options.accounts,
            since: options.window.since,
            until: options.window.until,
          },
          sink,
        );
  const files: FetchedFile[] = [];
  const notes: string[] = [];
  let bytes = 0;
  let session: Session | undefined;
  let cursor: LogCursor | undefined;
  let reading = false;
  const result = (
    status: HostFetchResult['status'],
    message: string,
    code?: HostFailureCode,
  ): HostFetchResult => ({
    status,
    code,
    message,
    files,
    bytes,
    counters: parser.counters,
    durationMs: Date.now() - started,
    cursor,
    warnings: [...(session?.facts.warnings ?? [])],
  });
  try {
    session = await connectHost(host, options);
    const transport = await openTransport(host, session);
    let listed = await transport.listLogs(host.logPath);
    let reads = await plan(transport, listed, options, notes);
    reading = true;
    const logName = posix.basename(host.logPath);
    // Each file is checked at its open: a path read after a rotation names another file (audit.log.1 is then the
    // former live log). An open handle (or a running `cat`) keeps its file whatever is renamed afterwards.
    const opened = async (): Promise<void> => {
      const now = await transport.listLogs(host.logPath);
      if (rotatedBetween(logName, listed, now)) throw new LogRotated(now);
    };
    let rotations = 0;
    const onProgress = options.onProgress;
    const chunkDone = onProgress
      ? () => {
          onProgress(bytes, parser.counters.events);
          return afterChunk();
        }
      : afterChunk;
    for (let k = 0; k < reads.length; k++) {
      const read = reads[k]!;
      const outcome = await readOne(
        transport,
        read,
        parser,
        options,
        host,
        chunkDone,
        (n) => {
          bytes += n;
        },
        (fetched) => files.push(fetched),
        opened,
      );
      if (outcome instanceof LogRotated) {
        // The files before this one were read whole from the files listed; this one and the newer ones are read
        // under the names they have now.
        const now = outcome.listing;
        const moved = relocate(logName, read.file, listed, now);
        rotations++;
        if (moved === undefined || rotations > MAX_ROTATIONS_FOLLOWED) {
          throw new SweepError(
            'INTERRUPTED',
            moved === undefined
              ? `${read.file.path} rotated out of reach while the files before it were read (num_logs too low for the sweep's pace?)`
              : `the log rotated ${rotations} times while it was read; sweep the host again`,
          );
        }
        notes.push(`the log rotated during the read: ${read.file.name} was read as ${moved.name}`);
        const rest = readsOf(
          now.slice(now.indexOf(moved)),
          now,
          (file) => (file === moved ? read.start : 0),
          rotations,
        );
        reads = [...reads.slice(0, k), ...rest];
        listed = now;
        k--;
        continue;
      }
      const { consumedEnd, head } = outcome;
      if (!read.file.name.endsWith('.gz')) {
        // The cursor marks the end of the newest plain file read: the live log, or, while the live log is still
        // empty after a rotation, the rotated file just read to its end (found again by its head next time).
        // From offset 0 the head just went by; from a cursor, this file is the one whose head the cursor holds
        // (reading the head again afterwards could see a file that rotated in between).
        const previous = read.start > 0 ? options.cursor : undefined;
        const headLength = previous?.headLength ?? Math.min(HEAD_FINGERPRINT_BYTES, consumedEnd);
        cursor = {
          path: read.file.path,
          inode: read.file.inode,
          headSha256: previous?.headSha256 ?? fingerprint(head.subarray(0, headLength)),
          headLength,
          offset: consumedEnd,
          mtimeMs: read.file.mtimeMs,
          updatedAt: new Date().toISOString(),
        };
      }
    }
    await parser.end();
    const c = parser.counters;
    const summary =
      `${files.length} file${files.length === 1 ? '' : 's'}, ${bytes} bytes, ${c.events} events` +
      (c.malformed > 0 ? `, ${c.malformed} bad lines` : '') +
      (notes.length > 0 ? `; ${notes.join('; ')}` : '');
    return result('ok', summary);
  } catch (err) {
    if (isOutputFailure(err)) options.onOutputFailure?.(err);
    const { code, message } = hostFailure(err);
    // The parser is NOT flushed: the events it still holds may lack records that lay beyond the cut, and a row
    // must not look whole when it is not. The rows kept are thus exactly the first rows of a complete read.
    await parser.end(false);
    if (reading && bytes > 0) {
      // What was received is real evidence: its rows are kept, and the status says the log is incomplete.
      cursor = undefined; // never advance the incremental state past an interrupted read
      return result(
        'partial',
        `${message} — collection stopped after ${bytes} bytes; the ${parser.counters.events} events complete before the cut are kept, later ones are missing`,
        code,
      );
    }
    return result('failed', message, code);
  } finally {
    await session?.close();
  }
}
