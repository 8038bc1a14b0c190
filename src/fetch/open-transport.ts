/**
 * The way to a host's logs, as the sweep and `hosts check` take it: a session (with retries of transient failures
 * only), then the host's log transport on it: SFTP, or `sudo -n` over exec channels for hosts with
 * `transport: sudo`. The login user goes into the remedies of PERMISSION_DENIED messages.
 */
import type { InventoryHost } from '../inventory/types.js';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from './retry.js';
import { openSession, type Session, type SessionOptions } from './session.js';
import { createSftpTransport } from './sftp-transport.js';
import { createSudoTransport } from './sudo-transport.js';
import type { LogTransport } from './transport.js';

/** Opens `host.transport` on `session`; rejects with a SweepError (PROTOCOL, INTERRUPTED) when the channel fails. */
export async function openTransport(host: InventoryHost, session: Session): Promise<LogTransport> {
  const user = session.facts.user;
  if (host.transport === 'sudo') return createSudoTransport(session.client, { user, closed: session.closed });
  return createSftpTransport(await session.sftp(), { user, closed: session.closed });
}

/** Opens a session to `host`, retrying transient failures (retry.ts) with the default bounds unless given. */
export function connectHost(
  host: InventoryHost,
  options: {
    readonly session: SessionOptions;
    readonly retry?: Partial<Pick<RetryOptions, 'attempts' | 'baseDelayMs' | 'maxDelayMs'>> | undefined;
    /** Ends waiting and retrying, and the attempt under way (INTERRUPTED). */
    readonly signal?: AbortSignal | undefined;
  },
): Promise<Session> {
  const signal = options.signal;
  const session = signal ? { ...options.session, signal } : options.session;
  return withRetry(() => openSession(host, session), {
    ...DEFAULT_RETRY,
    ...options.retry,
    ...(signal ? { signal } : {}),
  });
}
