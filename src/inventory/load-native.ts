/**
 * The native YAML inventory → `RawInventory`. Schema first (zod), then the structure: nested groups, host
 * ranges, extra memberships, and one rule for repeats — a host or group may appear in several places, but a
 * setting may be given in one place only.
 */
import path from 'node:path';
import type { z } from 'zod';
import { didYouMean } from './did-you-mean.js';
import { expandHostRange, hasHostRange } from './host-range.js';
import {
  FIX_BY_KEY,
  GROUP_KEYS,
  HOST_KEYS,
  type NativeGroup,
  type NativeHost,
  nativeInventorySchema,
  SETTING_KEYS,
  TOP_KEYS,
} from './schema.js';
import { isPasswordKey, passwordIssue } from './secrets.js';
import type { Checked, HostSettings, InventoryIssue, RawGroup, RawHost, RawInventory } from './types.js';
import type { YamlPath, YamlSource } from './yaml-source.js';

/** Group and host names are selection terms, so they may not hold the pattern operators `,` `:` `!` `&` `~`. */
const GROUP_NAME = /^[A-Za-z0-9_][\w.-]*$/;
const HOST_NAME = /^[A-Za-z0-9_[](?:[^\s,:!&~[\]]|\[[^\]]*\])*$/;

/** Validates a parsed native inventory; `file` names it in issues and anchors relative identity paths. */
export function loadNative(
  source: YamlSource,
  file: string,
  warnings: InventoryIssue[] = [],
): Checked<RawInventory> {
  const errors: InventoryIssue[] = [];
  const at = (keyPath: YamlPath, message: string, fix?: string): InventoryIssue => {
    const line = source.lineOf(keyPath);
    return {
      file,
      ...(line !== undefined && { line }),
      ...(keyPath.length > 0 && { key: keyPath.join('.') }),
      message,
      ...(fix !== undefined && { fix }),
    };
  };

  const passwordPaths = new Set<string>();
  for (const { path: keyPath, key, line } of source.keys()) {
    if (isPasswordKey(key)) {
      passwordPaths.add(keyPath.join('.'));
      errors.push(passwordIssue(file, keyPath.join('.'), line));
    }
  }

  const result = nativeInventorySchema.safeParse(source.data, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) errors.push(...describeIssue(issue, at, passwordPaths));
    return { errors, warnings };
  }
  if (errors.length > 0) return { errors, warnings };

  const builder = new NativeBuilder(file, at, source.lineOf);
  const data = result.data;
  for (const [name, group] of Object.entries(data.groups ?? {}))
    builder.addGroup(name, group, ['groups', name], []);
  for (const [name, host] of Object.entries(data.hosts ?? {}))
    builder.addHost(name, host, ['hosts', name], undefined);
  builder.finish();
  errors.push(...builder.errors);
  warnings.push(...builder.warnings);
  if (errors.length > 0) return { errors, warnings };
  return {
    value: {
      file,
      format: 'native',
      baseDir: path.dirname(path.resolve(file)),
      hosts: builder.hosts,
      groups: builder.groups,
      defaults: toSettings(data.defaults ?? {}),
      groupPrecedence: 'nearest',
    },
    errors,
    warnings,
  };
}

type At = (keyPath: YamlPath, message: string, fix?: string) => InventoryIssue;

function describeIssue(issue: z.core.$ZodIssue, at: At, passwordPaths: Set<string>): InventoryIssue[] {
  const keyPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const key = String(keyPath.at(-1) ?? '');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(keyPath);
    return issue.keys
      .filter((k) => !passwordPaths.has([...keyPath, k].join('.')))
      .map((k) => {
        const hint = didYouMean(k, known);
        const perHost =
          k === 'address' && keyPath.length > 0 ? ' `address` belongs on each host, not on a group.' : '';
        return at(
          [...keyPath, k],
          `unknown key \`${k}\``,
          `${hint ? `${hint} ` : ''}${perHost ? `${perHost.trim()} ` : ''}Keys allowed here: ${known.join(', ')}`,
        );
      });
  }
  const fix = FIX_BY_KEY[key] ?? FIX_BY_KEY[String(keyPath.at(-2) ?? '')];
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message =
        issue.input === undefined
          ? `\`${key}\` is missing`
          : `\`${key}\` must be ${article(issue.expected)}, not ${describeValue(issue.input)}`;
      break;
    case 'too_big':
    case 'too_small':
      message = `\`${key}\` is out of range: ${issue.message.replace(/^Too (big|small): /, '')}`;
      break;
    case 'invalid_value':
      message = `\`${key}\` must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
      break;
    case 'invalid_union':
      message = `\`${key}\` must be a string or a list of strings`;
      break;
    case 'invalid_format':
      message = `\`${key}\` ${issue.message}`;
      break;
    default:
      message = `\`${key}\`: ${issue.message}`;
  }
  return [at(keyPath, message, fix)];
}

