/**
 * The host's log transport on an open session: SFTP, or `sudo -n` over exec channels for hosts with
 * `transport: sudo`. The login user goes into the remedies of PERMISSION_DENIED messages.
 */
import type { InventoryHost } from '../inventory/types.js';
import type { Session } from './session.js';
import { createSftpTransport } from './sftp-transport.js';
import { createSudoTransport } from './sudo-transport.js';
import type { LogTransport } from './transport.js';

/** Opens `host.transport` on `session`; rejects with a SweepError (PROTOCOL, INTERRUPTED) when the channel fails. */
export async function openTransport(host: InventoryHost, session: Session): Promise<LogTransport> {
  const user = session.facts.user;
  if (host.transport === 'sudo') return createSudoTransport(session.client, { user });
  return createSftpTransport(await session.sftp(), { user });
}
