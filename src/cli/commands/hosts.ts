/**
 * `auditsweep hosts list|check|trust`: the inventory as a sweep would see it, a pre-flight of the selected hosts,
 * and recording a new host's key.
 *
 * Like `sweep`, each reads the config file (`--config FILE`, else `$AUDITSWEEP_CONFIG`, `./auditsweep.yaml`,
 * `~/.config/auditsweep/auditsweep.yaml`) and merges it with the flags and the defaults through config/merge.ts:
 * the inventory, ssh config, known_hosts, identity, user and timeouts come from the same place as the sweep's.
 * Where `sweep` insists on a choice of hosts, `list` and `check` take them all.
 */
import type { Command } from 'commander';
import {
  formatConfigIssue,
  mergeSettings,
  resolveConfigFile,
  type SweepFlagValues,
  type SweepSettings,
} from '../../config/index.js';
import { HOST_FAILURE_CODES, SweepError } from '../../errors.js';
import { checkFleet, type HostCheck } from '../../fetch/check-host.js';
import { addKnownHost } from '../../fetch/known-hosts.js';
import { auditsweepKnownHostsFile, defaultKnownHostsFiles, fetchHostKey } from '../../fetch/session.js';
import { formatIssue, loadInventory, selectHosts } from '../../inventory/index.js';
import type { HostSelection } from '../../inventory/select.js';
import type { Inventory, InventoryHost } from '../../inventory/types.js';
import { shellQuote } from '../../shell-quote.js';
import { EXIT } from '../exit-codes.js';
import { boundsOptions, connectOptions, selectionOptions, sourceOptions } from '../options.js';
import { askSecret, confirmOrFail } from '../prompts.js';

/** `--all`'s meaning for `list` and `check`, which take every host when nothing is selected. */
const ALL_IS_DEFAULT = 'select every host of the inventory (the default)';

/** The flags of the `hosts` commands: a subset of `sweep`'s, with the same meaning, merged the same way. */
type HostsFlags = Pick<
  SweepFlagValues,
  | 'inventory'
  | 'all'
  | 'group'
  | 'hosts'
  | 'exclude'
  | 'tag'
  | 'sshConfig'
  | 'knownHosts'
  | 'identity'
  | 'user'
  | 'concurrency'
  | 'connectConcurrency'
  | 'hostTimeout'
  | 'connectTimeout'
  | 'retries'
  | 'logFormat'
> & { config?: string };

function warn(text: string): void {
  process.stderr.write(`WARNING: ${text}\n`);
}

/**
 * Config file + flags + defaults (config/merge.ts, as for `sweep`), or a CONFIG_INVALID error listing every issue.
 * Without --all/--group/--hosts and without `selection.include` in the file, every host is selected.
 */
export async function hostsSettings(flags: HostsFlags): Promise<SweepSettings> {
  const { config: configFlag, ...values } = flags;
  const file = await resolveConfigFile({ configFlag });
  for (const w of file.warnings) warn(formatConfigIssue(w));
  if (file.errors.length > 0) {
    throw new SweepError('CONFIG_INVALID', file.errors.map(formatConfigIssue).join('\n'));
  }
  const chosen =
    Boolean(flags.all) ||
    (flags.group ?? []).length > 0 ||
    (flags.hosts ?? []).length > 0 ||
    (file.value?.selection?.include ?? []).length > 0;
  const merged = mergeSettings(chosen ? values : { ...values, all: true }, file.value);
  for (const w of merged.warnings) warn(formatConfigIssue(w));
  if (merged.value === undefined) {
    throw new SweepError('CONFIG_INVALID', merged.errors.map(formatConfigIssue).join('\n'));
  }
  return merged.value;
}

/** The inventory as the sweep loads it: the settings' files, ssh config and `--user`. */
async function inventoryOf(settings: SweepSettings): Promise<Inventory> {
  const loaded = await loadInventory(settings.inventory, {
    ...(settings.sshConfig !== undefined ? { sshConfigFile: settings.sshConfig } : {}),
    ...(settings.user ? { defaults: { user: settings.user } } : {}),
  });
  for (const w of loaded.warnings) warn(formatIssue(w));
  if (loaded.value === undefined)
    throw new SweepError('INVENTORY_INVALID', loaded.errors.map(formatIssue).join('\n'));
  return loaded.value;
}