function article(expected: string): string {
  const words: Record<string, string> = {
    record: 'a mapping',
    object: 'a mapping',
    array: 'a list',
    int: 'a whole number',
  };
  return words[expected] ?? (/^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`);
}

function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Which keys the schema accepts at a path, for "did you mean". */
function knownKeysAt(keyPath: ReadonlyArray<string | number>): string[] {
  if (keyPath.length === 0) return TOP_KEYS;
  if (keyPath.length === 1 && keyPath[0] === 'defaults') return SETTING_KEYS;
  const parent = keyPath.at(-2);
  if (parent === 'hosts') return HOST_KEYS;
  if (parent === 'groups' || parent === 'children') return GROUP_KEYS;
  return SETTING_KEYS;
}

type NativeSettings = Omit<NativeGroup, 'hosts' | 'children'>;

function asList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

function toSettings(s: NativeSettings & { address?: string | undefined }): HostSettings {
  const settings: HostSettings = {};
  if (s.address !== undefined) settings.address = s.address;
  if (s.port !== undefined) settings.port = s.port;
  if (s.user !== undefined) settings.user = s.user;
  if (s.identityFile !== undefined) settings.identityFiles = asList(s.identityFile)!;
  if (s.jump !== undefined) settings.jump = asList(s.jump)!.flatMap((j) => j.split(',').map((x) => x.trim()));
  if (s.transport !== undefined) settings.transport = s.transport;
  if (s.logPath !== undefined) settings.logPath = s.logPath;
  if (s.tags !== undefined) settings.tags = asList(s.tags)!;
  if (s.vars !== undefined) settings.vars = s.vars;
  return settings;
}

class NativeBuilder {
  readonly hosts: RawHost[] = [];
  readonly groups = new Map<string, RawGroup>();
  readonly errors: InventoryIssue[] = [];
  readonly warnings: InventoryIssue[] = [];
  private readonly hostIndex = new Map<string, RawHost & { settingLines: Map<string, YamlPath> }>();
  private readonly groupSettingPaths = new Map<string, Map<string, YamlPath>>();
  private readonly extraMemberships: Array<{ host: string; group: string; keyPath: YamlPath }> = [];

  constructor(
    private readonly file: string,
    private readonly at: At,
    private readonly lineOf: (keyPath: YamlPath) => number | undefined,
  ) {}

  addGroup(name: string, group: NativeGroup | null, keyPath: YamlPath, ancestors: string[]): void {
    if (!GROUP_NAME.test(name)) {
      this.errors.push(
        this.at(
          keyPath,
          `group name "${name}" is not allowed`,
          'use letters, digits, "_", "." and "-" (start with a letter or digit)',
        ),
      );
      return;
    }
    if (name === 'all' || name === 'ungrouped') {
      this.errors.push(
        this.at(
          keyPath,
          `"${name}" is an implicit group and cannot be defined`,
          'put settings for every host under `defaults:` and rename the group',
        ),
      );
      return;
    }
    if (ancestors.includes(name)) {
      this.errors.push(
        this.at(
          keyPath,
          `group "${name}" is nested inside itself (${[...ancestors, name].join(' → ')})`,
          'remove the inner mention',
        ),
      );
      return;
    }
    let raw = this.groups.get(name);
    if (!raw) {
      raw = { name, children: [], hosts: [], settings: {}, priority: 1 };
      const line = this.lineOf(keyPath);
      if (line !== undefined) raw.line = line;
      this.groups.set(name, raw);
      this.groupSettingPaths.set(name, new Map());
    }
    const parent = ancestors.at(-1);
    if (parent !== undefined) {
      const parentGroup = this.groups.get(parent)!;
      if (!parentGroup.children.includes(name)) parentGroup.children.push(name);
    }
    if (!group) return;
    const { hosts, children, ...settings } = group;
    this.mergeInto(
      raw.settings,
      toSettings(settings),
      this.groupSettingPaths.get(name)!,
      keyPath,
      `group "${name}"`,
    );
    for (const [hostName, host] of Object.entries(hosts ?? {})) {
      this.addHost(hostName, host, [...keyPath, 'hosts', hostName], name);
    }
    for (const [childName, child] of Object.entries(children ?? {})) {
      this.addGroup(childName, child, [...keyPath, 'children', childName], [...ancestors, name]);
    }
  }

  addHost(pattern: string, host: NativeHost, keyPath: YamlPath, group: string | undefined): void {
    if (!HOST_NAME.test(pattern)) {
      this.errors.push(
        this.at(
          keyPath,
          `host name "${pattern}" is not allowed`,
          'use a name without spaces or the selection operators , : ! & ~ (put a real address in `address:`)',
        ),
      );
      return;
    }
    const expanded = expandHostRange(pattern);
    if (!expanded.ok) {
      this.errors.push(this.at(keyPath, expanded.error, expanded.fix));
      return;
    }
    if (hasHostRange(pattern) && host?.address !== undefined) {
      this.errors.push(
        this.at(
          [...keyPath, 'address'],
          `host range "${pattern}" has one \`address\` for ${expanded.names.length} hosts`,
          'remove `address` (each name is then its own address) or list the hosts one by one',
        ),
      );
      return;
    }
    const { groups: extraGroups, ...settings } = host ?? {};
    for (const name of expanded.names) {
      let raw = this.hostIndex.get(name);
      if (!raw) {
        const line = this.lineOf(keyPath);
        raw = {
          name,
          settings: {},
          groups: [],
          settingLines: new Map(),
          ...(line !== undefined && { line }),
        };
        this.hostIndex.set(name, raw);
        this.hosts.push(raw);
      }
      if (group !== undefined && !raw.groups.includes(group)) {
        raw.groups.push(group);
        this.groups.get(group)!.hosts.push(name);
      }
      this.mergeInto(raw.settings, toSettings(settings), raw.settingLines, keyPath, `host "${name}"`);
      for (const [i, g] of (extraGroups ?? []).entries()) {
        this.extraMemberships.push({ host: name, group: g, keyPath: [...keyPath, 'groups', i] });
      }
    }
  }

  /** Copies settings in; a key already set elsewhere with another value is an error naming both places. */
  private mergeInto(
    target: HostSettings,
    incoming: HostSettings,
    seen: Map<string, YamlPath>,
    keyPath: YamlPath,
    what: string,
  ): void {
    for (const [key, value] of Object.entries(incoming) as Array<[keyof HostSettings, unknown]>) {
      const previous = seen.get(key);
      if (previous !== undefined && JSON.stringify(target[key]) !== JSON.stringify(value)) {
        const firstLine = this.lineOf(previous);
        this.errors.push(
          this.at(
            [...keyPath, key === 'identityFiles' ? 'identityFile' : key],
            `${what} sets \`${key}\` again with a different value${firstLine === undefined ? '' : ` (first set at line ${firstLine})`}`,
            'set it in one place; elsewhere mention the name with no settings',
          ),
        );
        continue;
      }
      (target as Record<string, unknown>)[key] = value;
      seen.set(key, [...keyPath, key === 'identityFiles' ? 'identityFile' : key]);
    }
  }

  /** Extra memberships (host `groups:`), then checks that need the whole file. */
  finish(): void {
    for (const { host, group, keyPath } of this.extraMemberships) {
      const target = this.groups.get(group);
      if (!target) {
        const hint = didYouMean(group, this.groups.keys());
        this.errors.push(
          this.at(
            keyPath,
            `host "${host}" is put in group "${group}", which is not defined`,
            `${hint ? `${hint} ` : ''}define the group under \`groups:\` or fix the name`,
          ),
        );
        continue;
      }
      const raw = this.hostIndex.get(host)!;
      if (!raw.groups.includes(group)) raw.groups.push(group);
      if (!target.hosts.includes(host)) target.hosts.push(host);
    }
    for (const name of this.groups.keys()) {
      if (this.hostIndex.has(name)) {
        const group = this.groups.get(name)!;
        this.warnings.push({
          file: this.file,
          ...(group.line !== undefined && { line: group.line }),
          key: name,
          message: `"${name}" is both a group and a host; selecting "${name}" selects both`,
          fix: 'rename one of them',
        });
      }
    }
  }
}
