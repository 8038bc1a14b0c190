/**
 * The user's OpenSSH client config (ssh_config(5)), read with the ssh-config package — the one importer of it.
 * Gives, per host, what `ssh HOST` would use for HostName, User, Port, IdentityFile and ProxyJump, and knows
 * ssh's path rules: `~` and `%` tokens, `[user@]host[:port]` hops, and the `ssh -W %h:%p` ProxyCommand idiom.
 * `Include` is followed; `Match exec` is never run (loading an inventory must not execute commands).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import SSHConfig, { type Line, LineType } from 'ssh-config';
import { shellWords } from './shell-words.js';
import type { Checked, InventoryIssue } from './types.js';

/** Facts about the local side that ssh's tokens refer to. Tests pass fixed values. */
export interface LocalContext {
  /** `~` and `%d`. */
  readonly home: string;
  /** `%u`. */
  readonly user: string;
  /** `%i`. */
  readonly uid: number;
  /** `%l` (`%L` is its first label). */
  readonly hostname: string;
  /** Relative IdentityFile paths from the ssh config are relative to this, as for ssh itself. */
  readonly cwd: string;
}

export function localContext(overrides: Partial<LocalContext> = {}): LocalContext {
  let user = process.env.USER ?? '';
  let uid = -1;
  try {
    const info = os.userInfo();
    user = info.username;
    uid = info.uid;
  } catch {
    // os.userInfo() throws for a uid without a passwd entry (containers); $USER is the best we have.
  }
  return { home: os.homedir(), user, uid, hostname: os.hostname(), cwd: process.cwd(), ...overrides };
}

/** What the ssh config says about one host. Paths and hops are as written; tokens are expanded by the resolver. */
export interface SshConfigEntry {
  readonly hostName?: string;
  readonly user?: string;
  readonly port?: number;
  readonly identityFiles: string[];
  /** Hops as written; `['none']` when the config says `ProxyJump none`. */
  readonly jump?: string[];
  /** Directives that were present but unusable (bad Port, a ProxyCommand that is not `ssh -W`). */
  readonly problems: Array<{ key: string; message: string; fix: string }>;
}

export interface SshClientConfig {
  /** The file read, absent when no config was read. */
  readonly file?: string;
  lookup(host: string): SshConfigEntry;
}

export const NO_SSH_CONFIG: SshClientConfig = { lookup: () => ({ identityFiles: [], problems: [] }) };

/** Include nesting deeper than this is a loop (OpenSSH's READCONF_MAX_DEPTH is 16). */
const MAX_INCLUDE_DEPTH = 16;

/**
 * Reads the ssh client config. `undefined` means `~/.ssh/config` (absent is fine), a path means that file
 * (absent is an error), `false` means none at all.
 */
export async function readSshConfig(
  file: string | false | undefined,
  local: LocalContext,
): Promise<Checked<SshClientConfig>> {
  if (file === false) return { value: NO_SSH_CONFIG, errors: [], warnings: [] };
  const explicit = file !== undefined;
  const target = explicit ? path.resolve(local.cwd, expandTilde(file, local.home)) : defaultConfigPath(local);
  const warnings: InventoryIssue[] = [];
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { value: NO_SSH_CONFIG, errors: [], warnings: [] };
    }
    return {
      errors: [
        {
          file: target,
          message: `cannot read the ssh client config: ${(err as Error).message}`,
          fix: 'check the path given as the ssh config file, or leave it out to use ~/.ssh/config',
        },
      ],
      warnings,
    };
  }
  const parsed = SSHConfig.parse(text);
  const config = await expandIncludes(parsed, target, local, 0, warnings);
  return { value: sshConfigFrom(config, target), errors: [], warnings };
}

/** Parses config text (no Include support: there is no file to be relative to). */
export function parseSshConfig(text: string, file = '<ssh config>'): SshClientConfig {
  return sshConfigFrom(SSHConfig.parse(text), file);
}

function defaultConfigPath(local: LocalContext): string {
  return path.join(local.home, '.ssh', 'config');
}

