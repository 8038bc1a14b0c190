/**
 * The inventory entry point: file(s) → `Inventory`, with every issue as a value.
 *
 * Format detection (documented in inventory/README.md):
 *  1. `.yaml`, `.yml`, `.json`: YAML. A top-level `auditsweep:` key makes it native; a top-level `all:`, or
 *     top-level groups holding `hosts:` / `children:` / `vars:`, makes it Ansible YAML; anything else is an error.
 *  2. `.ini`: Ansible INI.
 *  3. Any other name (`hosts`, `inventory`, `*.cfg`): Ansible INI when the first meaningful line starts with `[`;
 *     otherwise YAML when it parses as rule 1 would accept; otherwise Ansible INI (a bare list of hosts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SweepError } from '../errors.js';
import { loadAnsibleIni, loadAnsibleYaml } from './load-ansible.js';
import { loadNative } from './load-native.js';
import { resolveInventory } from './resolve.js';
import { type LocalContext, localContext, readSshConfig } from './ssh-config.js';
import type {
  Checked,
  Inventory,
  InventoryDefaults,
  InventoryFormat,
  InventoryGroup,
  InventoryHost,
  InventoryIssue,
  InventorySource,
  RawInventory,
} from './types.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export interface LoadInventoryOptions {
  /** The OpenSSH client config: a path, or `false` for none. Default: `~/.ssh/config` when it exists. */
  readonly sshConfigFile?: string | false;
  /** Settings from the auditsweep config, below the inventory's own `defaults:`. */
  readonly defaults?: InventoryDefaults;
  /** Local facts for `~` and ssh's `%` tokens; taken from the OS when not given (tests pin them). */
  readonly local?: Partial<LocalContext>;
}

/**
 * Loads one inventory file, or several merged (a host may be defined in only one of them; groups of the same
 * name are merged), resolved against the ssh client config.
 */
export async function loadInventory(
  files: string | readonly string[],
  options: LoadInventoryOptions = {},
): Promise<Checked<Inventory>> {
  const list = typeof files === 'string' ? [files] : [...files];
  const errors: InventoryIssue[] = [];
  const warnings: InventoryIssue[] = [];
  if (list.length === 0) {
    return {
      errors: [
        {
          file: '',
          message: 'no inventory file given',
          fix: 'pass an inventory file, e.g. inventory/example.yaml',
        },
      ],
      warnings,
    };
  }
  const local = localContext(options.local);
  const ssh = await readSshConfig(options.sshConfigFile, local);
  errors.push(...ssh.errors);
  warnings.push(...ssh.warnings);

  const sources: InventorySource[] = [];
  const hosts: InventoryHost[] = [];
  const groups = new Map<string, { children: string[]; hosts: string[] }>();
  const hostOrigin = new Map<string, InventoryHost>();

  for (const file of list) {
    const raw = await readInventoryFile(file);
    errors.push(...raw.errors);
    warnings.push(...raw.warnings);
    if (!raw.value || !ssh.value) continue;
    const resolved = resolveInventory(raw.value, {
      ssh: ssh.value,
      local,
      ...(options.defaults !== undefined && { defaults: options.defaults }),
    });
    errors.push(...resolved.errors);
    warnings.push(...resolved.warnings);
    if (!resolved.value) continue;
    sources.push({ file, format: raw.value.format });
    for (const host of resolved.value.hosts) {
      const first = hostOrigin.get(host.name);
      if (first) {
        errors.push({
          file,
          ...(host.origin.line !== undefined && { line: host.origin.line }),
          key: host.name,
          message: `host "${host.name}" is also defined in ${where(first.origin)}`,
          fix: 'define each host in one inventory file, or give one of them another name (and its real address)',
        });
        continue;
      }
      hostOrigin.set(host.name, host);
      hosts.push(host);
    }
    for (const [name, group] of resolved.value.groups) {
      const merged = groups.get(name) ?? { children: [], hosts: [] };
      for (const child of group.children) if (!merged.children.includes(child)) merged.children.push(child);
      for (const h of group.hosts) if (!merged.hosts.includes(h)) merged.hosts.push(h);
      groups.set(name, merged);
    }
  }
  if (errors.length > 0 || sources.length === 0) return { errors, warnings };
  const first = sources[0]!;
  return {
    value: {
      file: first.file,
      format: first.format,
      sources,
      hosts,
      groups: groups as Map<string, InventoryGroup>,
    },
    errors,
    warnings,
  };
}

function where(origin: InventoryHost['origin']): string {
  return origin.line === undefined ? origin.file : `${origin.file} (line ${origin.line})`;
}

