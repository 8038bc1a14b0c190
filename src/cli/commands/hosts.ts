/** `auditsweep hosts list` and `auditsweep hosts trust NAME`. */
import type { Command } from 'commander';
import { SweepError } from '../../errors.js';
import { addKnownHost } from '../../fetch/known-hosts.js';
import { auditsweepKnownHostsFile, defaultKnownHostsFiles, fetchHostKey } from '../../fetch/session.js';
import { formatIssue, loadInventory, selectHosts } from '../../inventory/index.js';
import type { Inventory, InventoryHost } from '../../inventory/types.js';
import { confirmOrFail } from '../prompts.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function inventoryFrom(files: string[], sshConfig: string | undefined): Promise<Inventory> {
  const loaded = await loadInventory(files, sshConfig === undefined ? {} : { sshConfigFile: sshConfig });
  for (const w of loaded.warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
  if (loaded.value === undefined)
    throw new SweepError('INVENTORY_INVALID', loaded.errors.map(formatIssue).join('\n'));
  return loaded.value;
}

/**
 * The connection target called NAME: an inventory host, or a jump host named in some host's ProxyJump chain
 * (reached through the hops before it).
 */
export function trustTarget(inventory: Inventory, name: string): InventoryHost {
  const host = inventory.hosts.find((h) => h.name === name);
  if (host) return host;
  for (const h of inventory.hosts) {
    const i = h.jump.findIndex((j) => j.name === name);
    if (i < 0) continue;
    const hop = h.jump[i]!;
    return {
      ...h,
      name: hop.name,
      address: hop.address,
      port: hop.port,
      ...(hop.user === undefined ? {} : { user: hop.user }),
      identityFiles: hop.identityFiles,
      jump: h.jump.slice(0, i),
    };
  }
  throw new SweepError('USAGE', `no host or jump host called ${name} in ${inventory.file}`);
}

export function registerHosts(program: Command): void {
  const hosts = program.command('hosts').description('Inspect the inventory and manage trusted host keys');

  hosts
    .command('list')
    .description('List the hosts a selection picks, with their resolved connection settings')
    .requiredOption('-i, --inventory <file>', 'inventory file; repeatable', collect)
    .option('--ssh-config <file>', 'OpenSSH client config to honour (default ~/.ssh/config)')
    .option('--hosts <pattern>', 'names, groups or globs, comma-separated (default: all)', collect)
    .option('--exclude <pattern>', 'leave out hosts, groups or globs; repeatable', collect)
    .action(
      async (flags: { inventory: string[]; sshConfig?: string; hosts?: string[]; exclude?: string[] }) => {
        const inventory = await inventoryFrom(flags.inventory, flags.sshConfig);
        const include = (flags.hosts ?? ['all']).flatMap((p) => p.split(','));
        const picked = selectHosts(inventory, { include, exclude: flags.exclude ?? [] });
        if (picked.value === undefined || picked.errors.length > 0) {
          throw new SweepError(
            'USAGE',
            picked.errors.map((e) => `${e.message}${e.fix ? ` (${e.fix})` : ''}`).join('\n'),
          );
        }
        for (const h of picked.value) {
          const jump = h.jump.length > 0 ? ` via ${h.jump.map((j) => j.name).join(' → ')}` : '';
          process.stdout.write(
            `${h.name}\t${h.user ? `${h.user}@` : ''}${h.address}:${h.port}${jump}\t${h.transport}\t${h.logPath}\t${h.groups.join(',')}\t${h.tags.join(',')}\n`,
          );
        }
      },
    );

  hosts
    .command('trust')
    .description("Show the key a host presents and record it in auditsweep's known_hosts file")
    .argument('<name>', 'inventory host (or jump host) name')
    .requiredOption('-i, --inventory <file>', 'inventory file; repeatable', collect)
    .option('--ssh-config <file>', 'OpenSSH client config to honour (default ~/.ssh/config)')
    .option('--known-hosts <file>', 'known_hosts files to check the key against; repeatable', collect)
    .option(
      '--write <file>',
      'known_hosts file to record the key in (default $XDG_CONFIG_HOME/auditsweep/known_hosts)',
    )
    .option('--hashed', 'record the host name hashed, like ssh-keygen -H')
    .option('-y, --yes', 'record without asking (only after checking the fingerprint out of band)')
    .action(
      async (
        name: string,
        flags: {
          inventory: string[];
          sshConfig?: string;
          knownHosts?: string[];
          write?: string;
          hashed?: boolean;
          yes?: boolean;
        },
      ) => {
        const inventory = await inventoryFrom(flags.inventory, flags.sshConfig);
        const target = trustTarget(inventory, name);
        const write = flags.write ?? auditsweepKnownHostsFile();
        const knownHostsFiles = [...(flags.knownHosts ?? defaultKnownHostsFiles()), write];
        const key = await fetchHostKey(target, { knownHostsFiles });
        process.stdout.write(`${name} (${key.knownHostsName}) presents ${key.keyType} ${key.fingerprint}\n`);
        if (key.status === 'trusted') {
          process.stdout.write('already trusted; nothing to do\n');
          return;
        }
        if (key.status === 'changed' || key.status === 'revoked') {
          throw new SweepError(
            'HOST_KEY_CHANGED',
            `${name}: this key ${key.status === 'revoked' ? 'is marked @revoked' : 'differs from the one on record'} (${key.knownEntries.join(', ') || 'known_hosts'}). ` +
              'This can be a man-in-the-middle attack. Verify the new key with the host owner before removing the old entry (ssh-keygen -R); auditsweep does not replace keys.',
          );
        }
        if (!flags.yes) {
          const ok = await confirmOrFail(
            `Trust ${name} with ${key.keyType} ${key.fingerprint}? Check it against the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) first.`,
            '--yes',
          );
          if (!ok) {
            process.stdout.write('not recorded\n');
            return;
          }
        }
        await addKnownHost(write, { host: target.address, port: target.port }, key.publicKeyLine, {
          hashed: flags.hashed ?? false,
        });
        process.stdout.write(`recorded in ${write}\n`);
      },
    );
}