/** The selected hosts in inventory order; a selection naming nothing that exists is a USAGE error. */
function selected(inventory: Inventory, selection: HostSelection): InventoryHost[] {
  const picked = selectHosts(inventory, selection);
  if (picked.value === undefined || picked.errors.length > 0) {
    throw new SweepError(
      'USAGE',
      picked.errors.map((e) => `${e.message}${e.fix ? ` (${e.fix})` : ''}`).join('\n'),
    );
  }
  for (const w of picked.warnings) warn(`${w.message}${w.fix ? ` (${w.fix})` : ''}`);
  return picked.value;
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

/**
 * `auditsweep hosts trust NAME` with what makes it reach the same host and record the key where a sweep with
 * these settings looks: the config file, and the flags that were given. When known_hosts files were chosen (flag
 * or config), the key goes into the first of them, since auditsweep's own file is then not read.
 */
export function trustCommandFor(name: string, settings: SweepSettings): string {
  const fromFlag = (key: string) => settings.sources[key] === 'flag';
  const args = ['auditsweep', 'hosts', 'trust', name];
  if (settings.configFile !== undefined) args.push('--config', settings.configFile);
  if (fromFlag('inventory')) for (const f of settings.inventory) args.push('-i', f);
  if (fromFlag('sshConfig') && typeof settings.sshConfig === 'string')
    args.push('--ssh-config', settings.sshConfig);
  if (fromFlag('user') && settings.user !== undefined) args.push('--user', settings.user);
  if (fromFlag('identity')) for (const f of settings.identity ?? []) args.push('--identity', f);
  if (fromFlag('knownHosts')) for (const f of settings.knownHosts ?? []) args.push('--known-hosts', f);
  const write = settings.knownHosts?.[0];
  if (write !== undefined) args.push('--write', write);
  return args.map(shellQuote).join(' ');
}

/** Widest host failure code, for the column. */
const CODE_WIDTH = Math.max(...HOST_FAILURE_CODES.map((c) => c.length));

/** One line of `hosts check` output for a host (text: name, OK or the code, message; json: one object). */
export function checkLine(r: HostCheck, format: 'text' | 'json', nameWidth = 0): string {
  if (format === 'json') {
    const common = {
      host: r.host,
      outcome: r.status,
      code: r.status === 'ok' ? null : r.code,
      message: r.message,
      address: r.address,
      port: r.port,
      transport: r.transport,
      log_path: r.logPath,
    };
    const line =
      r.status === 'ok'
        ? {
            ...common,
            remedy: null,
            user: r.user,
            host_key: { type: r.hostKey.keyType, fingerprint: r.hostKey.fingerprint },
            files: r.files.length,
            bytes: r.bytes,
            log_files: r.files.map((f) => ({ name: f.name, size: f.size, mtime: f.mtime })),
            duration_ms: r.durationMs,
          }
        : {
            ...common,
            remedy: r.remedy ?? null,
            stage: r.stage,
            ...(r.fingerprint === undefined ? {} : { fingerprint: r.fingerprint }),
            ...(r.keyHolder === undefined ? {} : { key_holder: r.keyHolder }),
            files: 0,
            bytes: 0,
            duration_ms: r.durationMs,
          };
    return JSON.stringify(line);
  }
  const status = r.status === 'ok' ? 'OK' : r.code;
  const fix = r.status === 'failed' && r.remedy !== undefined ? ` — fix: ${r.remedy}` : '';
  return `${r.host.padEnd(nameWidth)}  ${status.padEnd(CODE_WIDTH)}  ${r.message}${fix}`;
}

/** The last line of `hosts check`, on stderr: how many passed, and the failures by code. */
function checkSummary(results: readonly HostCheck[], format: 'text' | 'json'): string {
  const codes = new Map<string, number>();
  for (const r of results) if (r.status === 'failed') codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
  const ok = results.filter((r) => r.status === 'ok').length;
  const failed = results.length - ok;
  const byCode = [...codes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (format === 'json') {
    return JSON.stringify({
      summary: { hosts: results.length, ok, failed, codes: Object.fromEntries(byCode) },
    });
  }
  const detail = byCode.length > 0 ? ` (${byCode.map(([c, n]) => `${c} ${n}`).join(', ')})` : '';
  return `${results.length} host${results.length === 1 ? '' : 's'}: ${ok} OK, ${failed} failed${detail}`;
}

export function registerHosts(program: Command): void {
  const hosts = program
    .command('hosts')
    .description('Inspect the inventory, check that the hosts can be swept, and manage trusted host keys');

  selectionOptions(
    sourceOptions(
      hosts
        .command('list')
        .description('List the hosts a selection picks, with their resolved connection settings'),
    ),
    ALL_IS_DEFAULT,
  ).action(async (flags: HostsFlags) => {
    const settings = await hostsSettings(flags);
    const inventory = await inventoryOf(settings);
    for (const h of selected(inventory, settings.selection)) {
      const jump = h.jump.length > 0 ? ` via ${h.jump.map((j) => j.name).join(' → ')}` : '';
      process.stdout.write(
        `${h.name}\t${h.user ? `${h.user}@` : ''}${h.address}:${h.port}${jump}\t${h.transport}\t${h.logPath}\t${h.groups.join(',')}\t${h.tags.join(',')}\n`,
      );
    }
  });

  boundsOptions(
    connectOptions(
      selectionOptions(
        sourceOptions(
          hosts
            .command('check')
            .description(
              'Pre-flight: connect to each selected host as a sweep would, list its audit logs and read the first bytes of the live one; one line per host (exit 1 when any fails)',
            ),
        ),
        ALL_IS_DEFAULT,
      ),
    ),
    'checked',
  )
    .option('--log-format <format>', 'text (one aligned line per host) or json (one object per host)')
    .action(async (flags: HostsFlags) => {
      const settings = await hostsSettings(flags);
      const inventory = await inventoryOf(settings);
      const picked = selected(inventory, settings.selection);
      if (picked.length === 0) throw new SweepError('USAGE', 'the selection matched no host');
      const format = settings.logFormat;
      const nameWidth = Math.max(...picked.map((h) => h.name.length));
      // Lines in inventory order, each as soon as it and every host before it are done.
      const done: (HostCheck | undefined)[] = [];
      let next = 0;
      const results = await checkFleet(picked, {
        session: {
          knownHostsFiles: settings.knownHosts ?? defaultKnownHostsFiles(),
          timeouts: { connectMs: settings.connectTimeout * 1000 },
          auth: {
            ...(settings.identity ? { identityFiles: settings.identity } : {}),
            // Prompts only at a terminal; the environment variables are read first (src/fetch/auth.ts).
            askPassphrase: (file) => askSecret(`Passphrase for ${file}:`),
            askPassword: (t) => askSecret(`Password for ${t.user}@${t.name} (${t.address}:${t.port}):`),
          },
        },
        retry: { attempts: 1 + settings.retries },
        concurrency: settings.concurrency,
        connectConcurrency: settings.connectConcurrency,
        hostDeadlineMs: settings.hostTimeout * 1000,
        trustCommand: (name) => trustCommandFor(name, settings),
        onHostDone: (result, index) => {
          done[index] = result;
          for (let r = done[next]; r !== undefined; r = done[++next]) {
            process.stdout.write(`${checkLine(r, format, nameWidth)}\n`);
          }
        },
      });
      process.stderr.write(`${checkSummary(results, format)}\n`);
      process.exitCode = results.every((r) => r.status === 'ok') ? EXIT.OK : EXIT.FAILED;
    });

  connectOptions(
    sourceOptions(
      hosts
        .command('trust')
        .description("Show the key a host presents and record it in auditsweep's known_hosts file")
        .argument('<name>', 'inventory host (or jump host) name'),
    ),
  )
    .option(
      '--write <file>',
      'known_hosts file to record the key in (default $XDG_CONFIG_HOME/auditsweep/known_hosts)',
    )
    .option('--hashed', 'record the host name hashed, like ssh-keygen -H')
    .option('-y, --yes', 'record without asking (only after checking the fingerprint out of band)')
    .action(async (name: string, flags: HostsFlags & { write?: string; hashed?: boolean; yes?: boolean }) => {
      const { write: writeFlag, hashed, yes, ...values } = flags;
      const settings = await hostsSettings(values);
      const inventory = await inventoryOf(settings);
      const target = trustTarget(inventory, name);
      const write = writeFlag ?? auditsweepKnownHostsFile();
      const knownHostsFiles = [...(settings.knownHosts ?? defaultKnownHostsFiles()), write];
      const key = await fetchHostKey(target, {
        knownHostsFiles,
        timeouts: { connectMs: settings.connectTimeout * 1000 },
        // Jump hosts on the way are logged into.
        ...(settings.identity ? { auth: { identityFiles: settings.identity } } : {}),
      });
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
      if (!yes) {
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
        hashed: hashed ?? false,
      });
      process.stdout.write(`recorded in ${write}\n`);
      if (settings.knownHosts !== undefined && !settings.knownHosts.includes(write)) {
        warn(
          `a sweep with these settings reads only ${settings.knownHosts.join(', ')} (knownHosts), not ${write}: ` +
            `record the key with --write ${settings.knownHosts[0]}, or add ${write} to knownHosts`,
        );
      }
    });
}
