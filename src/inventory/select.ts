/**
 * Host selection, Ansible `--limit` style, as a pure function of an inventory and a selection.
 *
 * A pattern holds terms separated by `,` or `:` (outside `[...]`). A term is a group name (its nested children
 * included), a host name, `all` / `*`, a glob over host and group names (`web-*`, `db-0[1-3]`), `tag=NAME`, or
 * `~REGEX`. Plain terms are united, `&term` intersects, `!term` excludes: `web:&prod:!web-03`.
 * Naming a group, host or tag that does not exist is an error ("did you mean"), never a silent empty result.
 */
import { didYouMean } from './did-you-mean.js';
import type { Checked, Inventory, InventoryHost } from './types.js';

export interface HostSelection {
  /** Patterns to select; none (or empty) selects every host. */
  readonly include?: readonly string[];
  /** Patterns to leave out, with or without a leading `!`. */
  readonly exclude?: readonly string[];
  /** A host must carry every one of these tags. */
  readonly tags?: readonly string[];
}

export interface SelectionIssue {
  /** The term (or tag) the issue is about, as written. */
  readonly pattern: string;
  readonly message: string;
  readonly fix?: string;
}

export type SelectableInventory = Pick<Inventory, 'hosts' | 'groups'>;

/** The selected hosts, in inventory order; errors when a term names nothing that exists. */
export function selectHosts(
  inventory: SelectableInventory,
  selection: HostSelection = {},
): Checked<InventoryHost[], SelectionIssue> {
  const errors: SelectionIssue[] = [];
  const warnings: SelectionIssue[] = [];
  const hostNames = inventory.hosts.map((h) => h.name);
  const hostSet = new Set(hostNames);
  const groupNames = [...inventory.groups.keys()];
  const allTags = new Set(inventory.hosts.flatMap((h) => h.tags));

  const groupMembers = memberResolver(inventory, hostSet);

  const terms: Array<{ op: '+' | '&' | '!'; body: string; written: string }> = [];
  for (const pattern of selection.include ?? []) {
    for (const term of splitPattern(pattern)) {
      const op = term.startsWith('!') ? '!' : term.startsWith('&') ? '&' : '+';
      terms.push({ op, body: op === '+' ? term : term.slice(1).trim(), written: term });
    }
  }
  for (const pattern of selection.exclude ?? []) {
    for (const term of splitPattern(pattern)) {
      terms.push({ op: '!', body: term.replace(/^!/, '').trim(), written: term });
    }
  }

  const resolveTerm = (body: string, written: string, excluding: boolean): Set<string> | undefined => {
    if (body === '') {
      errors.push({
        pattern: written,
        message: `"${written}" has an operator but no name`,
        fix: 'write e.g. "web:&prod:!web-03"',
      });
      return undefined;
    }
    if (body === 'all' || body === '*') return new Set(hostNames);
    if (body.startsWith('tag=')) {
      const tag = body.slice(4);
      if (!allTags.has(tag)) {
        const hint = didYouMean(tag, allTags);
        errors.push({
          pattern: written,
          message: `no host has the tag "${tag}"`,
          fix: hint || `known tags: ${[...allTags].sort().join(', ') || '(none)'}`,
        });
        return undefined;
      }
      return new Set(inventory.hosts.filter((h) => h.tags.includes(tag)).map((h) => h.name));
    }
    let matcher: RegExp | undefined;
    if (body.startsWith('~')) {
      try {
        matcher = new RegExp(body.slice(1));
      } catch (err) {
        errors.push({
          pattern: written,
          message: `"${body}" is not a regular expression: ${(err as Error).message}`,
          fix: 'fix the expression after "~"',
        });
        return undefined;
      }
    } else if (/[*?[]/.test(body)) {
      matcher = globToRegExp(body);
    }
    if (matcher) {
      const found = new Set<string>();
      for (const name of hostNames) if (matcher.test(name)) found.add(name);
      for (const name of groupNames) if (matcher.test(name)) for (const h of groupMembers(name)) found.add(h);
      if (found.size === 0) {
        const issue = {
          pattern: written,
          message: `"${body}" matches no host or group`,
          fix: 'check the pattern against `auditsweep inventory` output',
        };
        if (excluding) warnings.push(issue);
        else errors.push(issue);
      }
      return found;
    }
    const isGroup = inventory.groups.has(body);
    const isHost = hostSet.has(body);
    if (!isGroup && !isHost) {
      const hint = didYouMean(body, [...hostNames, ...groupNames]);
      errors.push({
        pattern: written,
        message: `"${body}" is neither a group nor a host in the inventory`,
        fix: hint || 'use a group or host name from the inventory, a glob like "web-*", or tag=NAME',
      });
      return undefined;
    }
    const found = new Set<string>(isGroup ? groupMembers(body) : []);
    if (isHost) found.add(body);
    return found;
  };

  let base: Set<string> | undefined;
  const intersections: Set<string>[] = [];
  const excluded = new Set<string>();
  for (const { op, body, written } of terms) {
    const found = resolveTerm(body, written, op === '!');
    if (!found) continue;
    if (op === '+') base = new Set([...(base ?? []), ...found]);
    else if (op === '&') intersections.push(found);
    else for (const name of found) excluded.add(name);
  }

  for (const tag of selection.tags ?? []) {
    if (!allTags.has(tag)) {
      const hint = didYouMean(tag, allTags);
      errors.push({
        pattern: tag,
        message: `no host has the tag "${tag}"`,
        fix: hint || `known tags: ${[...allTags].sort().join(', ') || '(none)'}`,
      });
    }
  }
  if (errors.length > 0) return { errors, warnings };

  const selected = inventory.hosts.filter(
    (h) =>
      (base === undefined || base.has(h.name)) &&
      intersections.every((s) => s.has(h.name)) &&
      !excluded.has(h.name) &&
      (selection.tags ?? []).every((t) => h.tags.includes(t)),
  );
  if (selected.length === 0) {
    warnings.push({
      pattern: [
        ...(selection.include ?? []),
        ...(selection.exclude ?? []).map((e) => `!${e.replace(/^!/, '')}`),
      ].join(','),
      message: 'the selection matches no host',
      fix: 'loosen the intersections (&), exclusions (!) or tags',
    });
  }
  return { value: selected, errors, warnings };
}

/** `web:&prod,!db-[01:03]` → `['web', '&prod', '!db-[01:03]']`: splits on `,` and `:` outside brackets. */
export function splitPattern(pattern: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of pattern) {
    if (c === '[') depth++;
    if (c === ']') depth = Math.max(0, depth - 1);
    if ((c === ',' || c === ':') && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/** Shell-style glob → anchored RegExp: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Hosts of a group and of all its nested children (memoized; loops are rejected at load). */
function memberResolver(
  inventory: SelectableInventory,
  hostSet: Set<string>,
): (group: string) => Set<string> {
  const memo = new Map<string, Set<string>>();
  const members = (group: string, trail: Set<string>): Set<string> => {
    const known = memo.get(group);
    if (known) return known;
    const found = new Set<string>();
    if (trail.has(group)) return found;
    const g = inventory.groups.get(group);
    if (group === 'all') for (const h of hostSet) found.add(h);
    for (const h of g?.hosts ?? []) if (hostSet.has(h)) found.add(h);
    for (const child of g?.children ?? [])
      for (const h of members(child, new Set([...trail, group]))) found.add(h);
    memo.set(group, found);
    return found;
  };
  return (group) => members(group, new Set());
}
