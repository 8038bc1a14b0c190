/**
 * Ansible inventories as reviewers already have them (INI and YAML) → `RawInventory`.
 * Follows ansible's `ini` and `yaml` inventory plugins: groups, `children`, `vars`, host ranges, `host:port`,
 * the implicit `all` and `ungrouped` groups, and variables merged the way Ansible merges them.
 * Connection variables become settings (docs: inventory/README.md "Ansible inventories"); the rest stays in `vars`.
 */
import path from 'node:path';
import { didYouMean } from './did-you-mean.js';
import { expandHostRange } from './host-range.js';
import { isPasswordKey, passwordIssue } from './secrets.js';
import { shellWords } from './shell-words.js';
import { jumpFromProxyCommand, splitJumpChain } from './ssh-config.js';
import type {
  Checked,
  HostSettings,
  InventoryIssue,
  RawGroup,
  RawHost,
  RawInventory,
  Transport,
} from './types.js';
import { VAULT_VALUE, type YamlSource } from './yaml-source.js';

interface AnsibleVar {
  readonly value: unknown;
  readonly line: number | undefined;
}

type Vars = Map<string, AnsibleVar>;

/** Group names may not hold whitespace or the selection operators. */
const GROUP_NAME = /^[^\s,:!&~[\]]+$/;

class AnsibleBuilder {
  readonly groups = new Map<string, { children: string[]; hosts: string[]; vars: Vars; line?: number }>();
  readonly hosts = new Map<string, { groups: string[]; vars: Vars; line?: number }>();
  readonly errors: InventoryIssue[] = [];
  readonly warnings: InventoryIssue[] = [];

  constructor(readonly file: string) {
    this.group('all', undefined);
    this.group('ungrouped', undefined);
  }

  issue(line: number | undefined, message: string, fix?: string, key?: string): InventoryIssue {
    return {
      file: this.file,
      ...(line !== undefined && { line }),
      ...(key !== undefined && { key }),
      message,
      ...(fix !== undefined && { fix }),
    };
  }

  group(name: string, line: number | undefined): boolean {
    if (!GROUP_NAME.test(name)) {
      this.errors.push(
        this.issue(
          line,
          `group name "${name}" is not usable`,
          'use a name without spaces or the characters , : ! & ~ [ ]',
        ),
      );
      return false;
    }
    if (!this.groups.has(name))
      this.groups.set(name, {
        children: [],
        hosts: [],
        vars: new Map(),
        ...(line !== undefined && { line }),
      });
    return true;
  }

  child(parent: string, child: string, line: number | undefined): void {
    if (!this.group(parent, line) || !this.group(child, line)) return;
    const children = this.groups.get(parent)!.children;
    if (!children.includes(child)) children.push(child);
  }

  /** `pattern` may hold ranges and a `:port`; `vars` are the host's own (later assignments win, as in Ansible). */
  host(pattern: string, group: string, line: number | undefined, vars: Vars): void {
    const address = splitHostPort(pattern);
    if (!address) {
      this.errors.push(
        this.issue(
          line,
          `"${pattern}" is not a host name`,
          'write it as NAME, NAME:PORT or a range like web[01:20]',
        ),
      );
      return;
    }
    const expanded = expandHostRange(address.name);
    if (!expanded.ok) {
      this.errors.push(this.issue(line, expanded.error, expanded.fix, pattern));
      return;
    }
    if (address.port !== undefined) vars.set('ansible_port', { value: address.port, line });
    for (const name of expanded.names) {
      let host = this.hosts.get(name);
      if (!host) {
        host = { groups: [], vars: new Map(), ...(line !== undefined && { line }) };
        this.hosts.set(name, host);
      }
      for (const [key, value] of vars) host.vars.set(key, value);
      if (group !== 'all' && !host.groups.includes(group)) {
        host.groups.push(group);
        this.groups.get(group)!.hosts.push(name);
      }
    }
  }

