/**
 * The sudo transport: lists and reads logs that only root may read (auditd's default: 0700 folder, 0600
 * files) through `sudo -n` on exec channels of an open ssh2 connection.
 *
 * Only two commands run as root, both with arguments a sudoers rule can pin down exactly
 * ({@link sudoersRule}); every variable number stays in the unprivileged half of a remote pipeline:
 *
 *   sudo -n ls -lani --full-time DIR                     listing and stat (size, ns mtime, inode, mode)
 *   sudo -n cat FILE | head -c LEN                       bytes [0, LEN), and head()
 *   sudo -n cat FILE | tail -c +START+1 | head -c LEN    bytes [START, START+LEN)
 *
 * The remote host reads the skipped prefix through a pipe; only the range crosses the network. A pipeline's
 * exit status is its last command's, so success is judged by what cannot lie: the exact byte count (a read
 * always knows its length; without `end` it stats first), the exit status, and stderr, where sudo and cat
 * report every failure. A short result is an error, never a clean short file.
 *
 * Paths are single-quoted for the remote shell and must be absolute, so none can pass for an option.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { SweepError } from '../errors.js';
import { shellQuote } from '../shell-quote.js';
import { orderRotated, rotationSlot } from './list-logs.js';
import {
  checkRange,
  endedEarly,
  interrupted,
  type LogTransport,
  logMissing,
  type ReadOptions,
  type RemoteFile,
  sudoersRule,
} from './transport.js';

export interface SudoTransportOptions {
  /** The login name, for the sudoers rule of a PERMISSION_DENIED message. */
  readonly user?: string;
  /**
   * Settles when the connection is gone (Session.closed). ssh2 may never answer an exec request, nor close its
   * channel, once the connection went away under it (an abort): every command still waiting then fails
   * INTERRUPTED, rather than waiting for ever.
   */
  readonly closed?: Promise<unknown> | undefined;
}

/** Each connection's SudoTransportOptions.closed, for the commands run on it. */
const CONNECTION_GONE = new WeakMap<Client, Promise<unknown>>();

function checkPath(filePath: string): string {
  if (!filePath.startsWith('/') || filePath.includes('\0') || filePath.includes('\n')) {
    throw new SweepError('USAGE', `remote log path must be absolute, one line: ${JSON.stringify(filePath)}`);
  }
  return filePath;
}

/** The remote shell command line for a byte range of `filePath` (see the file comment). */
export function catCommand(filePath: string, start: number, length: number): string {
  const parts = [`sudo -n cat ${shellQuote(filePath)}`];
  if (start > 0) parts.push(`tail -c +${start + 1}`);
  parts.push(`head -c ${length}`);
  // LC_ALL=C for every command of the pipeline: sudo's and cat's messages are matched in English.
  return `export LC_ALL=C; ${parts.join(' | ')}`;
}

/** The remote shell command line listing `dir`. */
export function listCommand(dir: string): string {
  return `export LC_ALL=C; sudo -n ls -lani --full-time ${shellQuote(dir)}`;
}

function familyOf(filePath: string): string {
  return filePath.replace(/\.\d+(\.gz)?$/, '');
}

// Said by sudo on hosts whose own name does not resolve; harmless.
const BENIGN_STDERR = /^sudo: unable to resolve host .*$/gm;

function meaningfulStderr(stderr: string): string {
  return stderr.replace(BENIGN_STDERR, '').trim();
}

/**
 * Maps a failed remote command to the host failure it means, from sudo's and coreutils' messages (sudo
 * 1.8/1.9 wording; LC_ALL=C is set). `exitCode` is the pipeline's (its last command's).
 */
