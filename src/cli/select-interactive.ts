/**
 * The interactive sweep: `auditsweep sweep` at a terminal without a selection asks which hosts (a searchable,
 * paginated picker where groups and tags tick their members, the last selection ticked already), the review
 * window, whether to mail and to whom, and shows a summary to confirm before anything is contacted.
 * Every question goes through prompts.ts; this file turns inventory data into choices and answers into flags.
 */
import { parseWindow } from '../config/window.js';
import { SweepError } from '../errors.js';
import {
  globToRegExp,
  type HostSelection,
  type SelectableInventory,
  selectHosts,
} from '../inventory/select.js';
import { askText, askYesNo, type PickChoice, type PromptIO, pickHosts, say } from './prompts.js';

export interface SweepWizardDefaults {
  /** Window start offered (`7d` when unset). */
  readonly since?: string;
  /** Window end offered (empty = now). */
  readonly until?: string;
  /** Recipients offered (from --mail-to or the config file); mail is offered as "yes" when there are some. */
  readonly mailTo?: readonly string[];
  /** Output folder shown in the summary (default: a new `reports/<run-id>` folder). */
  readonly outDir?: string;
  /** For tests: the clock the window is resolved against. */
  readonly now?: number;
}

export interface SweepWizardOptions {
  /** Ticked at the start (see last-selection.ts); names that no longer exist are ignored. */
  readonly lastSelection?: HostSelection | undefined;
  readonly defaults?: SweepWizardDefaults;
  /** Where to ask (tests pass a fake terminal). */
  readonly io?: PromptIO;
  /** Picker lines shown at once (default 12). */
  readonly pageSize?: number;
  /**
   * Whether a mail can go out (an SMTP server or a dry run is configured). False skips the mail question and
   * says why: recipients asked for and then refused for want of a server would waste the person's time.
   * Default true.
   */
  readonly mailAvailable?: boolean;
  /**
   * The hosts that may be offered at all: `--exclude` and `--tag` from the command line or the config file
   * (`include` empty = every host). Hosts outside it are not offered, the picker says how many were left out, and
   * the answers never select them. An `--exclude` or `--tag` naming nothing that exists is a USAGE error.
   */
  readonly within?: HostSelection | undefined;
}

export interface SweepWizardAnswers {
  /** The ticked hosts as patterns for `selectHosts` / `runSweep` (groups when wholly ticked, else names). */
  readonly selection: HostSelection;
  /** The ticked host names, in inventory order. */
  readonly hosts: string[];
  /** As typed (`7d`, `2026-11-16`); valid for `parseWindow`. */
  readonly since: string;
  /** Absent: now. */
  readonly until?: string;
  /** Empty: no mail. */
  readonly mailTo: string[];
  /** False when the summary was answered "no": connect to nothing. */
  readonly confirmed: boolean;
}

const FILTER_HELP = 'filter by name, group or tag; globs (web-*, db-0[1-3]) and tag=NAME work too';

/** Every group's hosts (nested children included), by group name; `ungrouped` and empty groups left out. */
function groupMembers(inventory: SelectableInventory): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const name of inventory.groups.keys()) {
    if (name === 'ungrouped') continue;
    const hosts = selectHosts(inventory, { include: [name] }).value?.map((h) => h.name) ?? [];
    if (hosts.length > 0) members.set(name, hosts);
  }
  return members;
}

/**
 * The picker's search over an inventory: a filter ('' = everything) → group lines, tag lines, then hosts, in
 * inventory order. A filter matches a name, a group or a tag by substring (case-insensitive); with `*?[` it is a
 * glob; `tag=NAME` matches tags only.
 */
