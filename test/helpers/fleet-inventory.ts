/**
 * The files a sweep of a test fleet needs, written the same way by every test: known_hosts lines for fleet hosts,
 * and a native inventory whose hosts are fleet hosts (address and port filled in) or anything else a test adds
 * (a refused port, a silent server, an unresolvable name, a proxy).
 */
import { stringify } from 'yaml';
import type { FleetHost, SshdFleet } from './sshd-fleet.js';

/** The known_hosts lines of `hosts`, as OpenSSH writes them for a port other than 22. */
export function knownHostsLines(
  hosts: readonly Pick<FleetHost, 'address' | 'port' | 'hostKeyPublic'>[],
): string {
  return hosts.map((h) => `[${h.address}]:${h.port} ${h.hostKeyPublic}\n`).join('');
}

/** A host's inventory settings (`address`, `port`, `transport`, `logPath`, `jump`, `tags`, …). */
export type HostSettings = Readonly<Record<string, string | number | readonly string[]>>;

/**
 * A native inventory (YAML text): the fleet's user and client key as defaults, and `groups`, each mapping host
 * names to their settings. A name of a fleet host gets that host's address and port unless the settings give them;
 * any other name must give its `address`.
 */
export function fleetInventory(
  fleet: SshdFleet,
  groups: Readonly<Record<string, Readonly<Record<string, HostSettings>>>>,
): string {
  const hostsOf = (members: Readonly<Record<string, HostSettings>>) =>
    Object.fromEntries(
      Object.entries(members).map(([name, settings]) => {
        const h = fleet.hosts.find((f) => f.name === name);
        if (h === undefined && settings.address === undefined) {
          throw new Error(`inventory host ${name} is not in the fleet and has no address`);
        }
        return [name, h === undefined ? settings : { address: h.address, port: h.port, ...settings }];
      }),
    );
  return stringify({
    auditsweep: 1,
    defaults: { user: fleet.user, identityFile: fleet.clientKey },
    groups: Object.fromEntries(
      Object.entries(groups).map(([g, members]) => [g, { hosts: hostsOf(members) }]),
    ),
  });
}

/** `{ name: {} }` for each name: fleet hosts with nothing but their address and port. */
export function plainHosts(names: readonly string[]): Record<string, HostSettings> {
  return Object.fromEntries(names.map((n) => [n, {}]));
}
