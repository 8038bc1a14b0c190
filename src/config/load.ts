/**
 * Finding and reading `auditsweep.yaml`: text → YAML with positions → secret check → schema → normalized
 * `ConfigFile` (absolute paths, lists) → cross-field rules. Every issue names the file, the line, the key and the fix.
 *
 * Where the file is looked for, first found wins: `--config FILE`, `$AUDITSWEEP_CONFIG`, `./auditsweep.yaml`,
 * `$XDG_CONFIG_HOME/auditsweep/auditsweep.yaml` (XDG_CONFIG_HOME defaults to ~/.config).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { closest } from '../inventory/did-you-mean.js';
import type { Checked, InventoryIssue } from '../inventory/types.js';
import { parseYamlSource, type YamlPath } from '../inventory/yaml-source.js';
import { type AlertRule, checkAlertRules } from '../report/alerts.js';
import {
  CONFIG_ENV,
  CONFIG_FILE_NAME,
  configFileSchema,
  FIX_BY_KEY,
  isSecretKey,
  KNOWN_KEYS,
  type LogFormat,
  SMTP_PASSWORD_ENV,
  SMTP_USER_ENV,
  secretEnvFor,
} from './schema.js';
import { parseTimeSpec } from './window.js';

/** A problem with the config file: `auditsweep.yaml:7: mail.smtp: … (fix: …)` (same shape as inventory issues). */
export type ConfigIssue = InventoryIssue;

/** The config file, normalized: paths absolute, lists as lists. Only keys present in the file are set. */
export interface ConfigFile {
  /** Absolute path of the file. */
  readonly path: string;
  readonly inventory?: readonly string[];
  readonly selection?: { readonly include?: string[]; readonly exclude?: string[]; readonly tags?: string[] };
  readonly window?: { readonly since?: string; readonly until?: string };
  readonly concurrency?: number;
  readonly connectConcurrency?: number;
  readonly hostTimeout?: number;
  readonly connectTimeout?: number;
  readonly retries?: number;
  readonly output?: string;
  readonly knownHosts?: readonly string[];
  readonly sshConfig?: string | false;
  readonly identity?: readonly string[];
  readonly user?: string;
  readonly incremental?: boolean;
  readonly state?: string;
  readonly keepRaw?: boolean;
  readonly bom?: boolean;
  readonly passwd?: string;
  readonly groupFile?: string;
  readonly logFormat?: LogFormat;
  readonly failOnAlert?: boolean;
  readonly mail?: {
    readonly to?: string[];
    readonly cc?: string[];
    readonly from?: string;
    readonly smtp?: string;
    readonly subject?: string;
    readonly maxMessageBytes?: number;
    readonly eventsCapBytes?: number;
    readonly dryRun?: boolean;
  };
  readonly alerts?: readonly AlertRule[];
  /** Line of each top-level and nested key (`mail.to` → 12), for messages about merged values. */
  readonly lines: Readonly<Record<string, number>>;
}

export interface FindConfigOptions {
  /** `--config FILE`. */
  readonly flag?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/**
 * The config file to use: `{ path, explicit }` (explicit when named by --config or AUDITSWEEP_CONFIG, so a missing
 * file is an error), or undefined when none is named and none of the usual places holds one.
 */
export function findConfigFile(
  options: FindConfigOptions = {},
): { path: string; explicit: boolean } | undefined {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.flag !== undefined) return { path: resolve(cwd, options.flag), explicit: true };
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: resolve(cwd, fromEnv), explicit: true };
  const candidates = [
    join(cwd, CONFIG_FILE_NAME),
    join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'auditsweep', CONFIG_FILE_NAME),
  ];
  const found = candidates.find((c) => existsSync(c));
  return found === undefined ? undefined : { path: found, explicit: false };
}

/** Reads and checks a config file. */
export async function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Checked<ConfigFile, ConfigIssue>> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      errors: [
        {
          file: path,
          message: `cannot read the config file: ${code === 'ENOENT' ? 'no such file' : String(err)}`,
          fix: 'check the path given with --config (or AUDITSWEEP_CONFIG)',
        },
      ],
      warnings: [],
    };
  }
  return parseConfigText(text, path, env);
}

const PATH_KEYS = ['output', 'state', 'passwd', 'groupFile'] as const;

function list(v: string | readonly string[] | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? [v] : [...v];
}

/** `~/x` → home; relative → against the config file's folder. */
function absolute(p: string, base: string, env: Readonly<Record<string, string | undefined>>): string {
  if (p === '~' || p.startsWith('~/')) return join(env.HOME || homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(base, p);
}

function pathText(path: YamlPath): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
}