export function hostSearch(inventory: SelectableInventory): (term: string) => PickChoice[] {
  const groups = groupMembers(inventory);
  const tags = new Map<string, string[]>();
  for (const h of inventory.hosts) {
    for (const t of h.tags) tags.set(t, [...(tags.get(t) ?? []), h.name]);
  }
  const groupLines: PickChoice[] = [...groups].map(([name, members]) => ({
    key: `group:${name}`,
    label: `group: ${name}`,
    members,
  }));
  const tagLines: PickChoice[] = [...tags]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, members]) => ({ key: `tag:${name}`, label: `tag: ${name}`, members }));
  const hostLines = inventory.hosts.map((h) => ({
    host: h,
    line: {
      key: `host:${h.name}`,
      label: h.name,
      ...(h.groups.length + h.tags.length > 0
        ? { hint: [...h.groups, ...h.tags.map((t) => `#${t}`)].join(' ') }
        : {}),
      members: [h.name],
    } satisfies PickChoice,
  }));

  return (raw) => {
    const term = raw.trim();
    if (term === '') return [...groupLines, ...tagLines, ...hostLines.map((h) => h.line)];
    let matches: (text: string) => boolean;
    let tagsOnly = false;
    if (term.toLowerCase().startsWith('tag=')) {
      const t = term.slice(4).toLowerCase();
      matches = (text) => text.toLowerCase().includes(t);
      tagsOnly = true;
    } else if (/[*?[]/.test(term)) {
      const re = new RegExp(globToRegExp(term).source, 'i');
      matches = (text) => re.test(text);
    } else {
      const t = term.toLowerCase();
      matches = (text) => text.toLowerCase().includes(t);
    }
    const tagMatch = (name: string) => matches(name);
    return [
      ...(tagsOnly ? [] : groupLines.filter((g) => matches(g.key.slice(6)))),
      ...tagLines.filter((t) => tagMatch(t.key.slice(4))),
      ...hostLines
        .filter(({ host }) =>
          tagsOnly
            ? host.tags.some(tagMatch)
            : matches(host.name) || host.groups.some(matches) || host.tags.some(tagMatch),
        )
        .map((h) => h.line),
    ];
  };
}

/**
 * The host names of `selection`, tolerating terms that no longer resolve (a remembered group since deleted):
 * each term is resolved on its own and the broken ones are dropped.
 */
export function resolveRemembered(inventory: SelectableInventory, selection: HostSelection): Set<string> {
  const whole = selectHosts(inventory, selection);
  if (whole.value) return new Set(whole.value.map((h) => h.name));
  const picked = new Set<string>();
  for (const term of selection.include ?? []) {
    for (const h of selectHosts(inventory, { include: [term] }).value ?? []) picked.add(h.name);
  }
  for (const term of selection.exclude ?? []) {
    for (const h of selectHosts(inventory, { include: [term.replace(/^!/, '')] }).value ?? [])
      picked.delete(h.name);
  }
  return picked;
}

/**
 * Ticked host names → the shortest selection that means exactly them: `all`, whole groups plus single hosts, or
 * `all` minus a few hosts, whichever is shorter. Groups are kept as names, so a remembered selection follows
 * the inventory as groups grow.
 */
export function compactSelection(inventory: SelectableInventory, names: Iterable<string>): HostSelection {
  const ticked = new Set(names);
  const everyone = inventory.hosts.map((h) => h.name);
  if (everyone.every((n) => ticked.has(n))) return { include: ['all'], exclude: [] };

  const covered = new Set<string>();
  const include: string[] = [];
  const groups = [...groupMembers(inventory)]
    .filter(([name]) => name !== 'all')
    .sort(([, a], [, b]) => b.length - a.length);
  for (const [name, members] of groups) {
    if (members.every((m) => ticked.has(m)) && members.some((m) => !covered.has(m))) {
      include.push(name);
      for (const m of members) covered.add(m);
    }
  }
  for (const n of everyone) if (ticked.has(n) && !covered.has(n)) include.push(n);

  const left = everyone.filter((n) => !ticked.has(n));
  if (left.length < include.length) return { include: ['all'], exclude: left };
  return { include, exclude: [] };
}

/** `a@x, b@y` → the addresses, or the message saying which one is not an address. */
export function parseRecipients(text: string): string[] | string {
  const list = text
    .split(/[,\s]+/)
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const bad = list.find((a) => !/^[^\s@<>,]+@[^\s@<>,]+$/.test(a));
  return bad === undefined ? list : `${bad} is not an email address`;
}