function sshConfigFrom(config: SSHConfig, file: string): SshClientConfig {
  return {
    file,
    lookup(host) {
      const computed = config.compute(host, { ignoreCase: true, matchExec: false });
      const problems: SshConfigEntry['problems'] = [];
      const single = (key: string): string | undefined => {
        const value = computed[key];
        const text = Array.isArray(value) ? value[0] : value;
        return text === undefined || text === '' ? undefined : text;
      };
      let port: number | undefined;
      const portText = single('port');
      if (portText !== undefined) {
        port = Number(portText);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          problems.push({
            key: 'Port',
            message: `Port "${portText}" for ${host} is not a port number; ignored`,
            fix: 'use a number from 1 to 65535',
          });
          port = undefined;
        }
      }
      const identity = computed.identityfile;
      const identityFiles = (Array.isArray(identity) ? identity : identity ? [identity] : []).filter(
        (f) => f.toLowerCase() !== 'none',
      );
      let jump: string[] | undefined;
      const proxyJump = single('proxyjump');
      const proxyCommand = single('proxycommand');
      if (proxyJump !== undefined) {
        jump = proxyJump.toLowerCase() === 'none' ? ['none'] : splitJumpChain(proxyJump);
      } else if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== 'none') {
        const parsed = jumpFromProxyCommand(proxyCommand);
        if (parsed.ok) jump = parsed.jump;
        else
          problems.push({
            key: 'ProxyCommand',
            message: `ProxyCommand for ${host}: ${parsed.error}`,
            fix: parsed.fix,
          });
      }
      const hostName = single('hostname');
      const user = single('user');
      return {
        ...(hostName !== undefined && {
          hostName: hostName.replace(/%(%|h)/g, (_, t) => (t === '%' ? '%' : host)),
        }),
        ...(user !== undefined && { user }),
        ...(port !== undefined && { port }),
        identityFiles,
        ...(jump !== undefined && { jump }),
        problems,
      };
    },
  };
}

async function expandIncludes(
  config: SSHConfig,
  from: string,
  local: LocalContext,
  depth: number,
  warnings: InventoryIssue[],
): Promise<SSHConfig> {
  const out = new SSHConfig();
  for (const line of config) {
    if (line.type === LineType.DIRECTIVE && /^include$/i.test(line.param)) {
      if (depth >= MAX_INCLUDE_DEPTH) {
        warnings.push({
          file: from,
          key: 'Include',
          message: 'Include nested too deeply (a loop?); stopped',
        });
        continue;
      }
      for (const target of await includeTargets(directiveValues(line), local)) {
        let text: string;
        try {
          text = await readFile(target, 'utf8');
        } catch {
          continue; // ssh silently skips Include patterns that match nothing readable
        }
        const included = await expandIncludes(SSHConfig.parse(text), target, local, depth + 1, warnings);
        out.push(...included);
      }
    } else if (line.type === LineType.DIRECTIVE && 'config' in line) {
      const inner = await expandIncludes(line.config, from, local, depth + 1, warnings);
      // An Include inside a Host block applies to that block; Host blocks of the included file cannot nest here.
      const firstSection = inner.findIndex((l) => l.type === LineType.DIRECTIVE && 'config' in l);
      if (firstSection >= 0) {
        warnings.push({
          file: from,
          key: 'Include',
          message: `Host/Match blocks included inside "${line.param} ${directiveValues(line).join(' ')}" are ignored`,
          fix: 'move that Include to the top level of the ssh config',
        });
        inner.splice(firstSection);
      }
      line.config = inner;
      out.push(line);
    } else {
      out.push(line);
    }
  }
  return out;
}

function directiveValues(line: Line): string[] {
  if (line.type !== LineType.DIRECTIVE) return [];
  return typeof line.value === 'string' ? [line.value] : line.value.map((v) => v.val);
}

