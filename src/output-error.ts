/**
 * A write that failed (disk full, quota, permissions, a read-only file system) as the one error the reports raise:
 * OUTPUT_FAILED, naming the file and the cause in words. A run that cannot write stops (the sweep stops
 * contacting hosts) and says what it kept; it never ends with a stack trace from a stream nobody listened to.
 */
import type { Writable } from 'node:stream';
import { isSweepError, SweepError } from './errors.js';

/** errno codes of failed writes → what a reader is told. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/** The cause of a failed write in words (`no space left on device`), else its message. */
export function writeFailureCause(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && CAUSES[code] !== undefined) return CAUSES[code];
  return err instanceof Error ? err.message : String(err);
}

/** Whether `err` is the error of a failed write already named (OUTPUT_FAILED). */
export function isOutputFailure(err: unknown): err is SweepError {
  return isSweepError(err) && err.code === 'OUTPUT_FAILED';
}

/** Whether `err` is a failed write: OUTPUT_FAILED, or a system error (errno code) that a write raised. */
export function isWriteFailure(err: unknown): boolean {
  if (isSweepError(err)) return isOutputFailure(err);
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** `err` (from writing `what`) as an OUTPUT_FAILED SweepError; a SweepError is returned as it is. */
export function outputError(err: unknown, what: string): SweepError {
  if (isSweepError(err)) return err;
  return new SweepError('OUTPUT_FAILED', `cannot write ${what}: ${writeFailureCause(err)}`, { cause: err });
}

/** The file a stream writes to (fs.WriteStream's `path`), for messages. */
export function streamName(out: Writable): string {
  const path = (out as { path?: unknown }).path;
  return typeof path === 'string' ? path : Buffer.isBuffer(path) ? path.toString() : 'the output stream';
}

/**
 * Watches `out` for its first error, so that a failed write is neither an unhandled 'error' event (a crash) nor
 * a wait for 'drain' or 'finish' that never comes. `check()` throws it as OUTPUT_FAILED.
 */
export class StreamFailure {
  private error: SweepError | undefined;

  constructor(private readonly out: Writable) {
    out.on('error', (err) => {
      this.error ??= outputError(err, streamName(out));
    });
  }

  /** Throws the first error `out` had, if any. */
  check(): void {
    if (this.error !== undefined) throw this.error;
  }

  /** Waits for `event` ('drain', 'finish'); rejects with the stream's error instead when it fails. */
  async until(event: 'drain' | 'finish'): Promise<void> {
    this.check();
    const out = this.out;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        out.off('error', failed);
        resolve();
      };
      const failed = (err: unknown) => {
        out.off(event, done);
        reject(outputError(err, streamName(out)));
      };
      out.once(event, done);
      out.once('error', failed);
    });
  }
}