  finish(format: 'ansible-ini' | 'ansible-yaml'): Checked<RawInventory> {
    const errors = this.errors;
    const warnings = this.warnings;
    const hosts: RawHost[] = [];
    for (const [name, host] of this.hosts) {
      // Ansible's reconcile_inventory: `ungrouped` holds exactly the hosts that are in no other group.
      const named = host.groups.filter((g) => g !== 'ungrouped');
      const groups = named.length > 0 ? named : ['ungrouped'];
      const ungrouped = this.groups.get('ungrouped')!;
      const listed = ungrouped.hosts.indexOf(name);
      if (named.length === 0 && listed < 0) ungrouped.hosts.push(name);
      if (named.length > 0 && listed >= 0) ungrouped.hosts.splice(listed, 1);
      const settings = this.settings(host.vars, `host "${name}"`);
      hosts.push({ name, settings, groups, ...(host.line !== undefined && { line: host.line }) });
    }
    const groups = new Map<string, RawGroup>();
    for (const [name, group] of this.groups) {
      const priorityVar = group.vars.get('ansible_group_priority');
      group.vars.delete('ansible_group_priority');
      const priority = Number(priorityVar?.value ?? 1);
      if (!Number.isInteger(priority)) {
        errors.push(
          this.issue(
            priorityVar?.line,
            `ansible_group_priority of "${name}" is not a whole number`,
            'use e.g. ansible_group_priority=10',
            'ansible_group_priority',
          ),
        );
      }
      groups.set(name, {
        name,
        children: group.children,
        hosts: group.hosts,
        settings: this.settings(group.vars, `group "${name}"`),
        priority: Number.isInteger(priority) ? priority : 1,
        ...(group.line !== undefined && { line: group.line }),
      });
    }
    if (errors.length > 0) return { errors, warnings };
    return {
      value: {
        file: this.file,
        format,
        baseDir: path.dirname(path.resolve(this.file)),
        hosts,
        groups,
        defaults: {},
        groupPrecedence: 'ansible',
      },
      errors,
      warnings,
    };
  }

