/**
 * One run per config at a time. The lock is a small JSON file created atomically (`open(path, 'wx')`) holding the
 * holder's pid, host name, start time and command. A second run finds it and fails naming the holder. A lock left
 * by a dead process is recovered with a warning: its pid is not alive on this host (or is alive but started after
 * the lock was written, i.e. a reused pid), or it is older than `staleAfterMs` (a holder on another host, e.g. a
 * shared reports folder). The lock is released on return, on exit and on SIGINT / SIGTERM.
 *
 * Where: `<reports folder>/.locks/<sha256(config path)[:16]>.lock`. The reports folder, not $XDG_RUNTIME_DIR or
 * /tmp, because cron has no XDG_RUNTIME_DIR and systemd's PrivateTmp= gives each service its own /tmp, so those
 * would not be shared by a timer run, a cron run and a run from a shell; the reports folder must be writable by
 * every one of them anyway.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { SweepError } from './errors.js';

/** What the lock file holds. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time. */
  readonly startedAt: string;
  readonly command: string;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22), to tell a reused pid. */
  readonly procStart?: number | undefined;
}

export interface LockOptions {
  /** Shown to a second run; default the process's argv. */
  readonly command?: string;
  /** A lock older than this is stale whatever its pid. Default 24 h. */
  readonly staleAfterMs?: number;
  /** Told when a stale lock is recovered. */
  readonly onWarning?: (message: string) => void;
  /** Release on SIGINT/SIGTERM when nobody else handles the signal (then re-raise it). Default true. */
  readonly handleSignals?: boolean;
  /** For tests. */
  readonly now?: () => number;
}

export interface HeldLock {
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock (once; later calls do nothing). */
  release(): Promise<void>;
}

export const DEFAULT_STALE_AFTER_MS = 24 * 3_600_000;

/** `<reportsDir>/.locks/<hash of the config's absolute path>.lock`. */
export function lockPathFor(configFile: string, reportsDir: string): string {
  const id = createHash('sha256').update(configFile).digest('hex').slice(0, 16);
  return join(reportsDir, '.locks', `${id}.lock`);
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces), or undefined. */
function procStartOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `pid 1234 on host-a since 2026-11-23T06:00:00.000Z (auditsweep sweep --config …)`. */
export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.hostname} since ${h.startedAt} (${h.command})`;
}

/** Why a lock is stale, or undefined when its holder may still be running. */
export function staleReason(h: LockHolder, now: number, staleAfterMs: number): string | undefined {
  const age = now - Date.parse(h.startedAt);
  if (Number.isFinite(age) && age > staleAfterMs) {
    return `it is ${Math.round(age / 60_000)} minutes old (more than ${Math.round(staleAfterMs / 60_000)})`;
  }
  if (h.hostname !== hostname()) return undefined;
  if (!isAlive(h.pid)) return `process ${h.pid} is not running`;
  if (h.procStart !== undefined) {
    const start = procStartOf(h.pid);
    if (start !== undefined && start !== h.procStart) return `pid ${h.pid} now belongs to another process`;
  }
  return undefined;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.hostname !== 'string' || typeof h.startedAt !== 'string')
      return undefined;
    return { command: '?', ...h } as LockHolder;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock at `path` or throws SweepError USAGE naming the holder. A stale lock is moved aside and
 * replaced (a rename, so two runs recovering the same stale lock cannot both win).
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<HeldLock> {
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date(now()).toISOString(),
    command: options.command ?? ['auditsweep', ...process.argv.slice(2)].join(' '),
    procStart: procStartOf(process.pid),
  };
  const content = `${JSON.stringify(holder)}\n`;
  await mkdir(join(path, '..'), { recursive: true });

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      return hold(path, holder, options.handleSignals ?? true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SweepError('OUTPUT_FAILED', `cannot create the lock ${path}: ${String(err)}`, {
          cause: err,
        });
      }
    }
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      continue; // Released meanwhile: try again.
    }
    const other = parseHolder(text);
    // An empty or torn file: a holder that died between open and write (or is writing right now).
    const reason =
      other === undefined
        ? 'it is unreadable (a run died while taking it)'
        : staleReason(other, now(), staleAfterMs);
    if (reason === undefined && other !== undefined) {
      throw new SweepError(
        'USAGE',
        `another run of this config is in progress: ${describeHolder(other)}; lock ${path} (wait for it to finish, or remove the lock if that process is gone)`,
      );
    }
    const aside = `${path}.stale-${process.pid}-${Date.now()}`;
    try {
      await rename(path, aside);
    } catch {
      continue; // Someone else recovered it first.
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    if (moved !== text) {
      // We moved a fresh lock another run had just taken: put it back (link fails if yet another exists).
      await link(aside, path).catch(() => undefined);
      await unlink(aside).catch(() => undefined);
      continue;
    }
    await unlink(aside).catch(() => undefined);
    options.onWarning?.(
      `recovered a stale lock ${path}${other ? ` of ${describeHolder(other)}` : ''}: ${reason ?? 'stale'}`,
    );
  }
  throw new SweepError('USAGE', `could not take the lock ${path}: it keeps changing hands; try again`);
}

function hold(path: string, holder: LockHolder, handleSignals: boolean): HeldLock {
  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    detach();
    try {
      // Only our own lock: a stale-recovery by another run must not be undone by us.
      const text = readFileSync(path, 'utf8');
      if (parseHolder(text)?.pid === holder.pid) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // Someone else handles the signal (the sweep finishes its reports first): `exit` releases the lock then.
    if (process.listenerCount(signal) > 1) return;
    releaseSync();
    process.kill(process.pid, signal);
  };
  const detach = () => {
    process.off('exit', releaseSync);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', releaseSync);
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return {
    path,
    holder,
    release: async () => releaseSync(),
  };
}
