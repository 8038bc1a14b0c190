/**
 * The incremental-sweep state: per host, where the last sweep stopped reading the live audit.log, so that an
 * `--incremental` sweep reads only the bytes written since, and notices rotation and truncation.
 *
 * One JSON file, replaced atomically (write a temporary file, fsync, rename): a crash mid-write leaves the old
 * state, never a half-written one. Small (one entry per host), so a database would add nothing.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SweepError } from '../errors.js';
import { PRIVATE_DIR, PRIVATE_FILE } from '../private-files.js';

/** How much of a file's head identifies it (auditd never rewrites the head of a log). */
export const HEAD_FINGERPRINT_BYTES = 4096;

/** What the last sweep knew of a host's live log. */
export interface LogCursor {
  /** Remote path the file had then (`/var/log/audit/audit.log`). */
  readonly path: string;
  /** Inode, when the transport could tell (sudo); SFTP v3 cannot. */
  readonly inode?: number | undefined;
  /** SHA-256 (hex) of the first `headLength` bytes: identifies the file after it is renamed by rotation. */
  readonly headSha256: string;
  readonly headLength: number;
  /** Bytes consumed: the read stopped here, at the end of a complete line. */
  readonly offset: number;
  readonly mtimeMs: number;
  readonly updatedAt: string;
}

export interface SweepState {
  readonly version: 1;
  /** By host key (name, address, port, log path; see {@link hostStateKey}). */
  readonly hosts: Record<string, LogCursor>;
}

/** Identifies a host's log across runs: the same inventory name pointed elsewhere starts afresh. */
export function hostStateKey(host: { name: string; address: string; port: number; logPath: string }): string {
  return `${host.name}|${host.address}:${host.port}|${host.logPath}`;
}

export function fingerprint(head: Buffer): string {
  return createHash('sha256').update(head).digest('hex');
}

/** Reads the state file; a missing file is an empty state, an unreadable or corrupt one an error. */
export async function loadState(file: string): Promise<SweepState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, hosts: {} };
    throw new SweepError('FILE_UNREADABLE', `cannot read the incremental state ${file}`, { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as SweepState;
    if (parsed.version !== 1 || typeof parsed.hosts !== 'object' || parsed.hosts === null)
      throw new Error('bad shape');
    return parsed;
  } catch (err) {
    throw new SweepError(
      'CONFIG_INVALID',
      `the incremental state ${file} is corrupt; move it away to start a full sweep (the next run rebuilds it)`,
      { cause: err },
    );
  }
}

/** Replaces the state file atomically. */
export async function saveState(file: string, state: SweepState): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: PRIVATE_DIR });
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', PRIVATE_FILE);
  try {
    await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}
