/**
 * `RawInventory` → resolved `InventoryHost`s: applies precedence (host > groups, nearest first > inventory
 * `defaults` > caller defaults > ssh config > built-in defaults), fills the gaps from the ssh client config,
 * expands identity paths and resolves ProxyJump chains hop by hop.
 */
import { expandIdentityPath, type LocalContext, parseJumpSpec, type SshClientConfig } from './ssh-config.js';
import {
  type Checked,
  DEFAULT_LOG_PATH,
  DEFAULT_PORT,
  DEFAULT_TRANSPORT,
  type HostSettings,
  type InventoryDefaults,
  type InventoryGroup,
  type InventoryHost,
  type InventoryIssue,
  type JumpHost,
  type RawHost,
  type RawInventory,
} from './types.js';

export interface ResolveContext {
  readonly ssh: SshClientConfig;
  readonly local: LocalContext;
  readonly defaults?: InventoryDefaults;
}

export interface ResolvedInventory {
  readonly hosts: InventoryHost[];
  readonly groups: Map<string, InventoryGroup>;
}

/** Hostnames (RFC 1123 labels, `_` tolerated as ssh does), IPv4, and IPv6 with an optional zone. */
const ADDRESS =
  /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(?:%[\w.-]+)?$/;

export function isUsableAddress(address: string): boolean {
  return ADDRESS.test(address) || IPV6.test(address);
}

interface Layer {
  readonly source: string;
  readonly settings: HostSettings;
  /** Relative identity paths of this layer are relative to this folder. */
  readonly baseDir: string;
  /** Groups only: distance from the host (native) or 0; layers with the same rank tie. */
  readonly rank: number;
}

type ConnectionKey = 'address' | 'port' | 'user' | 'identityFiles' | 'jump' | 'transport' | 'logPath';

