/**
 * The inventory's vocabulary: what a loader produces (`Inventory`, `InventoryHost`) and what it reports
 * (`InventoryIssue`). Plain data only, so the fetcher and the reports can consume it without this folder's code.
 */

/** How a host's audit log is read: `sftp` opens it over SFTP; `sudo` runs `sudo -n cat` over an exec channel. */
export type Transport = 'sftp' | 'sudo';

export type InventoryFormat = 'native' | 'ansible-ini' | 'ansible-yaml';

/** One hop of a ProxyJump chain, resolved like a host (inventory, then ssh config, then built-in defaults). */
export interface JumpHost {
  /** The hop as written (`bastion`, `ops@bastion:2222`), or the inventory host it names. */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user?: string;
  /** Absolute paths, in the order they should be tried. */
  readonly identityFiles: string[];
}

/** Where a resolved setting came from: `host`, `group:NAME`, `defaults`, `caller`, `ssh-config`, `built-in`. */
export type SettingSource = string;

/** A host ready to connect to. Every field is resolved; the fetcher needs nothing else from the inventory. */
export interface InventoryHost {
  /** The inventory name; appears in reports as `host`. */
  readonly name: string;
  /** HostName / ansible_host / ssh config HostName; the name itself when none is given. */
  readonly address: string;
  readonly port: number;
  /** Unset means "whatever ssh would use" (the local user name). */
  readonly user?: string;
  /** Absolute paths, tokens (`~`, `%h`, `%u`, …) already expanded. Empty: use the agent / ssh's defaults. */
  readonly identityFiles: string[];
  /** ProxyJump chain in connection order: `jump[0]` is reached first. Empty: connect directly. */
  readonly jump: JumpHost[];
  readonly transport: Transport;
  /** The current audit log; rotated siblings (`audit.log.1`, …) are found beside it. */
  readonly logPath: string;
  /** Every group the host belongs to, ancestors included, highest precedence first; `all` left out. */
  readonly groups: string[];
  /** Union of the tags of the host, its groups and the defaults, sorted. */
  readonly tags: string[];
  /** Settings auditsweep does not use (other `ansible_*` variables, native `vars:`), for diagnostics. */
  readonly vars: Record<string, unknown>;
  /** Which layer supplied each connection setting, for `--explain`-style diagnostics and tests. */
  readonly from: Readonly<
    Record<'address' | 'port' | 'user' | 'identityFiles' | 'jump' | 'transport' | 'logPath', SettingSource>
  >;
  readonly origin: { readonly file: string; readonly line?: number };
}

export interface InventoryGroup {
  /** Direct child groups. */
  readonly children: string[];
  /** Direct member hosts (members of children are not repeated here). */
  readonly hosts: string[];
}

export interface InventorySource {
  readonly file: string;
  readonly format: InventoryFormat;
}

export interface Inventory {
  /** The first (usually only) inventory file. */
  readonly file: string;
  readonly format: InventoryFormat;
  /** Every file that was merged, in the order given. */
  readonly sources: InventorySource[];
  /** In file order. */
  readonly hosts: InventoryHost[];
  /** Every group, including the implicit `all` and `ungrouped`. */
  readonly groups: Map<string, InventoryGroup>;
}

/** A problem found while loading: where it is and how to fix it. */
export interface InventoryIssue {
  readonly file: string;
  readonly line?: number;
  /** Dotted path of the offending key (`groups.web.hosts.web-01.port`) or the variable name. */
  readonly key?: string;
  readonly message: string;
  readonly fix?: string;
}

/** What a boundary function returns: a value when there are no errors, and everything it noticed. */
export interface Checked<T, I = InventoryIssue> {
  value?: T;
  errors: I[];
  warnings: I[];
}

/** Settings a caller (the auditsweep config file, flags) supplies below the inventory's own `defaults`. */
export interface InventoryDefaults {
  readonly port?: number;
  readonly user?: string;
  readonly identityFiles?: readonly string[];
  readonly jump?: readonly string[];
  readonly transport?: Transport;
  readonly logPath?: string;
  readonly tags?: readonly string[];
}

/**
 * One layer of settings as a loader read it (host, group or defaults), before precedence is applied.
 * Paths are as written; `jump: ['none']` explicitly clears a chain set further down.
 */
export interface HostSettings {
  address?: string;
  port?: number;
  user?: string;
  identityFiles?: string[];
  jump?: string[];
  transport?: Transport;
  logPath?: string;
  tags?: string[];
  vars?: Record<string, unknown>;
}

export interface RawHost {
  readonly name: string;
  settings: HostSettings;
  /** Groups that list the host directly (no ancestors, no `all`/`ungrouped`). */
  readonly groups: string[];
  readonly line?: number;
}

export interface RawGroup {
  readonly name: string;
  readonly children: string[];
  readonly hosts: string[];
  settings: HostSettings;
  /** `ansible_group_priority`; 1 when unset. */
  priority: number;
  line?: number;
}

/** What a format loader hands to the resolver: the file's structure with settings still per layer. */
export interface RawInventory {
  readonly file: string;
  readonly format: InventoryFormat;
  /** Relative identity file paths in the inventory are resolved against this folder. */
  readonly baseDir: string;
  readonly hosts: RawHost[];
  /** In definition order; without the implicit `all` / `ungrouped` unless the file gave them settings. */
  readonly groups: Map<string, RawGroup>;
  readonly defaults: HostSettings;
  /** `nearest`: a host's closest group wins (native); `ansible`: Ansible's (priority, depth, name) order. */
  readonly groupPrecedence: 'nearest' | 'ansible';
}

export const DEFAULT_PORT = 22;
export const DEFAULT_LOG_PATH = '/var/log/audit/audit.log';
export const DEFAULT_TRANSPORT: Transport = 'sftp';
/** Passwords never come from an inventory; this is where they come from instead. */
export const PASSWORD_ENV = 'AUDITSWEEP_SSH_PASSWORD';
