/**
 * The sudo transport: lists and reads logs that only root may read (auditd's default 0600 root) through
 * `sudo -n` on exec channels of an open ssh2 connection. Every command is one of four read-only ones, so a
 * sudoers rule can name them ({@link sudoersRule}):
 *
 *   sudo -n ls -1a DIR                 names in the log folder
 *   sudo -n stat -L -c FORMAT FILE…    size, mtime (ns), inode, mode
 *   sudo -n head -c N FILE             the first N bytes (head(), and reads from offset 0)
 *   sudo -n tail -c +K FILE            bytes from offset K-1 on (reads from an offset; cut here at `end`)
 *
 * Paths are single-quoted for the remote shell and must be absolute (so none can pass for an option).
 * A command counts as done only when its exit status is 0: a non-zero status, a signal, or a channel that
 * closes without a status turns into an error, also after partial output.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { SweepError } from '../errors.js';
import { orderRotated, rotationSlot } from './list-logs.js';
import {
  type ByteRange,
  checkRange,
  endedEarly,
  interrupted,
  type LogTransport,
  logMissing,
  type RemoteFile,
  sudoersRule,
} from './transport.js';

export interface SudoTransportOptions {
  /** The login name, for the sudoers rule of a PERMISSION_DENIED message. */
  readonly user?: string;
}

/** `'…'` quoting for a POSIX shell: the only character to escape inside single quotes is `'` itself. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function checkPath(filePath: string): string {
  if (!filePath.startsWith('/') || filePath.includes('\0') || filePath.includes('\n')) {
    throw new SweepError('USAGE', `remote log path must be absolute, one line: ${JSON.stringify(filePath)}`);
  }
  return filePath;
}

/** The shell command line for `sudo -n <args>`; messages from sudo and coreutils in English. */
export function sudoCommand(args: readonly string[]): string {
  return `LC_ALL=C sudo -n ${args.map((a) => (/^[A-Za-z0-9_+:=.,%/-]+$/.test(a) ? a : shellQuote(a))).join(' ')}`;
}

function familyOf(filePath: string): string {
  return filePath.replace(/\.\d+(\.gz)?$/, '');
}

/**
 * Maps a failed remote command (non-zero exit) to the host failure it means, from sudo's and coreutils'
 * messages (sudo 1.8/1.9 wording; LC_ALL=C is set).
 */
export function sudoFailure(
  stderr: string,
  exitCode: number | null,
  filePath: string,
  user: string,
  command: string,
): SweepError {
  const firstLine =
    stderr
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
  if (/No such file or directory|cannot access .*No such file/i.test(stderr))
    return logMissing(filePath, cause);
  if (/Permission denied|Operation not permitted/i.test(stderr)) {
    return new SweepError('PERMISSION_DENIED', `${filePath}: ${firstLine} even through sudo (SELinux?)`, {
      cause,
    });
  }
  if (exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
    // A shell reports a command killed by signal N as 128 + N.
    return interrupted(filePath, `remote command killed by signal ${exitCode - 128}`, cause);
  }
  return new SweepError(
    'PROTOCOL',
    `${filePath}: remote command failed (exit ${exitCode ?? 'none'}): ${firstLine || '(no message)'}`,
    { cause },
  );
}

function openChannel(client: Client, command: string, filePath: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    try {
      client.exec(command, (err, channel) => {
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
        resolve(channel);
      });
    } catch (err) {
      // ssh2 throws "Not connected" synchronously once the socket is gone.
      reject(interrupted(filePath, `connection lost (${(err as Error).message})`, err));
    }
  });
}

/** Exit status of a finished channel: `code` null with a `signal`, or undefined if none came (connection lost). */
interface ExitStatus {
  readonly code: number | null;
  readonly signal: string | undefined;
}

const STDERR_LIMIT = 16 * 1024;

/** Collects stderr (bounded) and the exit status of a channel. */
function watchChannel(channel: ClientChannel): { stderr: () => string; exit: () => ExitStatus | undefined } {
  let stderr = '';
  let exit: ExitStatus | undefined;
  channel.stderr.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_LIMIT) stderr += d.toString('utf8');
  });
  channel.on('exit', (code: number | null, signal?: string) => {
    exit = { code, signal };
  });
  return { stderr: () => stderr, exit: () => exit };
}

