/**
 * Flags + config file + built-in defaults → the effective sweep settings. The order is fixed: a flag the user gave
 * replaces the config file's value for that key (lists are replaced, not appended), which replaces the default.
 * Defaults are applied here, after the merge (STYLE), so commander's options carry none.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Checked } from '../inventory/types.js';
import type { AlertRule } from '../report/alerts.js';
import type { SweepMailSettings } from '../sweep.js';
import type { ConfigFile, ConfigIssue } from './load.js';
import { LOG_FORMATS, type LogFormat, SMTP_PASSWORD_ENV, SMTP_USER_ENV } from './schema.js';
import { parseWindow } from './window.js';

/** The built-in defaults (README, `auditsweep sweep --help`). */
export const DEFAULTS = {
  since: '7d',
  concurrency: 16,
  connectConcurrency: 8,
  hostTimeout: 1800,
  connectTimeout: 15,
  retries: 2,
  output: 'reports',
  /** Relative to the reports folder. */
  state: '.state/incremental.json',
  logFormat: 'text' as LogFormat,
} as const;

/** The `sweep` flags as commander hands them over: only what the user typed is set. */
export interface SweepFlagValues {
  inventory?: string[];
  all?: boolean;
  group?: string[];
  hosts?: string[];
  exclude?: string[];
  tag?: string[];
  sshConfig?: string;
  knownHosts?: string[];
  identity?: string[];
  user?: string;
  concurrency?: string;
  connectConcurrency?: string;
  hostTimeout?: string;
  connectTimeout?: string;
  retries?: string;
  since?: string;
  until?: string;
  out?: string;
  incremental?: boolean;
  state?: string;
  keepRaw?: boolean;
  passwd?: string;
  groupFile?: string;
  bom?: boolean;
  logFormat?: string;
  insecureAcceptUnknownHostKeys?: boolean;
  mailTo?: string[];
  mailCc?: string[];
  mailFrom?: string;
  smtp?: string;
  mailDryRun?: boolean;
  alerts?: string;
  failOnAlert?: boolean;
  eventsOnly?: boolean;
}

export type SettingSource = 'flag' | 'config' | 'default';

/** What a sweep runs with, every default filled in. */
export interface SweepSettings {
  /** The config file used, absolute. */
  readonly configFile?: string | undefined;
  readonly inventory: readonly string[];
  readonly selection: { readonly include: string[]; readonly exclude: string[]; readonly tags: string[] };
  readonly since: string;
  readonly until?: string | undefined;
  readonly concurrency: number;
  readonly connectConcurrency: number;
  /** Seconds. */
  readonly hostTimeout: number;
  /** Seconds. */
  readonly connectTimeout: number;
  readonly retries: number;
  /** Where run folders are made, absolute. */
  readonly reportsDir: string;
  /** `--out DIR` (flag only: one run's folder), absolute. */
  readonly outDir?: string | undefined;
  readonly knownHosts?: readonly string[] | undefined;
  readonly sshConfig?: string | false | undefined;
  readonly identity?: readonly string[] | undefined;
  readonly user?: string | undefined;
  readonly incremental: boolean;
  readonly stateFile: string;
  readonly keepRaw: boolean;
  readonly bom: boolean;
  readonly passwd?: string | undefined;
  readonly groupFile?: string | undefined;
  readonly logFormat: LogFormat;
  readonly failOnAlert: boolean;
  /** Flag only: never from a config file. */
  readonly insecureAcceptUnknownHostKeys: boolean;
  /** `--events-only` (flag only): events.csv, hosts.csv and manifest.json, no report set, alerts or mail. */
  readonly eventsOnly: boolean;
  readonly mail?: SweepMailSettings | undefined;
  /** Rules from the config file, or an alerts file (`--alerts`) still to be read; none = the built-in rules. */
  readonly alerts?: { readonly rules: readonly AlertRule[] } | { readonly file: string } | undefined;
  /** Where each setting came from (`concurrency` → `default`), for `auditsweep config check`. */
  readonly sources: Readonly<Record<string, SettingSource>>;
}

const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+$/;
/** The `file` of an issue about a flag. */
export const COMMAND_LINE = 'command line';

