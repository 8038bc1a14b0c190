/**
 * Many hosts at once: a p-limit fan-out over {@link fetchHost}, a separate cap on simultaneous connection
 * attempts, and a deadline per host. One host's failure never stops or touches another's collection; every
 * host ends with a result.
 */
import pLimit from 'p-limit';
import type { InventoryHost } from '../inventory/types.js';
import type { HostEventSink, HostParserSink } from '../parse/host-parser.js';
import { AuthSources, createAuthSources } from './auth.js';
import { createConnectLimiter, DEFAULT_CONNECT_CONCURRENCY } from './connect-limiter.js';
import { type FetchHostOptions, fetchHost, type HostFetchResult } from './fetch-host.js';
import type { LogCursor } from './state.js';
import { hostStateKey } from './state.js';

/** Hosts collected at once. Loopback benchmarks saturate well below this; real fleets are latency-bound. */
export const DEFAULT_CONCURRENCY = 16;
/** The whole collection of one host, connection included. */
export const DEFAULT_HOST_DEADLINE_MS = 30 * 60_000;

/** Where one host's rows go while it is collected. */
export interface HostOutput {
  /** Rows, or events for a row stage that builds the rows elsewhere (the sweep's row workers). */
  readonly sink: HostParserSink | HostEventSink;
  /** Called after every chunk: wait here to keep backpressure on the host's stream. */
  afterChunk(): Promise<void>;
  /** Called once with the result, before the host counts as done. */
  finish(result: HostFetchResult): Promise<void>;
}

export interface FleetOptions extends Omit<FetchHostOptions, 'cursor' | 'signal' | 'onProgress'> {
  readonly concurrency?: number | undefined;
  readonly connectConcurrency?: number | undefined;
  readonly hostDeadlineMs?: number | undefined;
  /** Interrupts the whole sweep (Ctrl-C); each host then ends INTERRUPTED with what it had. */
  readonly signal?: AbortSignal | undefined;
  /** Incremental cursors by {@link hostStateKey}. */
  readonly cursors?: ReadonlyMap<string, LogCursor> | undefined;
  outputFor(host: InventoryHost): Promise<HostOutput>;
  onHostStart?(host: InventoryHost): void;
  onHostDone?(host: InventoryHost, result: HostFetchResult): void;
  /** A host's running totals (bytes received, events parsed), after each chunk it sends. */
  onHostProgress?(host: InventoryHost, bytes: number, events: number): void;
}

/** Collects every host; resolves with one result per host, in the order given. */
export async function fetchFleet(
  hosts: readonly InventoryHost[],
  options: FleetOptions,
): Promise<HostFetchResult[]> {
  const limit = pLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  const connectLimiter = createConnectLimiter(options.connectConcurrency ?? DEFAULT_CONNECT_CONCURRENCY);
  // One credential store for the run, so that a passphrase is asked for once, not once per host.
  const auth = options.session.auth ?? {};
  const authSources = auth instanceof AuthSources ? auth : createAuthSources(auth);
  const session = { ...options.session, auth: authSources, connectLimiter };
  const deadline = options.hostDeadlineMs ?? DEFAULT_HOST_DEADLINE_MS;

  return Promise.all(
    hosts.map((host) =>
      limit(async () => {
        options.onHostStart?.(host);
        const signals = [AbortSignal.timeout(deadline)];
        if (options.signal) signals.push(options.signal);
        const output = await options.outputFor(host);
        const onHostProgress = options.onHostProgress;
        const result = await fetchHost(host, output.sink, () => output.afterChunk(), {
          ...options,
          session,
          cursor: options.cursors?.get(hostStateKey(host)),
          signal: AbortSignal.any(signals),
          ...(onHostProgress
            ? { onProgress: (bytes: number, events: number) => onHostProgress(host, bytes, events) }
            : {}),
        });
        await output.finish(result);
        options.onHostDone?.(host, result);
        return result;
      }),
    ),
  );
}