/** Runs a command whose output is small (listing, stat, head) and resolves with its stdout; exit 0 only. */
async function runCollect(
  client: Client,
  args: readonly string[],
  filePath: string,
  user: string,
  maxBytes: number,
): Promise<Buffer> {
  const command = sudoCommand(args);
  const channel = await openChannel(client, command, filePath);
  const watch = watchChannel(channel);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    channel.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= maxBytes) chunks.push(d);
    });
    channel.on('error', () => {
      // 'close' follows and decides.
    });
    channel.on('close', () => {
      const exit = watch.exit();
      if (exit === undefined) {
        reject(interrupted(filePath, `connection lost while running ${args[0]}`));
      } else if (exit.code === 0) {
        if (size > maxBytes)
          reject(new SweepError('PROTOCOL', `${filePath}: ${args[0]} printed over ${maxBytes} bytes`));
        else resolve(Buffer.concat(chunks));
      } else if (exit.code === null) {
        reject(interrupted(filePath, `${args[0]} killed by ${exit.signal ?? 'a signal'}`));
      } else {
        reject(sudoFailure(watch.stderr(), exit.code, filePath, user, command));
      }
    });
  });
}

/** `stat -c` format: size|mtime s|mtime human (ns, with offset)|inode|octal rights|hex raw mode|name. */
const STAT_FORMAT = '%s|%Y|%y|%i|%a|%f|%n';

/** `2026-11-23 01:51:12.123456789 +0000` → epoch ms, or undefined. */
function parseStatTime(text: string): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))? ([+-]\d{2})(\d{2})$/.exec(text.trim());
  if (!m) return undefined;
  const ms = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const t = Date.parse(`${m[1]}T${m[2]}.${ms}${m[4]}:${m[5]}`);
  return Number.isNaN(t) ? undefined : t;
}

interface StatLine {
  readonly file: RemoteFile;
  readonly regular: boolean;
}

/** One line of {@link STAT_FORMAT} output, or undefined when it does not parse. */
export function parseStatLine(line: string): StatLine | undefined {
  const parts = line.split('|');
  if (parts.length < 7) return undefined;
  const [size, mtimeS, mtimeText, inode, rights, rawMode] = parts;
  const name = parts.slice(6).join('|');
  if (!/^\d+$/.test(size ?? '') || !/^\d+$/.test(mtimeS ?? '') || !name.startsWith('/')) return undefined;
  const raw = Number.parseInt(rawMode ?? '', 16);
  const mode = Number.parseInt(rights ?? '', 8);
  const file: RemoteFile = {
    path: name,
    name: path.posix.basename(name),
    size: Number(size),
    mtimeMs: parseStatTime(mtimeText ?? '') ?? Number(mtimeS) * 1000,
    ...(/^\d+$/.test(inode ?? '') && { inode: Number(inode) }),
    ...(!Number.isNaN(mode) && { mode }),
  };
  return { file, regular: !Number.isNaN(raw) && (raw & 0o170000) === 0o100000 };
}

async function statFiles(
  client: Client,
  files: readonly string[],
  user: string,
  reportPath: string,
): Promise<RemoteFile[]> {
  const out = await runCollect(
    client,
    ['stat', '-L', '-c', STAT_FORMAT, ...files],
    reportPath,
    user,
    1 << 20,
  );
  const result: RemoteFile[] = [];
  for (const line of out.toString('utf8').split('\n')) {
    if (line === '') continue;
    const parsed = parseStatLine(line);
    if (!parsed)
      throw new SweepError('PROTOCOL', `${reportPath}: unexpected stat output: ${line.slice(0, 200)}`);
    if (parsed.regular) result.push(parsed.file);
  }
  return result;
}

/**
 * A Readable over [start, end) of a file, fed by one exec channel. From offset 0 it runs `head -c end`;
 * from an offset, `tail -c +(start+1)` and closes the channel once `end` is reached. Backpressure is the
 * channel's own: a paused channel stops adjusting the SSH window, so the remote command blocks.
 */
class SudoReadStream extends Readable {
  private channel: ClientChannel | undefined;
  private received = 0;
  private done = false;

