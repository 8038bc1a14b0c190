/**
 * The one importer of inquirer (@inquirer/prompts and @inquirer/core, the Inquirer.js prompts; v7 / core 10 run
 * on Node 20). Every question the CLI asks goes through here, so tests swap this seam (or drive it through
 * `PromptIO` streams) and unattended runs never reach it.
 */
import {
  createPrompt,
  isDownKey,
  isEnterKey,
  isSpaceKey,
  isTabKey,
  isUpKey,
  makeTheme,
  useKeypress,
  useMemo,
  usePagination,
  usePrefix,
  useState,
} from '@inquirer/core';
import { confirm, input, password } from '@inquirer/prompts';
import { SweepError } from '../errors.js';

/**
 * Where a prompt reads keys and draws. Unset: the process's stdin and stdout. Tests pass a fake terminal
 * (test/helpers/tty-prompt.ts); the same object reaches every question of a wizard.
 */
export interface PromptIO {
  readonly input?: NodeJS.ReadableStream;
  readonly output?: NodeJS.WritableStream;
  readonly signal?: AbortSignal;
}

/** True when a person can answer: both stdin and stdout are terminals. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/**
 * Asks a yes/no question; off a terminal it never asks and fails with a message naming `flag`, the switch that
 * answers the question in advance.
 */
export async function confirmOrFail(message: string, flag: string): Promise<boolean> {
  if (!canPrompt()) {
    throw new SweepError('USAGE', `not at a terminal, so nothing can be confirmed: pass ${flag} to proceed`);
  }
  return confirm({ message, default: false });
}

/** Asks for a secret (a key passphrase, an SSH password) without echoing it; undefined off a terminal. */
export async function askSecret(message: string): Promise<string | undefined> {
  if (!canPrompt()) return undefined;
  const answer = await password({ message, mask: false });
  return answer === '' ? undefined : answer;
}

/**
 * Ctrl-C (or an aborted signal) at a prompt becomes a USAGE error: nothing was contacted, exit code 2.
 * Inquirer rejects with ExitPromptError / AbortPromptError / CancelPromptError; they are matched by name so the
 * error classes stay inside this file.
 */
async function cancellable<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'ExitPromptError' || name === 'AbortPromptError' || name === 'CancelPromptError') {
      throw new SweepError('USAGE', 'cancelled at the prompt; no host was contacted', { cause: err });
    }
    throw err;
  }
}

/** Asks a yes/no question at `io` (a terminal the caller has checked with `canPrompt`). */
export function askYesNo(message: string, defaultAnswer: boolean, io: PromptIO = {}): Promise<boolean> {
  return cancellable(confirm({ message, default: defaultAnswer }, io));
}

/** Asks for one line of text; `validate` returns true or the message to show (the question is asked again). */
export function askText(
  options: { message: string; default?: string; validate?: (value: string) => true | string },
  io: PromptIO = {},
): Promise<string> {
  return cancellable(
    input(
      {
        message: options.message,
        ...(options.default === undefined ? {} : { default: options.default }),
        ...(options.validate ? { validate: options.validate } : {}),
      },
      io,
    ),
  );
}

/** Writes lines (a summary before a question) to the prompt's output. */
export function say(lines: readonly string[], io: PromptIO = {}): void {
  (io.output ?? process.stdout).write(`${lines.join('\n')}\n`);
}

/** How a host key can be checked out of band, by key type (the file sshd keeps it in). */
function hostKeyFile(keyType: string): string {
  if (keyType.includes('ed25519')) return '/etc/ssh/ssh_host_ed25519_key.pub';
  if (keyType.startsWith('ecdsa')) return '/etc/ssh/ssh_host_ecdsa_key.pub';
  if (keyType.includes('rsa')) return '/etc/ssh/ssh_host_rsa_key.pub';
  return '/etc/ssh/ssh_host_*_key.pub';
}

/**
 * Shows a host key that no known_hosts file knows (the fingerprint, as `SHA256:…`, and how to check it on the
 * host's console) and asks whether to trust it. Default no; off a terminal it never asks and answers no.
 */
export async function askTrustUnknownHost(
  host: { readonly name: string; readonly address?: string; readonly port?: number },
  fingerprint: string,
  keyType: string,
  io: PromptIO = {},
): Promise<boolean> {
  if (io.input === undefined && !canPrompt()) return false;
  const where =
    host.address === undefined || (host.address === host.name && (host.port ?? 22) === 22)
      ? host.name
      : `${host.name} (${host.address}:${host.port ?? 22})`;
  say(
    [
      '',
      `The host key of ${where} is not in any known_hosts file.`,
      `  key type     ${keyType}`,
      `  fingerprint  ${fingerprint}`,
      'Check it before trusting it, on the host itself (console, or a session you already trust):',
      `  ssh-keygen -lf ${hostKeyFile(keyType)}`,
      'The fingerprints must be identical. If you cannot check, answer no: the host is skipped, not trusted.',
    ],
    io,
  );
  return askYesNo(`Trust this ${keyType} key for ${host.name} and remember it?`, false, io);
}

/** One line of the host picker: a group, a tag or a host, and the hosts that ticking it selects. */
export interface PickChoice {
  /** Unique among the choices shown at once (`group:web`, `host:web-01`). */
  readonly key: string;
  /** What is shown (`group: web`, `web-01`). */
  readonly label: string;
  /** Shown dimmed after the label (a host's groups). */
  readonly hint?: string;
  /** The host names this line selects; a host line has its own name only. */
  readonly members: readonly string[];
}