/** Reads and parses one file into its raw form, detecting the format. */
export async function readInventoryFile(file: string): Promise<Checked<RawInventory>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      errors: [
        {
          file,
          message: `cannot read the inventory: ${(err as Error).message}`,
          fix: 'check the inventory path (relative paths are relative to the current folder)',
        },
      ],
      warnings: [],
    };
  }
  return parseInventoryText(text, file);
}

/** Parses inventory text; `file` decides the format by extension (see the rule at the top of this file). */
export function parseInventoryText(text: string, file: string): Checked<RawInventory> {
  const detected = detectFormat(text, file);
  if (!detected.format) return { errors: detected.errors, warnings: detected.warnings };
  if (detected.format === 'ansible-ini') return loadAnsibleIni(text, file);
  const source = detected.source!;
  return detected.format === 'native'
    ? loadNative(source, file, detected.warnings)
    : loadAnsibleYaml(source, file, detected.warnings);
}

const YAML_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Which loader a file needs; YAML files come back parsed so they are parsed once. */
export function detectFormat(
  text: string,
  file: string,
): { format?: InventoryFormat; source?: YamlSource; errors: InventoryIssue[]; warnings: InventoryIssue[] } {
  const extension = path.extname(file).toLowerCase();
  if (extension === '.ini') return { format: 'ansible-ini', errors: [], warnings: [] };
  const isYamlName = YAML_EXTENSIONS.has(extension);
  if (!isYamlName) {
    const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
    if (firstLine === undefined || firstLine.trim().startsWith('['))
      return { format: 'ansible-ini', errors: [], warnings: [] };
  }
  const parsed = parseYamlSource(text, file);
  if (!parsed.source) {
    return isYamlName
      ? { errors: parsed.errors, warnings: parsed.warnings }
      : { format: 'ansible-ini', errors: [], warnings: [] };
  }
  const shape = yamlShape(parsed.source.data);
  if (shape === 'native' || shape === 'ansible-yaml') {
    return { format: shape, source: parsed.source, errors: [], warnings: parsed.warnings };
  }
  if (!isYamlName) return { format: 'ansible-ini', errors: [], warnings: [] };
  const issue: InventoryIssue =
    shape === 'native-unmarked'
      ? {
          file,
          line: 1,
          key: 'auditsweep',
          message: 'this looks like a native inventory, but it has no `auditsweep:` key',
          fix: 'add `auditsweep: 1` as the first line (Ansible YAML inventories start with `all:` instead)',
        }
      : {
          file,
          line: 1,
          message:
            'not an inventory: expected a native inventory (`auditsweep: 1`) or an Ansible one (`all:` with hosts/children/vars)',
          fix: 'start the file with `auditsweep: 1` (see inventory/README.md) or with `all:` for Ansible',
        };
  return { errors: [issue], warnings: parsed.warnings };
}

function yamlShape(data: unknown): InventoryFormat | 'native-unmarked' | 'unknown' {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'unknown';
  const record = data as Record<string, unknown>;
  if ('auditsweep' in record) return 'native';
  if ('all' in record) return 'ansible-yaml';
  const values = Object.values(record);
  const groupLike = (v: unknown): boolean =>
    v === null ||
    (typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.keys(v as object).every((k) => ['hosts', 'children', 'vars'].includes(k)));
  const hasGroupKeys = values.some(
    (v) => typeof v === 'object' && v !== null && ['hosts', 'children', 'vars'].some((k) => k in v),
  );
  if (hasGroupKeys && values.every(groupLike)) return 'ansible-yaml';
  if (['groups', 'hosts', 'defaults'].some((k) => k in record)) return 'native-unmarked';
  return 'unknown';
}

/** One line per issue: `file:line: key: message (fix: …)`. */
export function formatIssue(issue: InventoryIssue): string {
  const place = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  const key = issue.key === undefined ? '' : ` ${issue.key}:`;
  const fix = issue.fix === undefined ? '' : ` (fix: ${issue.fix})`;
  return `${place}:${key} ${issue.message}${fix}`;
}

/** The loaded inventory, or a SweepError INVENTORY_INVALID listing every error, for callers that throw. */
export function inventoryOrThrow(result: Checked<Inventory>): Inventory {
  if (result.value && result.errors.length === 0) return result.value;
  const lines = result.errors.map(formatIssue);
  throw new SweepError('INVENTORY_INVALID', `inventory is invalid:\n${lines.join('\n')}`, {
    cause: result.errors,
  });
}