/** ssh_config(5): Include paths without a leading `/` or `~` are relative to ~/.ssh; `*` and `?` glob. */
async function includeTargets(patterns: string[], local: LocalContext): Promise<string[]> {
  const targets: string[] = [];
  for (const pattern of patterns) {
    const absolute = path.resolve(path.join(local.home, '.ssh'), expandTilde(pattern, local.home));
    const base = path.basename(absolute);
    if (!/[*?]/.test(base)) {
      targets.push(absolute);
      continue;
    }
    const dir = path.dirname(absolute);
    const matcher = new RegExp(
      `^${base
        .replace(/[.+^${}()|\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    try {
      const names = (await readdir(dir)).filter((n) => matcher.test(n)).sort();
      targets.push(...names.map((n) => path.join(dir, n)));
    } catch {
      // a glob over a missing folder matches nothing, as in ssh
    }
  }
  return targets;
}

/** `~` and `~/x` → the home folder (`~user` is left alone: ssh would look the user up, we cannot). */
export function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/** Values for ssh's `%` tokens in IdentityFile, for one connection. */
export interface TokenValues {
  /** `%h`: the remote address after HostName resolution. */
  readonly host: string;
  /** `%n`: the name as given before HostName resolution. */
  readonly originalHost: string;
  readonly port: number;
  /** `%r`: the remote user ('' when unset: ssh would use the local user). */
  readonly remoteUser: string;
  /** `%j`: the ProxyJump value ('' when none). */
  readonly jump: string;
}

/**
 * Expands `~` and the IdentityFile tokens of ssh_config(5) (`%%`, `%C`, `%d`, `%h`, `%i`, `%j`, `%k`, `%L`, `%l`,
 * `%n`, `%p`, `%r`, `%u`), then makes the path absolute against `baseDir`. Unknown tokens are reported, not guessed.
 */
export function expandIdentityPath(
  p: string,
  tokens: TokenValues,
  local: LocalContext,
  baseDir: string,
): { path: string; unknown: string[] } {
  const unknown: string[] = [];
  const remoteUser = tokens.remoteUser || local.user;
  const values: Record<string, () => string> = {
    '%': () => '%',
    C: () =>
      createHash('sha1')
        .update(`${local.hostname}${tokens.host}${tokens.port}${remoteUser}${tokens.jump}`)
        .digest('hex'),
    d: () => local.home,
    h: () => tokens.host,
    i: () => String(local.uid),
    j: () => tokens.jump,
    k: () => tokens.originalHost,
    L: () => local.hostname.split('.')[0] ?? local.hostname,
    l: () => local.hostname,
    n: () => tokens.originalHost,
    p: () => String(tokens.port),
    r: () => remoteUser,
    u: () => local.user,
  };
  const expanded = expandTilde(p, local.home).replace(/%(.)/g, (whole, token: string) => {
    const value = values[token];
    if (value) return value();
    unknown.push(whole);
    return whole;
  });
  return { path: path.resolve(baseDir, expanded), unknown };
}

/** A ProxyJump hop: `[user@]host[:port]` or `ssh://[user@]host[:port]`; IPv6 in brackets. */
export interface JumpSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

export function parseJumpSpec(spec: string): JumpSpec | undefined {
  const text = spec.trim().replace(/^ssh:\/\//, '');
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  const match = /^(?:\[([^\]]+)\]|([^:[\]\s]+))(?::(\d+))?$/.exec(rest);
  if (!match || (user !== undefined && user === '')) return undefined;
  const host = match[1] ?? match[2]!;
  const port = match[3] === undefined ? undefined : Number(match[3]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { host, ...(user !== undefined && { user }), ...(port !== undefined && { port }) };
}

/** `a,b , c` → `['a', 'b', 'c']`. */
export function splitJumpChain(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** ssh options that take an argument (ssh(1) synopsis). */
const SSH_OPTIONS_WITH_ARGUMENT = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

export type ProxyCommandResult = { ok: true; jump: string[] } | { ok: false; error: string; fix: string };

/**
 * Recognises the ProxyCommand that is a jump host in disguise — `ssh [-p P] [-l U] [-J …] -W %h:%p [U@]HOST` —
 * and turns it into ProxyJump hops. Anything else (`nc`, `connect-proxy`, a custom script) is not supported.
 */
export function jumpFromProxyCommand(command: string): ProxyCommandResult {
  const unsupported = (error: string): ProxyCommandResult => ({
    ok: false,
    error,
    fix: 'use ProxyJump (or `ssh -W %h:%p JUMPHOST` as the ProxyCommand), or give the host a `jump:` setting',
  });
  const split = shellWords(command);
  if (!split.ok) return unsupported(`cannot split "${command}": ${split.error}`);
  const [program, ...args] = split.words;
  if (program === undefined || !/(^|\/)ssh$/.test(program)) {
    return unsupported(`only "ssh -W %h:%p HOST" proxy commands can be followed, not "${program ?? ''}"`);
  }
  let user: string | undefined;
  let port: string | undefined;
  let destination: string | undefined;
  let forward = false;
  const before: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('-') && arg.length >= 2) {
      const flag = arg[1]!;
      if (!SSH_OPTIONS_WITH_ARGUMENT.has(flag)) continue; // -q, -T, -A, -4 …: irrelevant here
      const value = arg.length > 2 ? arg.slice(2) : args[++i];
      if (value === undefined) return unsupported(`"${arg}" has no value`);
      if (flag === 'W') forward = true;
      else if (flag === 'p') port = value;
      else if (flag === 'l') user = value;
      else if (flag === 'J') before.push(...splitJumpChain(value));
      else if (flag === 'o') {
        const option = /^\s*(\w+)\s*[=\s]\s*(.*)$/.exec(value);
        if (option?.[1]?.toLowerCase() === 'port') port = option[2];
        else if (option?.[1]?.toLowerCase() === 'user') user = option[2];
        else if (option?.[1]?.toLowerCase() === 'proxyjump') before.push(...splitJumpChain(option[2] ?? ''));
      }
    } else if (destination === undefined) {
      destination = arg;
    } else {
      return unsupported('a remote command follows the destination; expected only "-W %h:%p HOST"');
    }
  }
  if (!forward) return unsupported('it has no "-W %h:%p"');
  if (destination === undefined) return unsupported('it names no jump host');
  const spec = parseJumpSpec(destination);
  if (!spec) return unsupported(`"${destination}" is not a host`);
  const hopUser = spec.user ?? user;
  const hopPort = spec.port ?? (port === undefined ? undefined : Number(port));
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  const hop = `${hopUser === undefined ? '' : `${hopUser}@`}${host}${hopPort === undefined ? '' : `:${hopPort}`}`;
  return { ok: true, jump: [...before, hop] };
}