export interface MergeOptions {
  readonly cwd?: string;
  /** For relative windows; default Date.now(). */
  readonly now?: number;
}

/**
 * Merges flags over the config file over the defaults and checks the result (a host choice, an inventory, mail
 * that can be sent). Issues from flags name the flag; from the file, the file, line and key.
 */
export function mergeSettings(
  flags: SweepFlagValues,
  config: ConfigFile | undefined,
  options: MergeOptions = {},
): Checked<SweepSettings, ConfigIssue> {
  const cwd = options.cwd ?? process.cwd();
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const sources: Record<string, SettingSource> = {};
  const file = config?.path;
  const fromFile = (key: string, message: string, fix?: string): ConfigIssue => {
    const line = config?.lines[key];
    return {
      file: file ?? COMMAND_LINE,
      ...(line === undefined ? {} : { line }),
      key,
      message,
      ...(fix === undefined ? {} : { fix }),
    };
  };
  /** `flag` undefined: the message stands alone. */
  const fromFlag = (flag: string | undefined, message: string, fix?: string): ConfigIssue => ({
    file: COMMAND_LINE,
    ...(flag === undefined ? {} : { key: flag }),
    message,
    ...(fix === undefined ? {} : { fix }),
  });

  /** flag > config > default, recording the source. */
  function choose<T>(key: string, flag: T | undefined, conf: T | undefined, def: T): T;
  function choose<T>(key: string, flag: T | undefined, conf: T | undefined, def?: T): T | undefined;
  function choose<T>(key: string, flag: T | undefined, conf: T | undefined, def?: T): T | undefined {
    if (flag !== undefined) {
      sources[key] = 'flag';
      return flag;
    }
    if (conf !== undefined) {
      sources[key] = 'config';
      return conf;
    }
    if (def !== undefined) sources[key] = 'default';
    return def;
  }

  const int = (flag: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      errors.push(fromFlag(flag, `takes a whole number ≥ ${min}, got ${value}`));
      return undefined;
    }
    return n;
  };
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(cwd, p));
  const absList = (ps: readonly string[] | undefined) => ps?.map((p) => resolve(cwd, p));
  const nonEmpty = <T>(xs: readonly T[] | undefined) =>
    xs !== undefined && xs.length > 0 ? [...xs] : undefined;

  const inventory = choose('inventory', absList(nonEmpty(flags.inventory)), config?.inventory) ?? [];
  if (inventory.length === 0) {
    errors.push(
      fromFlag(
        undefined,
        `no inventory: pass --inventory FILE${file ? ` or set \`inventory:\` in ${file}` : ' or set `inventory:` in a config file (--config FILE)'}`,
      ),
    );
  }

  // Selection: --all / --group / --hosts together replace `selection.include`; --exclude and --tag their keys.
  const flagInclude = [...(flags.group ?? []), ...(flags.hosts ?? []).flatMap((p) => p.split(','))]
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const include = choose(
    'selection.include',
    flags.all || flagInclude.length > 0 ? [...(flags.all ? ['all'] : []), ...flagInclude] : undefined,
    config?.selection?.include,
    [],
  );
  if (include.length === 0) {
    errors.push(
      fromFlag(
        undefined,
        `choose hosts with --all, --group NAME or --hosts PATTERN${file ? `, or set \`selection: { include: [all] }\` in ${file}` : ''}`,
      ),
    );
  }
  const exclude = choose('selection.exclude', nonEmpty(flags.exclude), config?.selection?.exclude, []);
  const tags = choose('selection.tags', nonEmpty(flags.tag), config?.selection?.tags, []);

  const since = choose('window.since', flags.since, config?.window?.since, DEFAULTS.since);
  const until = choose('window.until', flags.until, config?.window?.until);
  try {
    parseWindow(since, until, options.now);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    errors.push(
      sources['window.since'] === 'config' || sources['window.until'] === 'config'
        ? fromFile('window', message)
        : fromFlag(undefined, message),
    );
  }

  const concurrency = choose(
    'concurrency',
    int('--concurrency', flags.concurrency, 1),
    config?.concurrency,
    DEFAULTS.concurrency,
  );
  const connectConcurrency = choose(
    'connectConcurrency',
    int('--connect-concurrency', flags.connectConcurrency, 1),
    config?.connectConcurrency,
    DEFAULTS.connectConcurrency,
  );
  const hostTimeout = choose(
    'hostTimeout',
    int('--host-timeout', flags.hostTimeout, 1),
    config?.hostTimeout,
    DEFAULTS.hostTimeout,
  );
  const connectTimeout = choose(
    'connectTimeout',
    int('--connect-timeout', flags.connectTimeout, 1),
    config?.connectTimeout,
    DEFAULTS.connectTimeout,
  );
  const retries = choose('retries', int('--retries', flags.retries, 0), config?.retries, DEFAULTS.retries);

  let logFormat: LogFormat | undefined;
  if (flags.logFormat !== undefined) {
    if ((LOG_FORMATS as readonly string[]).includes(flags.logFormat))
      logFormat = flags.logFormat as LogFormat;
    else errors.push(fromFlag('--log-format', `is text or json, not ${flags.logFormat}`));
  }
  const reportsDir = choose('output', undefined, config?.output, resolve(cwd, DEFAULTS.output));
  const outDir = choose('out', abs(flags.out), undefined);
  const incremental = choose('incremental', flags.incremental, config?.incremental, false);

  // Mail: each key on its own; a recipient from either side turns mail on.
  const to = choose('mail.to', splitAddresses(flags.mailTo, '--mail-to', errors), config?.mail?.to);
  const cc = choose('mail.cc', splitAddresses(flags.mailCc, '--mail-cc', errors), config?.mail?.cc);
  const from = choose('mail.from', flags.mailFrom, config?.mail?.from);
  if (flags.mailFrom !== undefined && !EMAIL.test(flags.mailFrom)) {
    errors.push(fromFlag(undefined, `--mail-from: ${flags.mailFrom} is not an email address`));
  }
  let smtpFlag = flags.smtp;
  if (smtpFlag !== undefined) {
    try {
      const u = new URL(smtpFlag);
      if (u.username !== '' || u.password !== '') {
        u.username = '';
        u.password = '';
        smtpFlag = u.toString();
        warnings.push(
          fromFlag(
            undefined,
            `the credentials in --smtp are ignored (they show in ps and shell history); set ${SMTP_USER_ENV} and ${SMTP_PASSWORD_ENV}`,
          ),
        );
      }
    } catch {
      // Not a URL: the mail stage says so (CONFIG_INVALID) before any host is contacted.
    }
  }
  const smtp = choose('mail.smtp', smtpFlag, config?.mail?.smtp);
  const dryRun = choose('mail.dryRun', flags.mailDryRun, config?.mail?.dryRun, false);
  let mail: SweepMailSettings | undefined;
  if (to === undefined || to.length === 0) {
    if (
      flags.smtp !== undefined ||
      flags.mailDryRun ||
      flags.mailCc !== undefined ||
      flags.mailFrom !== undefined
    ) {
      errors.push(fromFlag(undefined, 'mail needs a recipient: add --mail-to ADDR'));
    }
  } else if (smtp === undefined && !dryRun) {
    errors.push(
      sources['mail.to'] === 'config'
        ? fromFile(
            'mail',
            'mail has recipients but no SMTP server',
            'set `mail.smtp: smtp://host:587` (or pass --smtp URL or --mail-dry-run)',
          )
        : fromFlag('--mail-to', 'needs --smtp URL (smtp://host:587 or smtps://host:465) or --mail-dry-run'),
    );
  } else {
    const m = config?.mail;
    mail = {
      ...(smtp === undefined ? {} : { url: smtp }),
      from: from ?? `auditsweep@${hostname()}`,
      to,
      ...(cc !== undefined && cc.length > 0 ? { cc } : {}),
      ...(m?.subject === undefined ? {} : { subjectTemplate: m.subject }),
      ...(m?.maxMessageBytes === undefined ? {} : { maxMessageBytes: m.maxMessageBytes }),
      ...(m?.eventsCapBytes === undefined ? {} : { eventsCapBytes: m.eventsCapBytes }),
      ...(dryRun ? { dryRun: true } : {}),
    };
  }

  let alerts: SweepSettings['alerts'] =
    flags.alerts !== undefined
      ? { file: resolve(cwd, flags.alerts) }
      : config?.alerts !== undefined
        ? { rules: config.alerts }
        : undefined;
  sources.alerts = flags.alerts !== undefined ? 'flag' : config?.alerts !== undefined ? 'config' : 'default';

  let failOnAlert = choose('failOnAlert', flags.failOnAlert, config?.failOnAlert, false);
  const eventsOnly = choose('eventsOnly', flags.eventsOnly, undefined, false);
  // An events-only sweep writes no report to mail and evaluates no alert rule. Typed together with a flag that
  // asks for either, it is a usage error (before any host is contacted); from the config file, the flag wins as
  // flags always do, and a warning says what is not used, so that nobody believes a rule ran when it did not.
  if (eventsOnly) {
    const noMail = 'an events-only sweep writes no report to mail';
    const noAlerts = 'an events-only sweep evaluates no alert rule';
    const clash = (flag: string, why: string) =>
      errors.push(fromFlag('--events-only', `cannot be combined with ${flag}: ${why}`));
    const unused = (key: string, why: string) =>
      warnings.push(fromFile(key, `not used with --events-only: ${why}`));
    const mailFlag =
      flags.mailTo !== undefined
        ? '--mail-to'
        : flags.mailDryRun
          ? '--mail-dry-run'
          : flags.smtp !== undefined
            ? '--smtp'
            : undefined;
    if (mailFlag !== undefined) clash(mailFlag, noMail);
    else if (mail !== undefined) unused('mail', noMail);
    mail = undefined;
    if (failOnAlert) {
      if (sources.failOnAlert === 'flag') clash('--fail-on-alert', noAlerts);
      else unused('failOnAlert', noAlerts);
      failOnAlert = false;
    }
    if (flags.alerts !== undefined) clash('--alerts', noAlerts);
    else if ((config?.alerts?.length ?? 0) > 0) unused('alerts', noAlerts);
    alerts = undefined;
  }

  const settings: SweepSettings = {
    configFile: file,
    inventory,
    selection: { include, exclude, tags },
    since,
    until,
    concurrency,
    connectConcurrency,
    hostTimeout,
    connectTimeout,
    retries,
    reportsDir,
    outDir,
    knownHosts: choose('knownHosts', absList(nonEmpty(flags.knownHosts)), config?.knownHosts),
    sshConfig: choose('sshConfig', abs(flags.sshConfig), config?.sshConfig),
    identity: choose('identity', absList(nonEmpty(flags.identity)), config?.identity),
    user: choose('user', flags.user, config?.user),
    incremental,
    stateFile: choose('state', abs(flags.state), config?.state, resolve(reportsDir, DEFAULTS.state)),
    keepRaw: choose('keepRaw', flags.keepRaw, config?.keepRaw, false),
    bom: choose('bom', flags.bom, config?.bom, false),
    passwd: choose('passwd', abs(flags.passwd), config?.passwd),
    groupFile: choose('groupFile', abs(flags.groupFile), config?.groupFile),
    logFormat: choose('logFormat', logFormat, config?.logFormat, DEFAULTS.logFormat),
    failOnAlert,
    insecureAcceptUnknownHostKeys: choose(
      'insecureAcceptUnknownHostKeys',
      flags.insecureAcceptUnknownHostKeys,
      undefined,
      false,
    ),
    eventsOnly,
    mail,
    alerts,
    sources,
  };
  return errors.length > 0 ? { errors, warnings } : { value: settings, errors, warnings };
}

/** `a@x,b@y` given once or more → the addresses; each must look like one. */
function splitAddresses(
  values: readonly string[] | undefined,
  flag: string,
  errors: ConfigIssue[],
): string[] | undefined {
  if (values === undefined) return undefined;
  const list = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  for (const a of list) {
    if (!EMAIL.test(a)) errors.push({ file: COMMAND_LINE, message: `${flag}: ${a} is not an email address` });
  }
  return list.length > 0 ? list : undefined;
}