/** Resolves every host of one inventory file. Jump hops may name other hosts of the same file. */
export function resolveInventory(raw: RawInventory, context: ResolveContext): Checked<ResolvedInventory> {
  const errors: InventoryIssue[] = [];
  const warnings: InventoryIssue[] = [];
  const issue = (line: number | undefined, message: string, fix?: string, key?: string): InventoryIssue => ({
    file: raw.file,
    ...(line !== undefined && { line }),
    ...(key !== undefined && { key }),
    message,
    ...(fix !== undefined && { fix }),
  });

  const graph = buildGroupGraph(raw);
  for (const loop of graph.cycles) {
    errors.push(
      issue(
        raw.groups.get(loop[0]!)?.line,
        `groups contain each other: ${loop.join(' → ')}`,
        'remove one of the `children` entries',
      ),
    );
  }
  if (errors.length > 0) return { errors, warnings };

  const callerLayer: Layer = {
    source: 'caller',
    settings: callerSettings(context.defaults),
    baseDir: context.local.cwd,
    rank: 0,
  };
  const defaultsLayer: Layer = { source: 'defaults', settings: raw.defaults, baseDir: raw.baseDir, rank: 0 };
  const rawHosts = new Map(raw.hosts.map((h) => [h.name, h]));
  const resolved = new Map<string, InventoryHost | null>();
  const inProgress: string[] = [];

  const resolveHost = (host: RawHost): InventoryHost | null => {
    const done = resolved.get(host.name);
    if (done !== undefined) return done;
    if (inProgress.includes(host.name)) {
      const loop = [...inProgress.slice(inProgress.indexOf(host.name)), host.name];
      errors.push(
        issue(
          host.line,
          `jump hosts loop: ${loop.join(' → ')}`,
          'break the loop: a jump host must not need itself to be reached',
          'jump',
        ),
      );
      return null;
    }
    inProgress.push(host.name);
    const result = resolveOne(host);
    inProgress.pop();
    resolved.set(host.name, result);
    return result;
  };

  const resolveOne = (host: RawHost): InventoryHost | null => {
    const groupOrder = graph.precedence(host, raw.groupPrecedence);
    const layers: Layer[] = [
      { source: 'host', settings: host.settings, baseDir: raw.baseDir, rank: -1 },
      ...groupOrder.map((g) => ({
        source: `group:${g.name}`,
        settings: raw.groups.get(g.name)?.settings ?? {},
        baseDir: raw.baseDir,
        rank: g.rank,
      })),
      defaultsLayer,
      callerLayer,
    ];
    const pick = <K extends ConnectionKey>(key: K): { value: HostSettings[K]; layer: Layer } | undefined => {
      const index = layers.findIndex((l) => l.settings[key] !== undefined);
      if (index < 0) return undefined;
      const layer = layers[index]!;
      if (layer.source.startsWith('group:') && raw.groupPrecedence === 'nearest') {
        const rivals = layers.filter(
          (l, i) =>
            i > index &&
            l.source.startsWith('group:') &&
            l.rank === layer.rank &&
            l.settings[key] !== undefined &&
            JSON.stringify(l.settings[key]) !== JSON.stringify(layer.settings[key]),
        );
        if (rivals.length > 0) {
          warnings.push(
            issue(
              host.line,
              `host "${host.name}" gets \`${key}\` from ${[layer, ...rivals].map((l) => l.source.slice(6)).join(' and ')} at the same distance; using ${layer.source.slice(6)} (defined first)`,
              `set \`${key}\` on the host, or on only one of those groups`,
              key,
            ),
          );
        }
      }
      return { value: layer.settings[key], layer };
    };

    const addressSetting = pick('address');
    const lookupName = addressSetting?.value ?? host.name;
    const ssh = context.ssh.lookup(lookupName);
    for (const p of ssh.problems) {
      warnings.push({ file: context.ssh.file ?? '<ssh config>', key: p.key, message: p.message, fix: p.fix });
    }
    const from: Record<ConnectionKey, string> = {
      address: 'built-in',
      port: 'built-in',
      user: 'built-in',
      identityFiles: 'built-in',
      jump: 'built-in',
      transport: 'built-in',
      logPath: 'built-in',
    };

    let address = host.name;
    if (addressSetting) {
      address = addressSetting.value!;
      from.address = addressSetting.layer.source;
    } else if (ssh.hostName !== undefined) {
      address = ssh.hostName;
      from.address = 'ssh-config';
    }
    if (!isUsableAddress(address)) {
      const fix =
        raw.format === 'native'
          ? `add \`address: <host name or IP>\` to host "${host.name}", or a HostName for it in the ssh config`
          : `set ansible_host=<host name or IP> for "${host.name}", or a HostName for it in the ssh config`;
      errors.push(
        issue(
          host.line,
          from.address === 'built-in'
            ? `host "${host.name}" has no address, and its name is not a host name or IP address`
            : `host "${host.name}" has the address "${address}" (from ${from.address}), which is not a host name or IP address`,
          fix,
          raw.format === 'native' ? 'address' : 'ansible_host',
        ),
      );
      return null;
    }

    const portSetting = pick('port');
    let port = DEFAULT_PORT;
    if (portSetting) {
      port = portSetting.value!;
      from.port = portSetting.layer.source;
    } else if (ssh.port !== undefined) {
      port = ssh.port;
      from.port = 'ssh-config';
    }

    const userSetting = pick('user');
    let user: string | undefined;
    if (userSetting) {
      user = userSetting.value!;
      from.user = userSetting.layer.source;
    } else if (ssh.user !== undefined) {
      user = ssh.user;
      from.user = 'ssh-config';
    }

    const jumpSetting = pick('jump');
    let jumpSpecs: string[] = [];
    if (jumpSetting) {
      jumpSpecs = jumpSetting.value!;
      from.jump = jumpSetting.layer.source;
    } else if (ssh.jump !== undefined) {
      jumpSpecs = ssh.jump;
      from.jump = 'ssh-config';
    }
    if (jumpSpecs.length === 1 && jumpSpecs[0]!.toLowerCase() === 'none') jumpSpecs = [];

    const identitySetting = pick('identityFiles');
    let identityPaths: string[] = [];
    let identityBase = context.local.cwd;
    if (identitySetting) {
      identityPaths = identitySetting.value!;
      identityBase = identitySetting.layer.baseDir;
      from.identityFiles = identitySetting.layer.source;
    } else if (ssh.identityFiles.length > 0) {
      identityPaths = ssh.identityFiles;
      from.identityFiles = 'ssh-config';
    }
    const identityFiles = identityPaths.map((p) => {
      const expanded = expandIdentityPath(
        p,
        { host: address, originalHost: lookupName, port, remoteUser: user ?? '', jump: jumpSpecs.join(',') },
        context.local,
        identityBase,
      );
      if (expanded.unknown.length > 0) {
        warnings.push(
          issue(
            host.line,
            `identity file "${p}" of host "${host.name}" uses ${expanded.unknown.join(', ')}, which ssh does not define`,
            'use only the tokens of ssh_config(5) IdentityFile (%d %h %r %u %p %n %l %L %i %C %%)',
            'identityFile',
          ),
        );
      }
      return expanded.path;
    });

    const jump: JumpHost[] = [];
    for (const spec of jumpSpecs) {
      const hops = resolveHop(spec, host, identityFiles, [host.name]);
      if (hops === null) return null;
      jump.push(...hops);
    }

    const transportSetting = pick('transport');
    if (transportSetting) from.transport = transportSetting.layer.source;
    const logPathSetting = pick('logPath');
    if (logPathSetting) from.logPath = logPathSetting.layer.source;

    const tags = new Set<string>();
    const vars: Record<string, unknown> = {};
    for (const layer of [...layers].reverse()) {
      for (const tag of layer.settings.tags ?? []) tags.add(tag);
      Object.assign(vars, layer.settings.vars);
    }

    return {
      name: host.name,
      address,
      port,
      ...(user !== undefined && { user }),
      identityFiles,
      jump,
      transport: transportSetting?.value ?? DEFAULT_TRANSPORT,
      logPath: logPathSetting?.value ?? DEFAULT_LOG_PATH,
      groups: groupOrder.map((g) => g.name).filter((g) => g !== 'all'),
      tags: [...tags].sort(),
      vars,
      from,
      origin: { file: raw.file, ...(host.line !== undefined && { line: host.line }) },
    };
  };

  /** One ProxyJump hop → the hops to reach it (its own chain first) and itself. */
  const resolveHop = (
    spec: string,
    host: RawHost,
    inheritedKeys: string[],
    trail: string[],
  ): JumpHost[] | null => {
    const parsed = parseJumpSpec(spec);
    if (!parsed) {
      errors.push(
        issue(
          host.line,
          `jump host "${spec}" of "${host.name}" is not [user@]host[:port]`,
          'write it as bastion, ops@bastion or ops@bastion:2222',
          'jump',
        ),
      );
      return null;
    }
    const inventoryHost = rawHosts.get(parsed.host);
    if (inventoryHost) {
      const target = resolveHost(inventoryHost);
      if (target === null) return null;
      const hop: JumpHost = {
        name: spec,
        address: target.address,
        port: parsed.port ?? target.port,
        ...((parsed.user ?? target.user) !== undefined && { user: (parsed.user ?? target.user)! }),
        identityFiles: target.identityFiles,
      };
      return [...target.jump, hop];
    }
    if (trail.includes(parsed.host)) {
      errors.push(
        issue(
          host.line,
          `jump hosts loop: ${[...trail, parsed.host].join(' → ')}`,
          'break the loop in the ssh config ProxyJump lines',
          'jump',
        ),
      );
      return null;
    }
    const ssh = context.ssh.lookup(parsed.host);
    const address = ssh.hostName ?? parsed.host;
    if (!isUsableAddress(address)) {
      errors.push(
        issue(
          host.line,
          `jump host "${spec}" of "${host.name}" has no usable address`,
          'name an inventory host or a host name / IP address',
          'jump',
        ),
      );
      return null;
    }
    const port = parsed.port ?? ssh.port ?? DEFAULT_PORT;
    const user = parsed.user ?? ssh.user;
    const ownJump = ssh.jump !== undefined && ssh.jump[0]?.toLowerCase() !== 'none' ? ssh.jump : [];
    // A hop unknown to the ssh config's IdentityFile tries the target's keys: the common one-key-for-the-fleet case.
    const identityFiles =
      ssh.identityFiles.length === 0
        ? inheritedKeys
        : ssh.identityFiles.map(
            (p) =>
              expandIdentityPath(
                p,
                {
                  host: address,
                  originalHost: parsed.host,
                  port,
                  remoteUser: user ?? '',
                  jump: ownJump.join(','),
                },
                context.local,
                context.local.cwd,
              ).path,
          );
    const before: JumpHost[] = [];
    for (const sub of ownJump) {
      const hops = resolveHop(sub, host, inheritedKeys, [...trail, parsed.host]);
      if (hops === null) return null;
      before.push(...hops);
    }
    return [...before, { name: spec, address, port, ...(user !== undefined && { user }), identityFiles }];
  };

  const hosts: InventoryHost[] = [];
  for (const host of raw.hosts) {
    const resolvedHost = resolveHost(host);
    if (resolvedHost) hosts.push(resolvedHost);
  }
  if (errors.length > 0) return { errors, warnings };
  return { value: { hosts, groups: graph.output }, errors, warnings };
}

