/**
 * Where to connect and with which credentials. Credentials come from the environment
 * (`AUDITSWEEP_SMTP_USER` / `AUDITSWEEP_SMTP_PASSWORD`), or from `user:pass@` in the SMTP URL, which works but
 * earns a warning (the URL lives in the config file). They are never written to reports or logs: every message
 * that leaves the mail stage goes through `redact`.
 */
import { SweepError } from '../errors.js';
import type { MailSettings } from './types.js';

export const SMTP_USER_ENV = 'AUDITSWEEP_SMTP_USER';
export const SMTP_PASSWORD_ENV = 'AUDITSWEEP_SMTP_PASSWORD';

/** Connection settings resolved from the URL, the explicit fields and the environment. */
export interface SmtpConnection {
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (smtps, port 465). */
  readonly secure: boolean;
  readonly requireTLS: boolean;
  readonly ignoreTLS: boolean;
  readonly tls: { readonly rejectUnauthorized: boolean; readonly ca?: string | undefined };
  readonly auth?: { readonly user: string; readonly pass: string } | undefined;
  /** Strings to scrub from anything printed: the password and its encodings on the wire. */
  readonly secrets: readonly string[];
  readonly warnings: readonly string[];
}

/** The URL with any password replaced, for messages; an unparseable one is shown by its scheme only. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    // Unparseable: where the credentials end cannot be told, so show the scheme only.
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
    return scheme ? `${scheme}://…` : 'the configured URL';
  }
}

function flag(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  return /^(1|true|yes|on)$/i.test(value);
}

/**
 * Resolves the SMTP connection. Explicit fields (`host`, `port`, `secure`, …) override what the URL says; the
 * environment's credentials override the URL's. Throws CONFIG_INVALID (never echoing a password) when the URL is
 * not smtp:// or smtps://, no host is given, or only one of user and password is set in the environment.
 */
export function resolveSmtpConnection(
  settings: MailSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): SmtpConnection {
  const warnings: string[] = [];
  let host: string | undefined;
  let port: number | undefined;
  let secure: boolean | undefined;
  let requireTLS: boolean | undefined;
  let ignoreTLS: boolean | undefined;
  let urlAuth: { user: string; pass: string } | undefined;

  if (settings.url !== undefined) {
    let u: URL;
    try {
      u = new URL(settings.url);
    } catch (err) {
      throw new SweepError(
        'CONFIG_INVALID',
        `mail: ${describeUrl(settings.url)} is not a URL (use smtp://host:587)`,
        {
          cause: err,
        },
      );
    }
    if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') {
      throw new SweepError(
        'CONFIG_INVALID',
        `mail: ${describeUrl(settings.url)} is not an SMTP URL (use smtp://host:587 or smtps://host:465)`,
      );
    }
    secure = u.protocol === 'smtps:';
    host = u.hostname.replace(/^\[(.*)\]$/, '$1') || undefined;
    if (u.port !== '') port = Number(u.port);
    requireTLS = flag(u.searchParams.get('requireTLS'));
    ignoreTLS = flag(u.searchParams.get('ignoreTLS'));
    if (u.username !== '' || u.password !== '') {
      urlAuth = { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) };
      warnings.push(
        `the SMTP URL carries credentials, which may leak through the config file; set ${SMTP_USER_ENV} and ${SMTP_PASSWORD_ENV} instead`,
      );
    }
  }
  host = settings.host ?? host;
  port = settings.port ?? port;
  secure = settings.secure ?? secure ?? false;
  if (host === undefined || host === '') {
    throw new SweepError('CONFIG_INVALID', 'mail: no SMTP server configured (set mail.url or mail.host)');
  }

  const envUser = env[SMTP_USER_ENV];
  const envPass = env[SMTP_PASSWORD_ENV];
  let auth = urlAuth;
  if (envUser !== undefined && envUser !== '') {
    if (envPass === undefined) {
      throw new SweepError('CONFIG_INVALID', `mail: ${SMTP_USER_ENV} is set but ${SMTP_PASSWORD_ENV} is not`);
    }
    if (urlAuth) warnings.push(`using the credentials from ${SMTP_USER_ENV}, not the ones in the SMTP URL`);
    auth = { user: envUser, pass: envPass };
  } else if (envPass !== undefined && envPass !== '') {
    throw new SweepError('CONFIG_INVALID', `mail: ${SMTP_PASSWORD_ENV} is set but ${SMTP_USER_ENV} is not`);
  }

  return {
    host,
    port: port ?? (secure ? 465 : 587),
    secure,
    requireTLS: settings.requireTLS ?? requireTLS ?? false,
    ignoreTLS: settings.ignoreTLS ?? ignoreTLS ?? false,
    tls: { rejectUnauthorized: settings.tls?.rejectUnauthorized ?? true, ca: settings.tls?.ca },
    auth,
    secrets: auth ? secretForms(auth.user, auth.pass) : [],
    warnings,
  };
}

/**
 * The password as it may show up in text: plain, URL-encoded, and inside the base64 of AUTH PLAIN
 * (`\0user\0pass`) and AUTH LOGIN. Short passwords are still scrubbed; an empty one is not a secret.
 */
export function secretForms(user: string, pass: string): string[] {
  if (pass === '') return [];
  const forms = new Set([
    pass,
    encodeURIComponent(pass),
    Buffer.from(pass, 'utf8').toString('base64'),
    Buffer.from(`\u0000${user}\u0000${pass}`, 'utf8').toString('base64'),
  ]);
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Replaces every secret in `text` with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== '') out = out.split(s).join('***');
  return out;
}