/**
 * Checks YAML text of a config file; `file` (absolute) names it in the issues and anchors relative paths.
 * Secrets are reported before the schema runs, so `mail.password` says which variable to use, not "unknown key".
 */
export function parseConfigText(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Checked<ConfigFile, ConfigIssue> {
  const parsed = parseYamlSource(text, file);
  if (parsed.source === undefined) return { errors: parsed.errors, warnings: parsed.warnings };
  const { data, lineOf, keys } = parsed.source;
  const warnings: ConfigIssue[] = [...parsed.warnings];
  const at = (path: YamlPath, message: string, fix?: string): ConfigIssue => {
    const line = lineOf(path);
    return {
      file,
      ...(line === undefined ? {} : { line }),
      ...(path.length === 0 ? {} : { key: pathText(path) }),
      message,
      ...(fix === undefined ? {} : { fix }),
    };
  };
  if (data === null || data === undefined) {
    return { value: { path: file, lines: {} }, errors: [], warnings: [at([], 'the config file is empty')] };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      errors: [
        at([], 'the config file must be a mapping of settings', 'write `key: value` lines (see README)'),
      ],
      warnings,
    };
  }

  // Secrets first: the value is never repeated, the variable to use instead is named.
  const errors: ConfigIssue[] = [];
  const secretPaths = new Set<string>();
  const lines: Record<string, number> = {};
  for (const k of keys()) {
    if (k.path.every((p) => typeof p === 'string') && k.line !== undefined) lines[k.path.join('.')] = k.line;
    if (k.path[0] === 'alerts') continue;
    const isPasswdFile = k.path.length === 1 && k.key === 'passwd';
    const isSmtpUser = k.path[0] === 'mail' && k.path.length === 2 && /^(user|username|login)$/i.test(k.key);
    if ((isSecretKey(k.key) && !isPasswdFile) || isSmtpUser) {
      const envVar = secretEnvFor(k.path);
      secretPaths.add(pathText(k.path));
      errors.push({
        file,
        ...(k.line === undefined ? {} : { line: k.line }),
        key: pathText(k.path),
        message: `\`${k.key}\` holds a secret; secrets are never read from the config file`,
        fix: `remove it and set the ${envVar} environment variable instead (for a timer or cron job: an EnvironmentFile readable only by you)`,
      });
    }
  }
  const smtp = (data as { mail?: { smtp?: unknown } }).mail?.smtp;
  if (typeof smtp === 'string') {
    try {
      const u = new URL(smtp);
      if (u.username !== '' || u.password !== '') {
        secretPaths.add('mail.smtp');
        errors.push(
          at(
            ['mail', 'smtp'],
            'the SMTP URL holds credentials; secrets are never read from the config file',
            `write the URL without \`user:password@\` and set ${SMTP_USER_ENV} and ${SMTP_PASSWORD_ENV} in the environment`,
          ),
        );
      }
    } catch {
      // Not a URL: the schema says so below.
    }
  }

  const result = configFileSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const i of describeIssue(issue, at)) {
        if (i.key !== undefined && secretPaths.has(i.key)) continue;
        errors.push(i);
      }
    }
  }

  let alerts: AlertRule[] | undefined;
  const rawAlerts = (data as { alerts?: unknown }).alerts;
  if (rawAlerts !== undefined) {
    const checked = checkAlertRules(rawAlerts, file, lineOf, ['alerts']);
    if (checked.value === undefined) {
      errors.push(
        ...checked.errors.map(
          (e): ConfigIssue => ({
            file: e.file,
            ...(e.line === undefined ? {} : { line: e.line }),
            ...(e.key === undefined ? {} : { key: e.key }),
            message: e.message,
            ...(e.fix === undefined ? {} : { fix: e.fix }),
          }),
        ),
      );
    } else {
      alerts = checked.value;
    }
  }
  if (!result.success || errors.length > 0) return { errors: byLine(errors), warnings };

  // Normalize: lists as lists, paths absolute (relative to the config file's folder).
  const c = result.data;
  const base = dirname(file);
  const abs = (p: string) => absolute(p, base, env);
  const value: ConfigFile = {
    path: file,
    lines,
    ...(c.inventory === undefined ? {} : { inventory: list(c.inventory)!.map(abs) }),
    ...(c.selection === undefined
      ? {}
      : {
          selection: {
            ...(c.selection.include === undefined ? {} : { include: list(c.selection.include)! }),
            ...(c.selection.exclude === undefined ? {} : { exclude: list(c.selection.exclude)! }),
            ...(c.selection.tags === undefined ? {} : { tags: list(c.selection.tags)! }),
          },
        }),
    ...(c.window === undefined
      ? {}
      : {
          window: {
            ...(c.window.since === undefined ? {} : { since: c.window.since }),
            ...(c.window.until === undefined ? {} : { until: c.window.until }),
          },
        }),
    ...pick(c, [
      'concurrency',
      'connectConcurrency',
      'hostTimeout',
      'connectTimeout',
      'retries',
      'user',
      'incremental',
      'keepRaw',
      'bom',
      'logFormat',
      'failOnAlert',
    ]),
    ...Object.fromEntries(PATH_KEYS.flatMap((k) => (c[k] === undefined ? [] : [[k, abs(c[k])]]))),
    ...(c.knownHosts === undefined ? {} : { knownHosts: list(c.knownHosts)!.map(abs) }),
    ...(c.identity === undefined ? {} : { identity: list(c.identity)!.map(abs) }),
    ...(c.sshConfig === undefined ? {} : { sshConfig: c.sshConfig === false ? false : abs(c.sshConfig) }),
    ...(c.mail === undefined
      ? {}
      : {
          mail: {
            ...(c.mail.to === undefined ? {} : { to: list(c.mail.to)! }),
            ...(c.mail.cc === undefined ? {} : { cc: list(c.mail.cc)! }),
            ...pick(c.mail, ['from', 'smtp', 'subject', 'maxMessageBytes', 'eventsCapBytes', 'dryRun']),
          },
        }),
    ...(alerts === undefined ? {} : { alerts }),
  };

  // Cross-field rules.
  const since = value.window?.since;
  const until = value.window?.until;
  if (since !== undefined && until !== undefined) {
    const now = Date.now();
    if (parseTimeSpec(since, 'window.since', now) >= parseTimeSpec(until, 'window.until', now)) {
      errors.push(
        at(['window', 'until'], `\`until\` (${until}) is not after \`since\` (${since})`, FIX_BY_KEY.until),
      );
    }
  }
  if (value.mail !== undefined && value.mail.to === undefined) {
    warnings.push(
      at(
        ['mail'],
        'mail settings without `to`: no mail is sent unless --mail-to is given',
        'add `to:` with the recipients',
      ),
    );
  }
  return errors.length > 0 ? { errors, warnings } : { value, errors, warnings };
}

