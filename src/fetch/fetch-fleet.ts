/**
 * Many hosts at once: {@link fetchHost} within the bounds of {@link fanOut} (a p-limit fan-out, a separate cap on
 * simultaneous connection attempts, a deadline per host). One host's failure never stops or touches another's collection; every
 * host ends with a result.
 */
import type { InventoryHost } from '../inventory/types.js';
import type { HostEventSink, HostLogInput, HostParserSink } from '../parse/host-parser.js';
import { type FanOutOptions, fanOut } from './fan-out.js';
import { type FetchHostOptions, fetchHost, type HostFetchResult } from './fetch-host.js';
import type { LogCursor } from './state.js';
import { hostStateKey } from './state.js';

export { DEFAULT_CONCURRENCY, DEFAULT_HOST_DEADLINE_MS } from './fan-out.js';

/** Where one host's rows go while it is collected. */
export interface HostOutput {
  /**
   * Rows, or events for a row stage that builds the rows elsewhere (the sweep's row workers), or the host's parser
   * itself (one on a host parse worker, which delivers the rows on its own).
   */
  readonly sink: HostParserSink | HostEventSink | HostLogInput;
  /** Called after every chunk: wait here to keep backpressure on the host's stream. */
  afterChunk(): Promise<void>;
  /** Called once with the result, before the host counts as done. */
  finish(result: HostFetchResult): Promise<void>;
}

export interface FleetOptions
  extends Omit<FetchHostOptions, 'cursor' | 'signal' | 'onProgress'>,
    FanOutOptions {
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
  return fanOut(hosts, options, async (host, slot) => {
    options.onHostStart?.(host);
    const output = await options.outputFor(host);
    const onHostProgress = options.onHostProgress;
    const result = await fetchHost(host, output.sink, () => output.afterChunk(), {
      ...options,
      session: slot.session,
      cursor: options.cursors?.get(hostStateKey(host)),
      signal: slot.signal,
      ...(onHostProgress
        ? { onProgress: (bytes: number, events: number) => onHostProgress(host, bytes, events) }
        : {}),
    });
    await output.finish(result);
    options.onHostDone?.(host, result);
    return result;
  });
}
