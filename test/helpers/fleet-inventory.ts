/**
 * The files a sweep of a test fleet needs, written the same way by every test: known_hosts lines for fleet hosts,
 * and a native inventory whose hosts are fleet hosts (address and port filled in) or anything else a test adds
 * (a refused port, a silent server, an unresolvable name, a proxy).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { InventoryHost } from '../../src/inventory/types.js';
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

/** What a sweep of a test fleet reads, written into one folder. */
export interface SweepFiles {
  readonly inventory: string;
  /** known_hosts with the keys of the hosts trusted. */
  readonly knownHosts: string;
  /** An empty OpenSSH client config (nothing of the machine's ~/.ssh/config). */
  readonly noSshConfig: string;
}

/** Writes {@link SweepFiles} into `dir`: `groups` as in {@link fleetInventory}, `trusted` in known_hosts. */
export function writeSweepFiles(
  dir: string,
  fleet: SshdFleet,
  groups: Readonly<Record<string, Readonly<Record<string, HostSettings>>>>,
  trusted: readonly Pick<FleetHost, 'address' | 'port' | 'hostKeyPublic'>[] = fleet.hosts,
): SweepFiles {
  const files: SweepFiles = {
    inventory: join(dir, 'inventory.yaml'),
    knownHosts: join(dir, 'known_hosts'),
    noSshConfig: join(dir, 'no-ssh-config'),
  };
  writeFileSync(files.noSshConfig, '');
  writeFileSync(files.knownHosts, knownHostsLines(trusted));
  writeFileSync(files.inventory, fleetInventory(fleet, groups));
  return files;
}

/** `auditsweep sweep` over `files`, every host (unless `extra` selects), events since 2026-11-01, into `out`. */
export function sweepArgs(files: SweepFiles, out: string, extra: readonly string[] = []): string[] {
  const selects = extra.some((a) => ['--all', '--hosts', '--group', '-g'].includes(a));
  return [
    'sweep',
    '--inventory',
    files.inventory,
    ...(selects ? [] : ['--all']),
    '--known-hosts',
    files.knownHosts,
    '--ssh-config',
    files.noSshConfig,
    '--since',
    '2026-11-01',
    '--out',
    out,
    '--yes',
    ...extra,
  ];
}

/**
 * A host as the fetcher takes it, made by hand rather than by an inventory: the fleet's user and client key, SFTP,
 * the canonical log path, unless `overrides` say otherwise.
 */
export function inventoryHostOf(
  fleet: Pick<SshdFleet, 'user' | 'clientKey'>,
  host: Pick<FleetHost, 'name' | 'address' | 'port'>,
  overrides: Partial<InventoryHost> = {},
): InventoryHost {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: fleet.user,
    identityFiles: [fleet.clientKey],
    jump: [],
    transport: 'sftp',
    logPath: '/var/log/audit/audit.log',
    groups: [],
    tags: [],
    vars: {},
    from: {
      address: 'host',
      port: 'host',
      user: 'host',
      identityFiles: 'host',
      jump: 'built-in',
      transport: 'built-in',
      logPath: 'built-in',
    },
    origin: { file: 'test' },
    ...overrides,
  };
}
