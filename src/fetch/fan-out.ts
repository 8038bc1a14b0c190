/**
 * The bounds every many-host operation keeps (a sweep, `hosts check`): a p-limit fan-out of `concurrency` hosts,
 * a separate cap on simultaneous connection attempts shared by them all, one credential store for the run (a
 * passphrase is asked for once, not once per host), and a deadline per host. `work` gets the session options to
 * connect with and the host's signal (its deadline, or the run's interrupt).
 */
import pLimit from 'p-limit';
import type { InventoryHost } from '../inventory/types.js';
import { AuthSources, createAuthSources } from './auth.js';
import { createConnectLimiter, DEFAULT_CONNECT_CONCURRENCY } from './connect-limiter.js';
import type { SessionOptions } from './session.js';

/** Hosts worked on at once. Loopback benchmarks saturate well below this; real fleets are latency-bound. */
export const DEFAULT_CONCURRENCY = 16;
/** The whole work on one host, connection included. */
export const DEFAULT_HOST_DEADLINE_MS = 30 * 60_000;

export interface FanOutOptions {
  readonly session: SessionOptions;
  readonly concurrency?: number | undefined;
  readonly connectConcurrency?: number | undefined;
  readonly hostDeadlineMs?: number | undefined;
  /** Interrupts every host's work (Ctrl-C). */
  readonly signal?: AbortSignal | undefined;
}

/** What `work` runs one host with. */
export interface HostSlot {
  readonly session: SessionOptions;
  /** Aborted at the host's deadline or on interrupt. */
  readonly signal: AbortSignal;
  /** The host's index in the hosts given. */
  readonly index: number;
}

/** Runs `work` for every host within the bounds; resolves with the results in the order of `hosts`. */
export function fanOut<R>(
  hosts: readonly InventoryHost[],
  options: FanOutOptions,
  work: (host: InventoryHost, slot: HostSlot) => Promise<R>,
): Promise<R[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  const connectLimiter = createConnectLimiter(options.connectConcurrency ?? DEFAULT_CONNECT_CONCURRENCY);
  const auth = options.session.auth ?? {};
  const session: SessionOptions = {
    ...options.session,
    auth: auth instanceof AuthSources ? auth : createAuthSources(auth),
    connectLimiter,
  };
  const deadline = options.hostDeadlineMs ?? DEFAULT_HOST_DEADLINE_MS;
  return Promise.all(
    hosts.map((host, index) =>
      limit(() => {
        const signals = [AbortSignal.timeout(deadline)];
        if (options.signal) signals.push(options.signal);
        return work(host, { session, signal: AbortSignal.any(signals), index });
      }),
    ),
  );
}