export function sudoFailure(
  stderr: string,
  exitCode: number | null | undefined,
  filePath: string,
  user: string,
  command: string,
): SweepError {
  const firstLine =
    meaningfulStderr(stderr)
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? '';
  const rule = sudoersRule(user, familyOf(filePath));
  const cause = new Error(`${command}: exit ${exitCode ?? 'none'}: ${stderr.trim()}`);
  if (
    /a password is required|a terminal is required|askpass|is not allowed to execute|not in the sudoers file|may not run sudo|not allowed to run sudo/i.test(
      stderr,
    )
  ) {
    return new SweepError(
      'PERMISSION_DENIED',
      `${filePath}: sudo -n refused for user ${user} (${firstLine}). Allow it without a password, e.g. in ` +
        `/etc/sudoers.d/auditsweep (edit with visudo -f): ${rule}`,
      { cause },
    );
  }
  if (/must have a tty|requiretty/i.test(stderr)) {
    return new SweepError(
      'PERMISSION_DENIED',
      `${filePath}: sudo demands a terminal for user ${user} (${firstLine}). Add \`Defaults:${user} !requiretty\` ` +
        `and: ${rule}`,
      { cause },
    );
  }
  if (exitCode === 127 || /sudo: (command )?not found|sudo: No such file/i.test(stderr)) {
    return new SweepError(
      'PERMISSION_DENIED',
      `${filePath}: sudo is not installed for user ${user} (${firstLine}). Install sudo and add: ${rule}; or use transport: sftp`,
      { cause },
    );
  }
  if (/This service allows sftp connections only/i.test(stderr)) {
    return new SweepError(
      'PERMISSION_DENIED',
      `${filePath}: the account ${user} is limited to SFTP (ForceCommand internal-sftp): use transport: sftp`,
      { cause },
    );
  }
  if (/No such file or directory/i.test(stderr)) return logMissing(filePath, cause);
  if (/Permission denied|Operation not permitted/i.test(stderr)) {
    return new SweepError('PERMISSION_DENIED', `${filePath}: ${firstLine} even through sudo (SELinux?)`, {
      cause,
    });
  }
  if (exitCode !== null && exitCode !== undefined && exitCode > 128 && exitCode < 128 + 65) {
    // A shell reports a command killed by signal N as 128 + N.
    return interrupted(filePath, `remote command killed by signal ${exitCode - 128}`, cause);
  }
  return new SweepError(
    'PROTOCOL',
    `${filePath}: remote command failed (exit ${exitCode ?? 'none'}): ${firstLine || '(no message)'}`,
    { cause },
  );
}

/** How a channel ended: `code` null with a `signal` when killed; undefined when no status came at all. */
interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | undefined;
}

/** An exec channel with its stderr (bounded), exit status and close watched from its first moment. */
interface WatchedChannel {
  readonly channel: ClientChannel;
  stderr(): string;
  exit(): ExitStatus | undefined;
  /** Resolves on the channel's 'close' (ssh2 emits it after 'end', so after all stdout was read). */
  readonly closed: Promise<void>;
}

const STDERR_LIMIT = 16 * 1024;

/**
 * Opens an exec channel for `command`. The listeners go on inside ssh2's callback, synchronously: a short
 * command's exit status and close often arrive in the same TCP read as the exec reply, and 'exit' and
 * 'close' are plain events, gone if nobody listens yet (stdout and stderr are streams: they keep their data
 * until read). Attaching them after an `await` lost exit statuses in about one run in five.
 */
function openChannel(client: Client, command: string, filePath: string): Promise<WatchedChannel> {
  const gone = CONNECTION_GONE.get(client);
  return new Promise((resolve, reject) => {
    let answered = false;
    void gone?.then(() => {
      if (answered) return;
      answered = true;
      reject(interrupted(filePath, 'connection lost'));
    });
    try {
      client.exec(command, (err, channel) => {
        if (answered) {
          channel?.close();
          return;
        }
        answered = true;
        if (err) {
          const lost = /Not connected|No response from server/i.test(err.message);
          reject(
            lost
              ? interrupted(filePath, `connection lost (${err.message})`, err)
              : new SweepError('PROTOCOL', `${filePath}: cannot open an exec channel: ${err.message}`, {
                  cause: err,
                }),
          );
          return;
        }
        let stderr = '';
        let exit: ExitStatus | undefined;
        channel.stderr.on('data', (d: Buffer) => {
          if (stderr.length < STDERR_LIMIT) stderr += d.toString('utf8');
        });
        channel.on('exit', (code: number | null, signal?: string) => {
          exit = { code, signal };
        });
        channel.on('error', () => {
          // 'close' follows and decides.
        });
        // The connection's end counts as the channel's close: exit() is then undefined (connection lost).
        const closed = new Promise<void>((done) => {
          channel.once('close', () => done());
          void gone?.then(() => done());
        });
        resolve({ channel, stderr: () => stderr, exit: () => exit, closed });
      });
    } catch (err) {
      // ssh2 throws "Not connected" synchronously once the socket is gone.
      answered = true;
      reject(interrupted(filePath, `connection lost (${(err as Error).message})`, err));
    }
  });
}

/**
 * Judges a finished command: undefined when it succeeded, else the error. `complete` says whether stdout
 * held everything asked for; without it any meaningful stderr is a failure.
 */
function verdict(
  exit: ExitStatus | undefined,
  stderr: string,
  complete: boolean,
  filePath: string,
  user: string,
  command: string,
): SweepError | undefined {
  if (exit === undefined) return interrupted(filePath, 'connection lost before the remote command finished');
  if (exit.code === 0 && (complete || meaningfulStderr(stderr) === '')) return undefined;
  if (exit.code === null && meaningfulStderr(stderr) === '') {
    return interrupted(filePath, `remote command killed by ${exit.signal ?? 'a signal'}`);
  }
  return sudoFailure(stderr, exit.code, filePath, user, command);
}