export interface HostPickerConfig {
  readonly message: string;
  /** Hosts in the inventory, for the counter. */
  readonly total: number;
  /** The lines matching a filter ('' = everything), best first. Called on each keystroke: keep it fast. */
  readonly search: (term: string) => readonly PickChoice[];
  /** Host names ticked at the start (the last selection). */
  readonly initial?: Iterable<string>;
  /** Lines shown at once; the list scrolls. Default 12. */
  readonly pageSize?: number;
  /** One line saying what a filter may be, shown under the list. */
  readonly filterHelp?: string;
}

type Mark = 'all' | 'some' | 'none';

function markOf(members: readonly string[], selected: ReadonlySet<string>): Mark {
  let n = 0;
  for (const m of members) if (selected.has(m)) n++;
  return n === 0 ? 'none' : n === members.length ? 'all' : 'some';
}

/**
 * A searchable, paginated checkbox over hosts: typing filters, ↑↓ / PgUp PgDn move, space ticks the line (a
 * group or tag ticks all its members; a second press unticks them), ctrl-a ticks every host shown, ⏎ ends.
 * Only one page is drawn, so it stays quick with thousands of hosts. Resolves to the ticked host names.
 */
const hostPicker = createPrompt<string[], HostPickerConfig>((config, done) => {
  const theme = makeTheme();
  const pageSize = config.pageSize ?? 12;
  const [status, setStatus] = useState<'idle' | 'done'>('idle');
  const [term, setTerm] = useState('');
  const [active, setActive] = useState(0);
  const [selected, setSelected] = useState<ReadonlySet<string>>(() => new Set(config.initial ?? []));
  const [error, setError] = useState<string | undefined>(undefined);
  const prefix = usePrefix({ status, theme });
  const choices = useMemo(() => config.search(term), [term]);
  const current = Math.min(active, Math.max(0, choices.length - 1));

  const toggle = (members: readonly string[]) => {
    const next = new Set(selected);
    if (markOf(members, selected) === 'all') for (const m of members) next.delete(m);
    else for (const m of members) next.add(m);
    setSelected(next);
  };

  useKeypress((key, rl) => {
    setError(undefined);
    // Keys that are commands, not text: put the filter back as it was (readline has already edited it).
    const restoreLine = () => {
      rl.clearLine(0);
      rl.write(term);
    };
    if (isEnterKey(key)) {
      if (selected.size === 0) {
        setError('Tick at least one host or group (space), or press ctrl-c to stop.');
        rl.write(term);
        return;
      }
      setStatus('done');
      done([...selected]);
    } else if (isSpaceKey(key) || isTabKey(key)) {
      restoreLine();
      const choice = choices[current];
      if (choice) toggle(choice.members);
    } else if (key.ctrl && key.name === 'a') {
      restoreLine();
      toggle([...new Set(choices.flatMap((c) => c.members))]);
    } else if (isUpKey(key) || isDownKey(key)) {
      restoreLine();
      if (choices.length > 0) {
        setActive((current + (isUpKey(key) ? -1 : 1) + choices.length) % choices.length);
      }
    } else if (key.name === 'pageup' || key.name === 'pagedown') {
      restoreLine();
      const step = key.name === 'pageup' ? -pageSize : pageSize;
      setActive(Math.min(Math.max(0, current + step), Math.max(0, choices.length - 1)));
    } else if (key.name === 'escape') {
      rl.clearLine(0);
      setTerm('');
      setActive(0);
    } else if (rl.line !== term) {
      setTerm(rl.line);
      setActive(0);
    }
  });

  const message = theme.style.message(config.message, status);
  if (status === 'done') {
    return `${prefix} ${message} ${theme.style.answer(`${selected.size} host${selected.size === 1 ? '' : 's'}`)}`;
  }

  const page = usePagination({
    items: choices,
    active: current,
    pageSize,
    loop: false,
    renderItem({ item, isActive }) {
      const mark = markOf(item.members, selected);
      const box = mark === 'all' ? '◉' : mark === 'some' ? '◐' : '◯';
      const count =
        item.members.length === 1 && item.key.startsWith('host:')
          ? ''
          : ` (${item.members.length} host${item.members.length === 1 ? '' : 's'}${mark === 'some' ? `, ${item.members.filter((m) => selected.has(m)).length} ticked` : ''})`;
      const text = `${isActive ? '❯' : ' '} ${box} ${item.label}${count}`;
      const hint = item.hint ? ` ${theme.style.help(item.hint)}` : '';
      return `${isActive ? theme.style.highlight(text) : text}${hint}`;
    },
  });

  const header = `${prefix} ${message} ${theme.style.help('filter:')} ${term}`;
  const counter = theme.style.help(
    `${selected.size} of ${config.total} hosts ticked · ${choices.length} line${choices.length === 1 ? '' : 's'} match`,
  );
  const keys = theme.style.help(
    '↑↓ PgUp/PgDn move · space tick · ctrl-a tick all shown · esc clear filter · ⏎ done',
  );
  const body = [
    counter,
    choices.length === 0 ? theme.style.error('Nothing matches this filter.') : page,
    error ? theme.style.error(error) : '',
    config.filterHelp ? theme.style.help(config.filterHelp) : '',
    keys,
  ]
    .filter((l) => l !== '')
    .join('\n');
  return [header, body];
});

/**
 * Asks which hosts to use with the searchable picker (see `hostPicker`); resolves to the ticked host names in
 * no particular order.
 */
export function pickHosts(config: HostPickerConfig, io: PromptIO = {}): Promise<string[]> {
  return cancellable(hostPicker(config, io));
}