  constructor(
    private readonly client: Client,
    private readonly filePath: string,
    private readonly start: number,
    private end: number | undefined,
    private readonly user: string,
    private readonly sizeOf: (p: string) => Promise<number>,
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
    if (this.end === undefined || this.end === this.start) {
      const size = await this.sizeOf(this.filePath); // also: the file must exist, even for an empty range
      if (this.end === undefined) {
        if (size < this.start) throw endedEarly(this.filePath, size, this.start);
        this.end = size;
      }
    }
    const end = this.end;
    if (end === this.start) return;
    const args =
      this.start === 0
        ? ['head', '-c', String(end), this.filePath]
        : ['tail', '-c', `+${this.start + 1}`, this.filePath];
    const cut = this.start !== 0;
    const command = sudoCommand(args);
    const channel = await openChannel(this.client, command, this.filePath);
    if (this.destroyed) {
      channel.close();
      return;
    }
    this.channel = channel;
    const watch = watchChannel(channel);
    const len = end - this.start;
    channel.on('data', (chunk: Buffer) => {
      if (this.done) return;
      const remaining = len - this.received;
      if (chunk.length >= remaining && cut) {
        // tail would go on to EOF (and past `end` if the log grew): take what the range holds and hang up.
        this.received = len;
        this.done = true;
        if (remaining > 0) this.push(chunk.subarray(0, remaining));
        this.push(null);
        channel.close();
        return;
      }
      if (chunk.length > remaining) {
        this.done = true;
        this.destroy(
          new SweepError('PROTOCOL', `${this.filePath}: head -c ${len} sent more than ${len} bytes`),
        );
        return;
      }
      this.received += chunk.length;
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('error', () => {
      // 'close' follows and decides.
    });
    channel.on('close', () => {
      if (this.done || this.destroyed) return;
      this.done = true;
      const exit = watch.exit();
      if (exit === undefined) {
        this.destroy(interrupted(this.filePath, `connection lost at byte ${this.start + this.received}`));
      } else if (exit.code === null) {
        this.destroy(interrupted(this.filePath, `${args[0]} killed by ${exit.signal ?? 'a signal'}`));
      } else if (exit.code !== 0) {
        this.destroy(sudoFailure(watch.stderr(), exit.code, this.filePath, this.user, command));
      } else if (this.received < len) {
        this.destroy(endedEarly(this.filePath, this.start + this.received, end));
      } else {
        this.push(null);
      }
    });
  }

  override _read(): void {
    const channel = this.channel;
    if (channel) {
      if (channel.isPaused()) channel.resume();
    } else if (this.end === this.start && !this.done) {
      this.done = true;
      this.push(null);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.done = true;
    const channel = this.channel;
    this.channel = undefined;
    if (channel) {
      try {
        channel.close();
      } catch {
        // already gone
      }
    }
    callback(error);
  }
}

/** A {@link LogTransport} over an open ssh2 connection whose user may run the reads with `sudo -n`. */
export function createSudoTransport(client: Client, options: SudoTransportOptions = {}): LogTransport {
  const user = options.user ?? 'the login user';
  // Nagle off: a WINDOW_ADJUST held back behind an unacknowledged packet stalls the stream (see sftp-transport).
  client.setNoDelay(true);

  const stat = async (filePath: string): Promise<RemoteFile> => {
    const [file] = await statFiles(client, [checkPath(filePath)], user, filePath);
    if (!file) throw new SweepError('PROTOCOL', `${filePath}: not a regular file`);
    return file;
  };

  return {
    kind: 'sudo',

    async listLogs(logPath: string): Promise<RemoteFile[]> {
      checkPath(logPath);
      const dir = path.posix.dirname(logPath);
      const base = path.posix.basename(logPath);
      const listing = await runCollect(client, ['ls', '-1a', dir], logPath, user, 4 << 20);
      const names = listing
        .toString('utf8')
        .split('\n')
        .filter((n) => rotationSlot(base, n) !== undefined);
      if (names.length === 0) throw logMissing(logPath);
      const files = await statFiles(
        client,
        names.map((n) => path.posix.join(dir, n)),
        user,
        logPath,
      );
      const ordered = orderRotated(base, files);
      if (ordered.length === 0) throw logMissing(logPath);
      return ordered;
    },

    stat,

    read(filePath: string, range: ByteRange = {}): Readable {
      const { start, end } = checkRange(range);
      return new SudoReadStream(
        client,
        checkPath(filePath),
        start,
        end,
        user,
        async (p) => (await stat(p)).size,
      );
    },

    async head(filePath: string, n: number): Promise<Buffer> {
      if (!Number.isSafeInteger(n) || n < 0) throw new SweepError('USAGE', `invalid head length ${n}`);
      checkPath(filePath);
      if (n === 0) {
        await stat(filePath);
        return Buffer.alloc(0);
      }
      return runCollect(client, ['head', '-c', String(n), filePath], filePath, user, n);
    },
  };
}
