/**
 * Bounds how many connection *attempts* (TCP connect, handshake, authentication) run at once, separately from
 * how many hosts are being fetched. sshd drops unauthenticated connections beyond MaxStartups (default
 * 10:30:100: from 10 pending, 30 % are refused, all from 100), which a fan-out of 50 hosts behind one bastion,
 * or a fleet restarted at once, would hit. A slot is released as soon as the session is authenticated.
 */
import pLimit from 'p-limit';
import { SweepError } from '../errors.js';

/** Below sshd's default MaxStartups start value (10), so one server never sees random drops from us alone. */
export const DEFAULT_CONNECT_CONCURRENCY = 8;

export interface ConnectLimiter {
  /** Simultaneous attempts allowed. */
  readonly concurrency: number;
  /** Attempts holding a slot now. */
  readonly activeCount: number;
  /** Attempts waiting for a slot. */
  readonly pendingCount: number;
  /**
   * Waits for a slot; resolves with the function that gives it back (idempotent). Rejects with INTERRUPTED,
   * without taking a slot, when `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

/** A limiter allowing `concurrency` (≥ 1) simultaneous connection attempts. */
export function createConnectLimiter(concurrency = DEFAULT_CONNECT_CONCURRENCY): ConnectLimiter {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new SweepError('USAGE', `connection attempt limit must be a whole number ≥ 1, got ${concurrency}`);
  }
  const limit = pLimit(concurrency);
  return {
    concurrency,
    get activeCount() {
      return limit.activeCount;
    },
    get pendingCount() {
      return limit.pendingCount;
    },
    acquire(signal?: AbortSignal): Promise<() => void> {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(abortError(signal));
          return;
        }
        let abandoned = false;
        const onAbort = () => {
          abandoned = true;
          reject(abortError(signal as AbortSignal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        // The slot is held for as long as this inner promise is pending.
        void limit(
          () =>
            new Promise<void>((releaseSlot) => {
              signal?.removeEventListener('abort', onAbort);
              if (abandoned) {
                releaseSlot();
                return;
              }
              let released = false;
              resolve(() => {
                if (released) return;
                released = true;
                releaseSlot();
              });
            }),
        );
      });
    },
  };
}

function abortError(signal: AbortSignal): SweepError {
  if (signal.reason instanceof SweepError) return signal.reason;
  return new SweepError('INTERRUPTED', 'interrupted while waiting for a connection slot', {
    cause: signal.reason,
  });
}