/** Runs a command with small output and resolves with its stdout (at most `maxBytes`). */
async function runCollect(
  client: Client,
  command: string,
  filePath: string,
  maxBytes: number,
): Promise<{ stdout: Buffer; exit: ExitStatus | undefined; stderr: string }> {
  const watched = await openChannel(client, command, filePath);
  const chunks: Buffer[] = [];
  let size = 0;
  watched.channel.on('data', (d: Buffer) => {
    const room = maxBytes - size;
    if (room <= 0) return;
    chunks.push(d.length > room ? d.subarray(0, room) : d);
    size += Math.min(d.length, room);
  });
  await watched.closed;
  return { stdout: Buffer.concat(chunks), exit: watched.exit(), stderr: watched.stderr() };
}

const LS_LINE =
  /^\s*(\d+)\s+([-dlcbps])([-r][-w][-xsS][-r][-w][-xsS][-r][-w][-xtT])[.+@]?\s+\d+\s+\d+\s+\d+\s+(\d+)\s+(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{2})(\d{2}) (.+)$/;

function modeBits(perm: string): number {
  let mode = 0;
  const bit = (i: number, on: number) => {
    if (perm[i] !== '-') mode |= on;
  };
  bit(0, 0o400);
  bit(1, 0o200);
  bit(3, 0o040);
  bit(4, 0o020);
  bit(6, 0o004);
  bit(7, 0o002);
  const exec = (i: number, x: number, special: number, set: string, setNoX: string) => {
    const c = perm[i];
    if (c === 'x' || c === set) mode |= x;
    if (c === set || c === setNoX) mode |= special;
  };
  exec(2, 0o100, 0o4000, 's', 'S');
  exec(5, 0o010, 0o2000, 's', 'S');
  exec(8, 0o001, 0o1000, 't', 'T');
  return mode;
}

/**
 * One line of `ls -lani --full-time` (GNU coreutils, LC_ALL=C) in `dir`, or undefined for the `total` line
 * and anything else that does not parse. Only regular files come back with `regular: true`.
 */
export function parseLsLine(line: string, dir: string): { file: RemoteFile; regular: boolean } | undefined {
  const m = LS_LINE.exec(line);
  if (!m) return undefined;
  const [, inode, type, perm, size, date, time, frac, tzH, tzM, name] = m;
  if (name === undefined || name === '.' || name === '..') return undefined;
  const ms = (frac ?? '').padEnd(3, '0').slice(0, 3);
  const mtimeMs = Date.parse(`${date}T${time}.${ms}${tzH}:${tzM}`);
  if (Number.isNaN(mtimeMs)) return undefined;
  return {
    file: {
      path: path.posix.join(dir, name),
      name,
      size: Number(size),
      mtimeMs,
      inode: Number(inode),
      mode: modeBits(perm ?? ''),
    },
    regular: type === '-',
  };
}

/** The regular files of `dir`, as root sees them. Symbolic links are not followed (nor listed). */
async function listDir(client: Client, dir: string, reportPath: string, user: string): Promise<RemoteFile[]> {
  const command = listCommand(dir);
  const { stdout, exit, stderr } = await runCollect(client, command, reportPath, 16 << 20);
  const failure = verdict(exit, stderr, false, reportPath, user, command);
  if (failure) throw failure;
  const files: RemoteFile[] = [];
  for (const line of stdout.toString('utf8').split('\n')) {
    const parsed = parseLsLine(line, dir);
    if (parsed?.regular) files.push(parsed.file);
  }
  return files;
}

/**
 * A Readable over [start, end) of a file, fed by one exec channel running {@link catCommand}. Without
 * `end` it first stats the file and reads up to that size. Backpressure is the channel's own: a paused
 * channel stops adjusting the SSH window, so the remote pipeline blocks.
 */
class SudoReadStream extends Readable {
  private channel: ClientChannel | undefined;
  private received = 0;
  private settled = false;
  private length = 0;

  constructor(
    private readonly client: Client,
    private readonly filePath: string,
    private readonly start: number,
    private end: number | undefined,
    private readonly user: string,
    private readonly sizeOf: (p: string) => Promise<number>,
    private readonly opened: (() => Promise<void>) | undefined,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.begin().then(
      () => callback(),
      (err: unknown) => callback(err as Error),
    );
  }

