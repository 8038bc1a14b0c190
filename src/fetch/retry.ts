/**
 * Retries a connection attempt with exponential backoff and jitter, for transient failures only
 * (REFUSED, TIMEOUT, connections reset before login). AUTH_FAILED and HOST_KEY_* are never retried: a second
 * try would fail the same way, and repeated bad logins get accounts locked and source addresses banned.
 */
import { SweepError } from '../errors.js';
import { isTransientError, oneLine } from './classify-error.js';

export interface RetryOptions {
  /** Total attempts, the first included. 1 means no retry. */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each later one. */
  readonly baseDelayMs: number;
  /** Upper bound of any one delay. */
  readonly maxDelayMs: number;
  /** Stops waiting and retrying; the result is then an INTERRUPTED SweepError carrying the last failure. */
  readonly signal?: AbortSignal;
  /** Which failures are worth another attempt. Default {@link isTransientError}. */
  readonly retryable?: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log "retrying in 1.2 s". */
  readonly onRetry?: (info: RetryInfo) => void;
  /** Source of jitter in [0, 1). Default Math.random; tests pass a constant. */
  readonly random?: () => number;
}

export interface RetryInfo {
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  readonly error: unknown;
  readonly delayMs: number;
}

export const DEFAULT_RETRY: Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'> = {
  attempts: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
};

/**
 * The wait after failed attempt `attempt`: "equal jitter", half fixed and half random, so a fleet of hosts
 * refused at the same moment does not come back at the same moment either.
 */
export function backoffDelay(
  attempt: number,
  options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Calls `fn(attempt)` until it resolves, a failure is not retryable, attempts run out, or `signal` aborts. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts));
  const retryable = options.retryable ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw interrupted(options.signal, undefined);
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
      if (options.signal?.aborted) throw interrupted(options.signal, err);
      const delayMs = backoffDelay(attempt, options, options.random);
      options.onRetry?.({ attempt, error: err, delayMs });
      await sleep(delayMs, options.signal, err);
    }
  }
}

function interrupted(signal: AbortSignal, last: unknown): SweepError {
  if (last === undefined && signal.reason instanceof SweepError) return signal.reason;
  const lastText = last instanceof Error ? `; last attempt: ${oneLine(last.message, 200)}` : '';
  return new SweepError('INTERRUPTED', `interrupted while waiting to retry${lastText}`, {
    cause: last ?? signal.reason,
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, last: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!signal) {
      setTimeout(resolve, ms);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(signal, last));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