  /** One layer of Ansible variables → auditsweep settings, leftovers into `vars`. */
  private settings(vars: Vars, where: string): HostSettings {
    const settings: HostSettings = {};
    const rest: Record<string, unknown> = {};
    const take = (key: string): AnsibleVar | undefined => {
      const v = vars.get(key);
      if (v === undefined) return undefined;
      if (v.value === VAULT_VALUE) {
        this.warnings.push(
          this.issue(
            v.line,
            `${where}: \`${key}\` is vault-encrypted and cannot be read; ignored`,
            `give ${key} in clear or leave it to the ssh config`,
            key,
          ),
        );
        return undefined;
      }
      if (typeof v.value === 'string' && v.value.includes('{{')) {
        this.warnings.push(
          this.issue(
            v.line,
            `${where}: \`${key}\` is a Jinja template, which auditsweep does not evaluate; ignored`,
            `give ${key} a literal value`,
            key,
          ),
        );
        return undefined;
      }
      return v;
    };
    const text = (key: string): string | undefined => {
      const v = take(key);
      if (v === undefined || v.value === null || v.value === '') return undefined;
      return String(v.value);
    };

    for (const [key, v] of vars) {
      if (isPasswordKey(key)) {
        // Never stored: not in settings, not in vars, not in the message.
        this.warnings.push({
          ...passwordIssue(this.file, key, v.line),
          message: `${where}: \`${key}\` holds a password; it is ignored (passwords are never read from an inventory)`,
        });
      }
    }

    const address = text('ansible_host') ?? text('ansible_ssh_host');
    if (address !== undefined) settings.address = address;

    for (const key of ['ansible_port', 'ansible_ssh_port']) {
      const v = take(key);
      if (v === undefined || settings.port !== undefined) continue;
      const port = Number(v.value);
      if (Number.isInteger(port) && port >= 1 && port <= 65535) settings.port = port;
      else
        this.errors.push(
          this.issue(
            v.line,
            `${where}: ${key} "${String(v.value)}" is not a port number`,
            `use a number from 1 to 65535, e.g. ${key}=2222`,
            key,
          ),
        );
    }

    const user = text('ansible_user') ?? text('ansible_ssh_user');
    if (user !== undefined) settings.user = user;

    const key = text('ansible_ssh_private_key_file') ?? text('ansible_private_key_file');
    if (key !== undefined) settings.identityFiles = [key];

    const become = take('ansible_become') ?? take('ansible_sudo');
    if (become !== undefined) {
      const on = ansibleBoolean(become.value);
      if (on === undefined) {
        this.errors.push(
          this.issue(
            become.line,
            `${where}: ansible_become "${String(become.value)}" is not a boolean`,
            'use ansible_become=true or false',
            'ansible_become',
          ),
        );
      } else {
        settings.transport = on ? 'sudo' : 'sftp';
        const method = text('ansible_become_method');
        if (on && method !== undefined && method !== 'sudo') {
          this.warnings.push(
            this.issue(
              vars.get('ansible_become_method')?.line,
              `${where}: become method "${method}" is not supported; auditsweep reads with \`sudo -n\``,
              'allow the user passwordless sudo for reading the audit log',
              'ansible_become_method',
            ),
          );
        }
      }
    }

    const transport = text('auditsweep_transport');
    if (transport !== undefined) {
      if (transport === 'sftp' || transport === 'sudo') settings.transport = transport satisfies Transport;
      else
        this.errors.push(
          this.issue(
            vars.get('auditsweep_transport')?.line,
            `${where}: auditsweep_transport "${transport}" is not sftp or sudo`,
            'use auditsweep_transport=sftp or auditsweep_transport=sudo',
            'auditsweep_transport',
          ),
        );
    }

    const logPath = text('auditsweep_log_path');
    if (logPath !== undefined) {
      if (logPath.startsWith('/')) settings.logPath = logPath;
      else
        this.errors.push(
          this.issue(
            vars.get('auditsweep_log_path')?.line,
            `${where}: auditsweep_log_path "${logPath}" is not an absolute path`,
            'give the absolute path, e.g. /var/log/audit/audit.log',
            'auditsweep_log_path',
          ),
        );
    }

    const tags = take('auditsweep_tags');
    if (tags !== undefined) {
      const list = Array.isArray(tags.value) ? tags.value.map(String) : String(tags.value).split(',');
      settings.tags = list.map((t) => t.trim()).filter((t) => t !== '');
    }

    const jump = text('auditsweep_jump');
    if (jump !== undefined) settings.jump = splitJumpChain(jump);
    else {
      for (const argsKey of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
        const args = text(argsKey);
        if (args === undefined || settings.jump !== undefined) continue;
        const parsed = jumpFromSshArgs(args);
        if (parsed.jump) settings.jump = parsed.jump;
        if (parsed.problem) {
          this.warnings.push(
            this.issue(
              vars.get(argsKey)?.line,
              `${where}: ${argsKey}: ${parsed.problem.error}`,
              parsed.problem.fix,
              argsKey,
            ),
          );
        }
      }
    }

    const connection = text('ansible_connection');
    if (connection !== undefined && !['ssh', 'smart', 'paramiko', 'paramiko_ssh'].includes(connection)) {
      this.warnings.push(
        this.issue(
          vars.get('ansible_connection')?.line,
          `${where}: ansible_connection "${connection}" is not SSH; auditsweep will still connect over SSH`,
          'leave the host out of the selection if it is not reachable over SSH',
          'ansible_connection',
        ),
      );
    }

    const used = new Set([
      'ansible_host',
      'ansible_ssh_host',
      'ansible_port',
      'ansible_ssh_port',
      'ansible_user',
      'ansible_ssh_user',
      'ansible_ssh_private_key_file',
      'ansible_private_key_file',
      'ansible_become',
      'ansible_sudo',
      'auditsweep_transport',
      'auditsweep_log_path',
      'auditsweep_tags',
      'auditsweep_jump',
    ]);
    for (const [name, v] of vars) {
      if (used.has(name) || isPasswordKey(name) || v.value === VAULT_VALUE) continue;
      rest[name] = v.value;
    }
    if (Object.keys(rest).length > 0) settings.vars = rest;
    return settings;
  }
}