  private async begin(): Promise<void> {
    let end = this.end;
    if (end === undefined || end === this.start) {
      const size = await this.sizeOf(this.filePath); // also: an empty range of a missing file is LOG_MISSING
      if (end === undefined) {
        if (size < this.start) throw endedEarly(this.filePath, size, this.start);
        end = size;
        this.end = size;
      }
    }
    this.length = end - this.start;
    if (this.length === 0) return;
    const command = catCommand(this.filePath, this.start, this.length);
    const watch = await openChannel(this.client, command, this.filePath);
    const channel = watch.channel;
    if (this.destroyed) {
      channel.close();
      return;
    }
    this.channel = channel;
    const deliver = (chunk: Buffer): boolean => {
      const more = this.push(chunk);
      if (!more) channel.pause();
      return more;
    };
    // `opened` is checked at the first bytes (`cat` has the file open by then); what comes meanwhile is held.
    let held: Buffer[] | undefined = this.opened === undefined ? undefined : [];
    let check: Promise<void> | undefined;
    channel.on('data', (chunk: Buffer) => {
      if (this.settled) return;
      this.received += chunk.length;
      if (this.received > this.length) {
        this.fail(
          new SweepError('PROTOCOL', `${this.filePath}: received more than the ${this.length} bytes asked`),
        );
        return;
      }
      if (held === undefined) {
        deliver(chunk);
        return;
      }
      held.push(chunk);
      if (check !== undefined || this.opened === undefined) return;
      channel.pause();
      check = this.opened().then(
        () => {
          const waiting = held ?? [];
          held = undefined;
          if (this.settled) return;
          // Every held chunk goes on (push() keeps one over the high-water mark too); then resume if there is room.
          let more = true;
          for (const chunk of waiting) more = deliver(chunk);
          if (more) channel.resume();
        },
        (err: unknown) => this.fail(err as Error),
      );
    });
    void watch.closed.then(async () => {
      await check;
      if (this.settled) return;
      const complete = this.received === this.length;
      const failure = verdict(watch.exit(), watch.stderr(), complete, this.filePath, this.user, command);
      if (failure) this.fail(failure);
      else if (!complete) this.fail(endedEarly(this.filePath, this.start + this.received, end));
      else {
        this.settled = true;
        this.push(null);
      }
    });
  }

  private fail(err: Error): void {
    this.settled = true;
    this.destroy(err);
  }

  override _read(): void {
    const channel = this.channel;
    if (channel) {
      if (channel.isPaused()) channel.resume();
    } else if (this.length === 0 && !this.settled) {
      this.settled = true;
      this.push(null);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.settled = true;
    const channel = this.channel;
    this.channel = undefined;
    try {
      channel?.close();
    } catch {
      // already gone
    }
    callback(error);
  }
}

/** A {@link LogTransport} over an open ssh2 connection whose user may run `ls` and `cat` with `sudo -n`. */
export function createSudoTransport(client: Client, options: SudoTransportOptions = {}): LogTransport {
  const user = options.user ?? 'the login user';
  if (options.closed !== undefined) CONNECTION_GONE.set(client, options.closed);
  // Nagle off: a WINDOW_ADJUST held back behind an unacknowledged packet stalls the stream (see sftp-transport).
  client.setNoDelay(true);

  const stat = async (filePath: string): Promise<RemoteFile> => {
    checkPath(filePath);
    const name = path.posix.basename(filePath);
    const files = await listDir(client, path.posix.dirname(filePath), filePath, user);
    const file = files.find((f) => f.name === name);
    if (!file) throw logMissing(filePath);
    return file;
  };

  return {
    kind: 'sudo',

    async listLogs(logPath: string): Promise<RemoteFile[]> {
      checkPath(logPath);
      const base = path.posix.basename(logPath);
      const files = await listDir(client, path.posix.dirname(logPath), logPath, user);
      const ordered = orderRotated(
        base,
        files.filter((f) => rotationSlot(base, f.name) !== undefined),
      );
      if (ordered.length === 0) throw logMissing(logPath);
      return ordered;
    },

    stat,

    read(filePath: string, options: ReadOptions = {}): Readable {
      const { start, end } = checkRange(options);
      return new SudoReadStream(
        client,
        checkPath(filePath),
        start,
        end,
        user,
        async (p) => (await stat(p)).size,
        options.opened,
      );
    },

    async head(filePath: string, n: number): Promise<Buffer> {
      if (!Number.isSafeInteger(n) || n < 0) throw new SweepError('USAGE', `invalid head length ${n}`);
      checkPath(filePath);
      if (n === 0) {
        await stat(filePath);
        return Buffer.alloc(0);
      }
      const command = catCommand(filePath, 0, n);
      const { stdout, exit, stderr } = await runCollect(client, command, filePath, n);
      // Fewer than n bytes is a short file unless stderr says why.
      const failure = verdict(exit, stderr, stdout.length === n, filePath, user, command);
      if (failure) throw failure;
      return stdout;
    },
  };
}