function windowMessage(since: string, until: string, now: number | undefined): true | string {
  try {
    parseWindow(since, until === '' ? undefined : until, now);
    return true;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function listed(items: readonly string[], max: number): string {
  return items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')}, … (+${items.length - max})`;
}

/**
 * The part of the inventory the picker may offer: the hosts `within` selects (all when unset), with the groups
 * as they are (a group's members outside it are simply not there), and the reason the others are left out.
 */
function offeredScope(
  inventory: SelectableInventory,
  within: HostSelection | undefined,
): { inventory: SelectableInventory; reason: string } {
  const exclude = within?.exclude ?? [];
  const tags = within?.tags ?? [];
  const include = within?.include ?? [];
  if (include.length === 0 && exclude.length === 0 && tags.length === 0) return { inventory, reason: '' };
  const scoped = selectHosts(inventory, { include: include.length > 0 ? include : ['all'], exclude, tags });
  if (scoped.value === undefined || scoped.errors.length > 0) {
    throw new SweepError(
      'USAGE',
      scoped.errors.map((e) => `${e.message}${e.fix ? ` (${e.fix})` : ''}`).join('\n'),
    );
  }
  const reason = [
    ...(include.length > 0 ? [`outside ${include.join(', ')}`] : []),
    ...(exclude.length > 0 ? [`excluded ${exclude.join(', ')}`] : []),
    ...(tags.length > 0 ? [`without tag ${tags.join(' and ')}`] : []),
  ].join('; ');
  if (scoped.value.length === 0) {
    throw new SweepError('USAGE', `no host is left to offer (${reason}): loosen --exclude or --tag`);
  }
  return { inventory: { hosts: scoped.value, groups: inventory.groups }, reason };
}

/**
 * Asks for everything a sweep needs that was not given on the command line: hosts, window, mail, and a final
 * confirmation after a summary. Call only at a terminal (`canPrompt()`); ctrl-c rejects with a USAGE error.
 */
export async function runSweepWizard(
  inventory: SelectableInventory,
  options: SweepWizardOptions = {},
): Promise<SweepWizardAnswers> {
  const io = options.io ?? {};
  const defaults = options.defaults ?? {};
  const scope = offeredScope(inventory, options.within);
  const pool = scope.inventory;
  const remembered = options.lastSelection
    ? resolveRemembered(pool, options.lastSelection)
    : new Set<string>();
  const left = inventory.hosts.length - pool.hosts.length;

  const picked = await pickHosts(
    {
      message:
        remembered.size > 0 ? `Hosts to sweep (last selection ticked: ${remembered.size})` : 'Hosts to sweep',
      total: pool.hosts.length,
      search: hostSearch(pool),
      initial: remembered,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      filterHelp: left > 0 ? `${FILTER_HELP}\n${left} hosts not offered: ${scope.reason}` : FILTER_HELP,
    },
    io,
  );
  const pickedSet = new Set(picked);
  const hosts = pool.hosts.map((h) => h.name).filter((n) => pickedSet.has(n));
  // Over the whole inventory: exactly the ticked hosts, whatever --exclude and --tag are next time.
  const selection = compactSelection(inventory, hosts);

  const since = await askText(
    {
      message: 'Review window starts (7d, 24h, 2026-11-16 or an ISO time):',
      default: defaults.since ?? '7d',
      validate: (v) => windowMessage(v.trim(), defaults.until ?? '', defaults.now),
    },
    io,
  );
  const until = (
    await askText(
      {
        message: 'Review window ends (empty = now):',
        default: defaults.until ?? '',
        validate: (v) => windowMessage(since.trim(), v.trim(), defaults.now),
      },
      io,
    )
  ).trim();

  let mailTo: string[] = [];
  const offered = defaults.mailTo ?? [];
  if (options.mailAvailable === false) {
    say(
      [
        'Mail: not configured, so the reports stay on disk (pass --mail-to ADDR with --smtp URL or --mail-dry-run, or set `mail:` in the config file).',
      ],
      io,
    );
  } else if (await askYesNo('Email the reports?', offered.length > 0, io)) {
    const answer = await askText(
      {
        message: 'Recipients (comma-separated):',
        ...(offered.length > 0 ? { default: offered.join(', ') } : {}),
        validate: (v) => {
          const r = parseRecipients(v);
          return typeof r === 'string' ? r : r.length > 0 ? true : 'give at least one address';
        },
      },
      io,
    );
    mailTo = parseRecipients(answer) as string[];
  }

  const window = parseWindow(since.trim(), until === '' ? undefined : until, defaults.now);
  const iso = (ms: number | undefined) =>
    ms === undefined ? 'now' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  say(
    [
      '',
      'About to sweep:',
      `  hosts    ${hosts.length} of ${pool.hosts.length}${left > 0 ? ` offered (${left} not: ${scope.reason})` : ''}: ${listed(hosts, 5)}`,
      `           selection ${listed(selection.include ?? [], 6)}${(selection.exclude ?? []).length > 0 ? ` except ${listed(selection.exclude ?? [], 6)}` : ''}`,
      `  window   ${iso(window.since)} → ${iso(window.until)}`,
      `  output   ${defaults.outDir ?? 'a new folder under reports/'}`,
      `  mail     ${mailTo.length > 0 ? `to ${mailTo.join(', ')}` : 'no'}`,
      '',
    ],
    io,
  );
  const confirmed = await askYesNo(
    `Connect to ${hosts.length} host${hosts.length === 1 ? '' : 's'} and sweep?`,
    true,
    io,
  );
  return {
    selection,
    hosts,
    since: since.trim(),
    ...(until === '' ? {} : { until }),
    mailTo,
    confirmed,
  };
}