/** Ansible's `boolean()`: yes/on/1/true/y/t and their opposites, any case. */
function ansibleBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (['yes', 'on', '1', 'true', 'y', 't'].includes(text)) return true;
  if (['no', 'off', '0', 'false', 'n', 'f', ''].includes(text)) return false;
  return undefined;
}

/** `-J hop`, `-o ProxyJump=…` and `-o ProxyCommand=…` (the `ssh -W` form) in an ssh argument string. */
export function jumpFromSshArgs(args: string): { jump?: string[]; problem?: { error: string; fix: string } } {
  const split = shellWords(args);
  if (!split.ok)
    return { problem: { error: `cannot split the arguments: ${split.error}`, fix: 'balance the quotes' } };
  const words = split.words;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let option: string | undefined;
    if (word === '-J') return { jump: splitJumpChain(words[i + 1] ?? '') };
    if (word.startsWith('-J')) return { jump: splitJumpChain(word.slice(2)) };
    if (word === '-o') option = words[++i];
    else if (word.startsWith('-o')) option = word.slice(2);
    if (option === undefined) continue;
    const match = /^\s*(\w+)\s*(?:=|\s)\s*(.*)$/s.exec(option);
    const name = match?.[1]?.toLowerCase();
    const value = match?.[2] ?? '';
    if (name === 'proxyjump')
      return { jump: value.toLowerCase() === 'none' ? ['none'] : splitJumpChain(value) };
    if (name === 'proxycommand') {
      if (value.toLowerCase() === 'none') return { jump: ['none'] };
      const parsed = jumpFromProxyCommand(value);
      return parsed.ok ? { jump: parsed.jump } : { problem: { error: parsed.error, fix: parsed.fix } };
    }
  }
  return {};
}

/** `host`, `host:2222`, `web[01:09]:2222`, `[2001:db8::1]:2222`, `2001:db8::1` (ansible's parse_address). */
function splitHostPort(pattern: string): { name: string; port?: number } | undefined {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(pattern);
  if (v6) return { name: v6[1]!, ...(v6[2] !== undefined && { port: Number(v6[2]) }) };
  const outside = pattern.replace(/\[[^\]]*\]/g, (m) => '_'.repeat(m.length));
  const colons = [...outside.matchAll(/:/g)].map((m) => m.index);
  if (colons.length === 0) return { name: pattern };
  if (colons.length > 1) return /^[0-9a-fA-F:.]+$/.test(pattern) ? { name: pattern } : undefined;
  const at = colons[0]!;
  const port = pattern.slice(at + 1);
  if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return { name: pattern.slice(0, at), port: Number(port) };
}

