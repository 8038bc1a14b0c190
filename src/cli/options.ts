/**
 * Commander options that several commands share, declared once so that `sweep` and `hosts` spell and explain
 * them alike: where settings and the inventory come from, the host selection, how to connect, and the fan-out
 * bounds. Each command adds its own after these.
 */
import type { Command } from 'commander';
import { DEFAULTS } from '../config/index.js';

/** Commander's accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The config file, the inventory, the OpenSSH client config and the default login name. */
export function sourceOptions(command: Command): Command {
  return command
    .option(
      '-c, --config <file>',
      'config file (default $AUDITSWEEP_CONFIG, ./auditsweep.yaml, then ~/.config/auditsweep/auditsweep.yaml); flags override it',
    )
    .option(
      '-i, --inventory <file>',
      'inventory file (native YAML, Ansible INI or YAML); repeatable; or `inventory:` in the config file',
      collect,
    )
    .option('--ssh-config <file>', 'OpenSSH client config to honour (default ~/.ssh/config)')
    .option('--user <name>', 'login name for hosts whose inventory gives none');
}

/** Which hosts: `allHelp` says what `--all` means for the command (for some it is the default). */
export function selectionOptions(command: Command, allHelp = 'select every host of the inventory'): Command {
  return command
    .option('--all', allHelp)
    .option('-g, --group <name>', 'select the hosts of a group (nested groups included); repeatable', collect)
    .option(
      '--hosts <pattern>',
      'select hosts by name, group or glob (web-*, db-0[1-3]), comma-separated; repeatable',
      collect,
    )
    .option('--exclude <pattern>', 'leave out hosts, groups or globs; repeatable', collect)
    .option('--tag <tag>', 'keep only hosts with this tag; repeatable', collect);
}

/** Host key files, login keys and the connection timeout. */
export function connectOptions(command: Command): Command {
  return command
    .option(
      '--known-hosts <file>',
      'known_hosts file to verify host keys with; repeatable (default: OpenSSH and auditsweep files)',
      collect,
    )
    .option(
      '--identity <file>',
      'private key to log in with (replaces the inventory keys); repeatable',
      collect,
    )
    .option(
      '--connect-timeout <seconds>',
      `per hop: TCP connect up to a finished key exchange (default ${DEFAULTS.connectTimeout})`,
    );
}

/** The fan-out bounds (fetch/fan-out.ts); `work` names what is done to a host ("collected", "checked"). */
export function boundsOptions(command: Command, work: string): Command {
  return command
    .option('--concurrency <n>', `hosts ${work} at once (default ${DEFAULTS.concurrency})`)
    .option(
      '--connect-concurrency <n>',
      `simultaneous connection attempts, keep below sshd MaxStartups (default ${DEFAULTS.connectConcurrency})`,
    )
    .option(
      '--host-timeout <seconds>',
      `deadline for the whole work on one host (default ${DEFAULTS.hostTimeout})`,
    )
    .option(
      '--retries <n>',
      `extra attempts for transient failures (refused, reset, timeout); never for auth or host keys (default ${DEFAULTS.retries})`,
    );
}
