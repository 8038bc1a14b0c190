/**
 * The `auditsweep.yaml` schema: what a config file may hold, checked where it enters (STYLE: schema → normalize →
 * cross-field rules → `{ value, errors, warnings }`). Secrets are never accepted here: a password-like key or
 * credentials in the SMTP URL are errors that name the environment variable to use instead.
 *
 * ```yaml
 * inventory: inventory/prod.yaml        # or a list; relative paths are resolved against this file's folder
 * selection: { include: [web, db-*], exclude: [db-legacy], tags: [pci] }   # include: [all] for every host
 * window: { since: 7d }
 * concurrency: 16
 * output: /var/lib/auditsweep/reports
 * knownHosts: ~/.ssh/known_hosts
 * mail:
 *   to: [secops@example.com]
 *   from: auditsweep@example.com
 *   smtp: smtp://mail.example.com:587    # user and password: AUDITSWEEP_SMTP_USER / AUDITSWEEP_SMTP_PASSWORD
 * alerts:                                # the rules list of an alerts file (report/alerts.ts)
 *   - { name: root-login, severity: medium, when: { finding: logins, account: root } }
 * ```
 */
import { z } from 'zod';
import { PASSWORD_ENV } from '../inventory/types.js';
import { SMTP_PASSWORD_ENV, SMTP_USER_ENV } from '../mail/credentials.js';
import { parseTimeSpec } from './window.js';

/** The file looked for in the working directory and in `$XDG_CONFIG_HOME/auditsweep/`. */
export const CONFIG_FILE_NAME = 'auditsweep.yaml';
/** Names a config file when `--config` is not given (before `./auditsweep.yaml`). */
export const CONFIG_ENV = 'AUDITSWEEP_CONFIG';
/** The passphrase of encrypted identity files (fetch/auth.ts reads it). */
export const SSH_PASSPHRASE_ENV = 'AUDITSWEEP_SSH_PASSPHRASE';
export { PASSWORD_ENV as SSH_PASSWORD_ENV, SMTP_PASSWORD_ENV, SMTP_USER_ENV };

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+$/;

const text = z.string().trim().min(1);
const textOrList = z.union([text, z.array(text).min(1)]);
const email = z.string().trim().regex(EMAIL, { message: 'not an email address' });
const emailOrList = z.union([email, z.array(email).min(1)]);
const positive = z.int().min(1);

const timeSpec = (key: string) =>
  text.refine(
    (s) => {
      try {
        parseTimeSpec(s, key);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a time' },
  );

const smtpUrl = text.superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL' });
    return;
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
    ctx.addIssue({ code: 'custom', message: `the scheme is ${u.protocol}, not smtp: or smtps:` });
  }
  if (u.hostname === '') ctx.addIssue({ code: 'custom', message: 'the URL names no host' });
});

export const mailSchema = z.strictObject({
  to: emailOrList.optional(),
  cc: emailOrList.optional(),
  from: email.optional(),
  smtp: smtpUrl.optional(),
  subject: text.optional(),
  maxMessageBytes: positive.optional(),
  eventsCapBytes: positive.optional(),
  dryRun: z.boolean().optional(),
});

export const selectionSchema = z.strictObject({
  include: textOrList.optional(),
  exclude: textOrList.optional(),
  tags: textOrList.optional(),
});

export const windowSchema = z.strictObject({
  since: timeSpec('window.since').optional(),
  until: timeSpec('window.until').optional(),
});

/** The whole file. `alerts` is checked by report/alerts.ts's `checkAlertRules` (its own messages and lines). */
export const configFileSchema = z.strictObject({
  inventory: textOrList.optional(),
  selection: selectionSchema.optional(),
  window: windowSchema.optional(),
  concurrency: positive.optional(),
  connectConcurrency: positive.optional(),
  hostTimeout: positive.optional(),
  connectTimeout: positive.optional(),
  retries: z.int().min(0).optional(),
  output: text.optional(),
  knownHosts: textOrList.optional(),
  sshConfig: z.union([text, z.literal(false)]).optional(),
  identity: textOrList.optional(),
  user: text.optional(),
  incremental: z.boolean().optional(),
  state: text.optional(),
  keepRaw: z.boolean().optional(),
  bom: z.boolean().optional(),
  passwd: text.optional(),
  groupFile: text.optional(),
  logFormat: z.enum(LOG_FORMATS).optional(),
  failOnAlert: z.boolean().optional(),
  mail: mailSchema.optional(),
  alerts: z.unknown().optional(),
});