/** Ansible INI values: quoted strings lose their quotes, numbers and True/False/None become values (ast.literal_eval). */
function iniValue(text: string): unknown {
  const t = text.trim();
  const quoted = /^(['"])(.*)\1$/s.exec(t);
  if (quoted) return quoted[2]!.replace(/\\(.)/g, '$1');
  if (/^[+-]?\d+$/.test(t)) return Number(t);
  if (/^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t);
  if (t === 'True') return true;
  if (t === 'False') return false;
  if (t === 'None') return null;
  return t;
}

/** Parses an Ansible INI inventory. */
export function loadAnsibleIni(text: string, file: string): Checked<RawInventory> {
  const b = new AnsibleBuilder(file);
  let section = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  const pendingVars: Array<{ group: string; line: number }> = [];
  const pendingChildren: Array<{ parent: string; child: string; line: number }> = [];
  const declared = new Set<string>(['all', 'ungrouped']);
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const header = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(trimmed);
    if (header) {
      const [name = '', suffix, extra] = header[1]!.trim().split(':');
      if (extra !== undefined || (suffix !== undefined && suffix !== 'vars' && suffix !== 'children')) {
        b.errors.push(
          b.issue(
            line,
            `section [${header[1]}] is not a group`,
            'use [group], [group:vars] or [group:children]',
          ),
        );
        section = '';
        continue;
      }
      if (!b.group(name, line)) {
        section = '';
        continue;
      }
      section = name;
      kind = suffix === 'vars' ? 'vars' : suffix === 'children' ? 'children' : 'hosts';
      if (kind === 'vars') pendingVars.push({ group: name, line });
      else declared.add(name);
      continue;
    }
    if (section === '') continue; // inside a bad section, already reported
    if (kind === 'hosts') {
      const words = shellWords(trimmed, { comments: true });
      if (!words.ok) {
        b.errors.push(b.issue(line, `cannot read the host line: ${words.error}`, 'balance the quotes'));
        continue;
      }
      const [pattern, ...assignments] = words.words;
      if (pattern === undefined) continue;
      const vars: Vars = new Map();
      for (const assignment of assignments) {
        const eq = assignment.indexOf('=');
        if (eq <= 0) {
          b.errors.push(
            b.issue(
              line,
              `"${assignment}" after host "${pattern}" is not key=value`,
              'write variables as key=value, quoting values with spaces',
            ),
          );
          continue;
        }
        vars.set(assignment.slice(0, eq), { value: iniValue(assignment.slice(eq + 1)), line });
      }
      b.host(pattern, section, line, vars);
    } else if (kind === 'vars') {
      const eq = trimmed.indexOf('=');
      if (eq <= 0) {
        b.errors.push(
          b.issue(line, `"${trimmed}" in [${section}:vars] is not key=value`, 'write one key=value per line'),
        );
        continue;
      }
      b.groups
        .get(section)!
        .vars.set(trimmed.slice(0, eq).trim(), { value: iniValue(trimmed.slice(eq + 1)), line });
    } else {
      const child = /^(\S+)\s*(?:[#;].*)?$/.exec(trimmed)?.[1];
      if (child === undefined) {
        b.errors.push(
          b.issue(
            line,
            `"${trimmed}" in [${section}:children] is not a group name`,
            'list one group name per line',
          ),
        );
        continue;
      }
      pendingChildren.push({ parent: section, child, line });
    }
  }
  for (const { parent, child, line } of pendingChildren) {
    if (!declared.has(child)) {
      const hint = didYouMean(
        child,
        [...declared].filter((g) => g !== child),
      );
      b.warnings.push(
        b.issue(
          line,
          `group "${child}" in [${parent}:children] is defined nowhere, so it is empty`,
          hint
            ? `${hint} Otherwise add a [${child}] section.`
            : `add a [${child}] section or remove the line`,
          child,
        ),
      );
    }
    b.child(parent, child, line);
  }
  for (const { group, line } of pendingVars) {
    if (!declared.has(group) && !pendingChildren.some((p) => p.child === group)) {
      const hint = didYouMean(group, declared);
      b.warnings.push(
        b.issue(
          line,
          `[${group}:vars] sets variables for a group that has no hosts or children`,
          hint || `define [${group}] or remove the section`,
          group,
        ),
      );
    }
  }
  attachTopLevel(b);
  return b.finish('ansible-ini');
}

/** Reads a parsed Ansible YAML inventory (`all: {hosts, children, vars}`; any top-level key is a group). */
export function loadAnsibleYaml(
  source: YamlSource,
  file: string,
  warnings: InventoryIssue[] = [],
): Checked<RawInventory> {
  const b = new AnsibleBuilder(file);
  b.warnings.push(...warnings);
  const data = source.data;
  if (!isRecord(data)) {
    b.errors.push(
      b.issue(
        1,
        'an Ansible YAML inventory must be a mapping of groups',
        'start with `all:` and put `hosts:`, `children:` and `vars:` under it',
      ),
    );
    return { errors: b.errors, warnings: b.warnings };
  }
  const visitGroup = (name: string, def: unknown, keyPath: string[], parent: string | undefined): void => {
    const line = source.lineOf(keyPath);
    if (!b.group(name, line)) return;
    if (parent !== undefined) b.child(parent, name, line);
    if (def === null || def === undefined) return;
    if (!isRecord(def)) {
      b.errors.push(
        b.issue(
          line,
          `group "${name}" must be a mapping with hosts, children or vars`,
          `write "${name}:" followed by indented "hosts:", "children:" or "vars:"`,
          keyPath.join('.'),
        ),
      );
      return;
    }
    for (const [key, value] of Object.entries(def)) {
      const at = [...keyPath, key];
      const keyLine = source.lineOf(at);
      if (key === 'hosts') {
        if (value === null) continue;
        if (!isRecord(value)) {
          b.errors.push(
            b.issue(
              keyLine,
              `hosts of group "${name}" must be a mapping`,
              'write each host as "name:" on its own line (not as a "- name" list)',
              at.join('.'),
            ),
          );
          continue;
        }
        for (const [pattern, hostVars] of Object.entries(value)) {
          const hostPath = [...at, pattern];
          const vars: Vars = new Map();
          if (isRecord(hostVars)) {
            for (const [k, v] of Object.entries(hostVars))
              vars.set(k, { value: v, line: source.lineOf([...hostPath, k]) });
          } else if (hostVars !== null) {
            b.errors.push(
              b.issue(
                source.lineOf(hostPath),
                `host "${pattern}" must have a mapping of variables or nothing`,
                `write "${pattern}:" alone or with indented "key: value" lines`,
                hostPath.join('.'),
              ),
            );
            continue;
          }
          b.host(pattern, name, source.lineOf(hostPath), vars);
        }
      } else if (key === 'vars') {
        if (value === null) continue;
        if (!isRecord(value)) {
          b.errors.push(
            b.issue(
              keyLine,
              `vars of group "${name}" must be a mapping`,
              'write "key: value" lines under vars:',
              at.join('.'),
            ),
          );
          continue;
        }
        for (const [k, v] of Object.entries(value))
          b.groups.get(name)!.vars.set(k, { value: v, line: source.lineOf([...at, k]) });
      } else if (key === 'children') {
        if (value === null) continue;
        if (!isRecord(value)) {
          b.errors.push(
            b.issue(
              keyLine,
              `children of group "${name}" must be a mapping of groups`,
              'write each child group as "name:" on its own line',
              at.join('.'),
            ),
          );
          continue;
        }
        for (const [child, childDef] of Object.entries(value))
          visitGroup(child, childDef, [...at, child], name);
      } else {
        const hint = didYouMean(key, ['hosts', 'children', 'vars']);
        b.warnings.push(
          b.issue(
            keyLine,
            `group "${name}" has the unexpected key "${key}"; skipped (as Ansible does)`,
            hint || 'a group holds only hosts, children and vars',
            at.join('.'),
          ),
        );
      }
    }
  };
  for (const [name, def] of Object.entries(data)) visitGroup(name, def, [name], undefined);
  attachTopLevel(b);
  return b.finish('ansible-yaml');
}

/** Groups nobody lists as a child hang under `all`, like in Ansible. */
function attachTopLevel(b: AnsibleBuilder): void {
  const isChild = new Set([...b.groups.values()].flatMap((g) => g.children));
  for (const name of b.groups.keys()) {
    if (name !== 'all' && !isChild.has(name)) b.child('all', name, undefined);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