function callerSettings(defaults: InventoryDefaults | undefined): HostSettings {
  const s: HostSettings = {};
  if (!defaults) return s;
  if (defaults.port !== undefined) s.port = defaults.port;
  if (defaults.user !== undefined) s.user = defaults.user;
  if (defaults.identityFiles !== undefined) s.identityFiles = [...defaults.identityFiles];
  if (defaults.jump !== undefined) s.jump = [...defaults.jump];
  if (defaults.transport !== undefined) s.transport = defaults.transport;
  if (defaults.logPath !== undefined) s.logPath = defaults.logPath;
  if (defaults.tags !== undefined) s.tags = [...defaults.tags];
  return s;
}

interface GroupGraph {
  readonly output: Map<string, InventoryGroup>;
  readonly cycles: string[][];
  /** The host's groups (ancestors and `all` included), highest precedence first, with their tie rank. */
  precedence(host: RawHost, rule: RawInventory['groupPrecedence']): Array<{ name: string; rank: number }>;
}

/** Adds the implicit `all` and `ungrouped`, finds loops, and knows each group's parents and depth. */
function buildGroupGraph(raw: RawInventory): GroupGraph {
  const output = new Map<string, { children: string[]; hosts: string[] }>();
  for (const [name, g] of raw.groups) output.set(name, { children: [...g.children], hosts: [...g.hosts] });
  if (!output.has('all')) output.set('all', { children: [], hosts: [] });
  if (!output.has('ungrouped')) output.set('ungrouped', { children: [], hosts: [] });
  const ungrouped = output.get('ungrouped')!;
  for (const host of raw.hosts) {
    const named = host.groups.filter((g) => g !== 'all' && g !== 'ungrouped');
    if (named.length === 0 && !ungrouped.hosts.includes(host.name)) ungrouped.hosts.push(host.name);
  }
  const all = output.get('all')!;
  const isChild = new Set([...output.values()].flatMap((g) => g.children));
  for (const name of output.keys())
    if (name !== 'all' && !isChild.has(name) && !all.children.includes(name)) all.children.push(name);

  const parents = new Map<string, string[]>();
  for (const [name, g] of output) {
    for (const child of g.children) parents.set(child, [...(parents.get(child) ?? []), name]);
  }

  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const depth = new Map<string, number>([['all', 0]]);
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(name)), name]);
      return;
    }
    if (state.get(name) === 'done') return;
    state.set(name, 'visiting');
    for (const child of output.get(name)?.children ?? []) visit(child, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of output.keys()) visit(name, []);
  if (cycles.length === 0) {
    // Ansible's Group.depth: the longest path from `all`.
    const order: string[] = [];
    const seen = new Set<string>();
    const topo = (name: string): void => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const child of output.get(name)?.children ?? []) topo(child);
      order.unshift(name);
    };
    topo('all');
    for (const name of order) {
      for (const child of output.get(name)?.children ?? []) {
        depth.set(child, Math.max(depth.get(child) ?? 0, (depth.get(name) ?? 0) + 1));
      }
    }
  }
  const definitionOrder = new Map([...output.keys()].map((name, i) => [name, i]));

  return {
    output,
    cycles,
    precedence(host, rule) {
      const direct = host.groups.length > 0 ? host.groups : ['ungrouped'];
      const distance = new Map<string, number>();
      let frontier = direct.filter((g) => output.has(g));
      for (const g of frontier) distance.set(g, 1);
      for (let d = 2; frontier.length > 0; d++) {
        const next: string[] = [];
        for (const g of frontier) {
          for (const parent of parents.get(g) ?? []) {
            if (distance.has(parent)) continue;
            distance.set(parent, d);
            next.push(parent);
          }
        }
        frontier = next;
      }
      if (!distance.has('all')) distance.set('all', Number.MAX_SAFE_INTEGER);
      const names = [...distance.keys()];
      if (rule === 'ansible') {
        // Ansible's sort_groups: (priority, depth, name) ascending, later overriding earlier → reverse for "first wins".
        const priority = (n: string): number => raw.groups.get(n)?.priority ?? 1;
        names.sort(
          (a, b) =>
            priority(a) - priority(b) || depth.get(a)! - depth.get(b)! || (a < b ? -1 : a > b ? 1 : 0),
        );
        return names.reverse().map((name) => ({ name, rank: 0 }));
      }
      names.sort(
        (a, b) => distance.get(a)! - distance.get(b)! || definitionOrder.get(a)! - definitionOrder.get(b)!,
      );
      return names.map((name) => ({ name, rank: distance.get(name)! }));
    },
  };
}