export type ConfigFileInput = z.input<typeof configFileSchema>;

/** Keys allowed at each level, for "did you mean". */
export const KNOWN_KEYS: Record<'' | 'mail' | 'selection' | 'window', readonly string[]> = {
  '': Object.keys(configFileSchema.shape),
  mail: Object.keys(mailSchema.shape),
  selection: Object.keys(selectionSchema.shape),
  window: Object.keys(windowSchema.shape),
};

/** How to write each key, for the `fix` of an issue. */
export const FIX_BY_KEY: Record<string, string> = {
  inventory: 'a path or a list of paths to inventory files (relative to this file)',
  selection: 'a mapping with `include`, `exclude` and `tags` (each a name or a list)',
  include: 'group names, host names or globs (web-*), or `all`; a name or a list',
  exclude: 'host names, groups or globs to leave out; a name or a list',
  tags: 'tags a host must carry; a name or a list',
  window: 'a mapping with `since` and `until`',
  since: 'a span like 7d, 24h, 30m, a date like 2026-11-16, or an ISO time like 2026-11-16T08:00:00Z',
  until: 'a span like 1d (back from now), a date, or an ISO time; later than `since`',
  concurrency: 'a whole number ≥ 1 (hosts collected at once; default 16)',
  connectConcurrency: 'a whole number ≥ 1 (connection attempts at once; default 8)',
  hostTimeout: 'a whole number of seconds ≥ 1 (default 1800)',
  connectTimeout: 'a whole number of seconds ≥ 1 (default 15)',
  retries: 'a whole number ≥ 0 (default 2)',
  output: 'the folder the run folders are made in (default reports)',
  knownHosts: 'a known_hosts file or a list of them',
  sshConfig: 'an OpenSSH client config file, or false for none',
  identity: 'a private key file or a list of them',
  user: 'a login name',
  incremental: 'true or false',
  state: 'the incremental state file',
  keepRaw: 'true or false',
  bom: 'true or false',
  passwd: 'a passwd file of the hosts',
  groupFile: 'a group file of the hosts',
  logFormat: '`text` or `json`',
  failOnAlert: 'true or false',
  mail: 'a mapping with `to`, `cc`, `from`, `smtp`, `subject`, `maxMessageBytes`, `eventsCapBytes`',
  to: 'an address or a list of addresses',
  cc: 'an address or a list of addresses',
  from: 'one address, e.g. auditsweep@example.com',
  smtp: `smtp://host:587 (STARTTLS when offered) or smtps://host:465, without user or password (${SMTP_USER_ENV} / ${SMTP_PASSWORD_ENV})`,
  subject: 'a subject template ({status}, {week}, … see README)',
  maxMessageBytes: 'a whole number of bytes ≥ 1 (default 20000000)',
  eventsCapBytes: 'a whole number of bytes ≥ 1 (default 10000000)',
  dryRun: 'true or false',
};

/** A key that holds a secret (`password`, `smtpPassword`, `passphrase`, `secret`, `ssh_pass` …). */
export function isSecretKey(key: string): boolean {
  const folded = key.toLowerCase().replace(/[-_]/g, '');
  return /password|passwd$|passphrase|secret|token|(^|ssh|smtp|become|sudo|su)pass$/.test(folded);
}

/**
 * The environment variable that replaces a secret found at `path` in the file: the SMTP ones under `mail`, the
 * passphrase for a passphrase, the SSH password otherwise. A `passwd` key at the top is a file path, not a secret.
 */
export function secretEnvFor(path: readonly (string | number)[]): string {
  const key = String(path.at(-1) ?? '').toLowerCase();
  if (path[0] === 'mail') return /user|login/.test(key) ? SMTP_USER_ENV : SMTP_PASSWORD_ENV;
  if (key.includes('phrase')) return SSH_PASSPHRASE_ENV;
  return PASSWORD_ENV;
}