/** The keys of `o` that are set. */
/** Issues in file order (those without a line first). */
function byLine(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => (a.issue.line ?? 0) - (b.issue.line ?? 0) || a.i - b.i)
    .map((x) => x.issue);
}

function pick<T extends object, K extends keyof T>(
  o: T,
  ks: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const k of ks) if (o[k] !== undefined) out[k] = o[k] as Exclude<T[K], undefined>;
  return out;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  at: (path: YamlPath, message: string, fix?: string) => ConfigIssue,
): ConfigIssue[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const level = path.length === 0 ? '' : String(path[0]);
    const known = KNOWN_KEYS[level as keyof typeof KNOWN_KEYS] ?? [];
    return issue.keys.map((k) => {
      const near = closest(k, known);
      const hint = near.length > 0 ? `did you mean \`${near.join('` or `')}\`? ` : '';
      return at([...path, k], `unknown key \`${k}\``, `${hint}keys allowed here: ${known.join(', ')}`);
    });
  }
  const key = String(path.findLast((p) => typeof p === 'string') ?? '');
  const fix = FIX_BY_KEY[key];
  let message: string;
  switch (issue.code) {
    case 'invalid_type':
      message = `\`${key}\` must be ${
        issue.expected === 'array'
          ? 'a list'
          : issue.expected === 'object'
            ? 'a mapping'
            : issue.expected === 'int'
              ? 'a whole number'
              : `a ${issue.expected}`
      }, not ${describeValue(issue.input)}`;
      break;
    case 'invalid_value':
      message = `\`${key}\` must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
      break;
    case 'invalid_union': {
      // `x` or a list of `x`: describe the branch that matches the value's shape (a bad address, not "wrong form").
      const branch = issue.errors.find(
        (b) => b.length > 0 && !b.every((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (branch) return branch.flatMap((i) => describeIssue({ ...i, path: [...path, ...i.path] }, at));
      message = `\`${key}\` has the wrong form`;
      break;
    }
    case 'too_small':
    case 'too_big':
      message = `\`${key}\` is out of range: ${issue.message}`;
      break;
    default:
      message = `\`${key}\` is not valid: ${issue.message}`;
  }
  return [at(path, message, fix)];
}
