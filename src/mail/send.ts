/**
 * Send: a composed message in, an SMTP delivery (or a dry-run .eml file) out. The one importer of nodemailer.
 *
 * The message is built ONCE into RFC 5322 bytes; those exact bytes are size-checked, then either written
 * (`dryRunPath`) or sent, so a dry run shows precisely what would have gone out.
 *
 * Retries: up to `retries.attempts` attempts in all (default 3), waiting `baseDelayMs · 2^(n-1)` between them
 * (default 2 s, 4 s; at most 60 s). Only failures that may pass are retried: a connection refused, reset or timed
 * out, and 4xx replies (RFC 5321 §4.2.1: transient negative completion, e.g. `421 try again later`, `452 mailbox
 * full`). 5xx replies are permanent by the same RFC (unknown recipient, message too large, authentication
 * refused): sending the same message again would get the same answer, so they fail at once. TLS failures (a
 * certificate that does not verify) are configuration problems and are not retried either.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import { SweepError } from '../errors.js';
import { PRIVATE_DIR, PRIVATE_FILE } from '../private-files.js';
import { formatBytes } from './body.js';
import {
  redact,
  resolveSmtpConnection,
  SMTP_PASSWORD_ENV,
  SMTP_USER_ENV,
  secretForms,
} from './credentials.js';
import type { ComposedMail, MailSettings, SendResult } from './types.js';

export const DEFAULT_RETRIES = { attempts: 3, baseDelayMs: 2000 } as const;
const MAX_DELAY_MS = 60_000;
const DEFAULT_TIMEOUTS = { connectMs: 30_000, greetingMs: 30_000, socketMs: 120_000 } as const;

export interface SendOptions {
  /** Write the message here (e.g. `reports/<run-id>/message.eml`) instead of sending it. */
  readonly dryRunPath?: string | undefined;
  /** Stops waiting between attempts and abandons the one in flight. */
  readonly signal?: AbortSignal | undefined;
  /** Progress and retry lines, credentials already scrubbed. */
  readonly log?: ((line: string) => void) | undefined;
  /** Where credentials come from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
}

/** Where `--mail-dry-run` writes the message: `<outDir>/message.eml`. */
export function dryRunPathFor(outDir: string): string {
  return join(outDir, 'message.eml');
}

/** The SMTP reply carried by a MAIL_SEND_FAILED error (or any nodemailer error), when the server sent one. */
export function smtpReply(err: unknown): { code: number; text: string } | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const { responseCode, response } = e as { responseCode?: unknown; response?: unknown };
    if (typeof responseCode === 'number' && typeof response === 'string')
      return { code: responseCode, text: response };
  }
  return undefined;
}

interface SmtpFailure extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Node's codes for TLS verification and handshake failures (`DEPTH_ZERO_SELF_SIGNED_CERT`, `ERR_TLS_CERT_ALTNAME_INVALID`, …). */
const TLS_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL/;

/** Whether a failed attempt may succeed when tried again (see the module comment). */
export function isTransientSmtpError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as SmtpFailure;
  if (typeof e.responseCode === 'number') return e.responseCode >= 400 && e.responseCode < 500;
  if (e.code === 'ECONNECTION' || e.code === 'ESOCKET' || e.code === 'ETIMEDOUT') {
    // A certificate that does not verify arrives as a socket error too; it will not verify next time either.
    return !TLS_FAILURE.test(e.originalCode ?? '');
  }
  // A DNS lookup that timed out may answer next time; a name that does not exist will not.
  return e.code === 'EDNS' && e.originalCode === 'EAI_AGAIN';
}

/**
 * Builds the exact RFC 5322 bytes of a message (CRLF line ends; bodies and attachments in base64, so sizes are
 * predictable and attachment bytes survive any relay untouched). Returns the envelope nodemailer derived.
 */
export async function buildMessage(
  mail: ComposedMail,
): Promise<{ raw: Buffer; messageId: string; envelope: { from: string; to: string[] } }> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const info = await transport.sendMail({
    from: mail.from,
    to: [...mail.to],
    cc: [...mail.cc],
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    encoding: 'base64',
    attachments: mail.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      contentTransferEncoding: 'base64',
    })),
    // Plain data only: never let a value be read as a file path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = info.message;
  if (!Buffer.isBuffer(raw))
    throw new SweepError('INTERNAL', 'mail: the message builder did not return bytes');
  const from = typeof info.envelope.from === 'string' ? info.envelope.from : '';
  return { raw, messageId: info.messageId, envelope: { from, to: [...info.envelope.to] } };
}

/** Every secret known from the settings and the environment, for scrubbing, even when no server is configured. */
function knownSecrets(settings: MailSettings, env: Readonly<Record<string, string | undefined>>): string[] {
  const secrets: string[] = [];
  const user = env[SMTP_USER_ENV] ?? '';
  const pass = env[SMTP_PASSWORD_ENV];
  if (pass) secrets.push(...secretForms(user, pass));
  if (settings.url) {
    try {
      const u = new URL(settings.url);
      if (u.password)
        secrets.push(...secretForms(decodeURIComponent(u.username), decodeURIComponent(u.password)));
    } catch {
      // Not a URL: resolveSmtpConnection reports it when sending.
    }
  }
  return [...new Set(secrets)].sort((a, b) => b.length - a.length);
}

function scrubMail(mail: ComposedMail, secrets: readonly string[]): ComposedMail {
  if (secrets.length === 0) return mail;
  const r = (s: string) => redact(s, secrets);
  return {
    ...mail,
    from: r(mail.from),
    to: mail.to.map(r),
    cc: mail.cc.map(r),
    subject: r(mail.subject),
    text: r(mail.text),
    html: r(mail.html),
  };
}

/** Rewrites an error's text fields in place so no secret survives in message, response or stack. */
function scrubError(err: unknown, secrets: readonly string[]): void {
  if (secrets.length === 0) return;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const x = e as SmtpFailure;
    x.message = redact(x.message, secrets);
    if (typeof x.response === 'string') x.response = redact(x.response, secrets);
    if (typeof x.stack === 'string') x.stack = redact(x.stack, secrets);
  }
}

/** One line saying what went wrong: the SMTP reply when there is one, else the socket error. */
function describeFailure(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as SmtpFailure;
  if (typeof e.response === 'string' && e.response !== '') {
    const stage = e.command ? ` to ${e.command === 'CONN' ? 'the connection' : e.command}` : '';
    return `the server replied${stage}: ${e.response.replace(/\r?\n/g, ' ')}`;
  }
  return e.message;
}

/**
 * Sends a composed message (or writes it to `dryRunPath`). Resolves with the server's answer; rejects with
 * SweepError MAIL_SEND_FAILED carrying the SMTP reply (see `smtpReply`) after the bounded retries, or
 * CONFIG_INVALID for settings that cannot work. The reports on disk are never touched.
 */
export async function sendReport(
  settings: MailSettings,
  message: ComposedMail,
  options: SendOptions = {},
): Promise<SendResult> {
  const env = options.env ?? process.env;
  const secrets = knownSecrets(settings, env);
  const log = (line: string) => options.log?.(redact(line, secrets));
  const mail = scrubMail(message, secrets);
  const limit = Math.min(message.maxMessageBytes, settings.maxMessageBytes ?? Number.POSITIVE_INFINITY);

  let built: Awaited<ReturnType<typeof buildMessage>>;
  try {
    built = await buildMessage(mail);
  } catch (err) {
    scrubError(err, secrets);
    throw new SweepError(
      'MAIL_SEND_FAILED',
      `mail: could not build the message: ${redact(String(err), secrets)}`,
      {
        cause: err,
      },
    );
  }
  const { raw, messageId, envelope } = built;
  if (raw.length > limit) {
    // Mail servers reject large messages, sometimes only after accepting them (a bounce later): refuse here.
    throw new SweepError(
      'MAIL_SEND_FAILED',
      `mail: the message is ${raw.length} bytes (${formatBytes(raw.length)}), over the ${limit}-byte limit (mail.maxMessageBytes); nothing was sent — the reports are on disk`,
    );
  }

  if (options.dryRunPath !== undefined) {
    try {
      await mkdir(dirname(options.dryRunPath), { recursive: true, mode: PRIVATE_DIR });
      await writeFile(options.dryRunPath, raw, { mode: PRIVATE_FILE });
    } catch (err) {
      throw new SweepError('OUTPUT_FAILED', `mail: could not write ${options.dryRunPath}: ${String(err)}`, {
        cause: err,
      });
    }
    log(`mail: dry run, message written to ${options.dryRunPath} (${formatBytes(raw.length)})`);
    return {
      messageId,
      accepted: [],
      rejected: [],
      response: `dry run: written to ${options.dryRunPath}`,
      attempts: 0,
      bytes: raw.length,
      warnings: dryRunWarnings(settings, env),
    };
  }

  const conn = resolveSmtpConnection(settings, env);
  for (const w of conn.warnings) log(`mail: warning: ${w}`);
  const allSecrets = [...new Set([...secrets, ...conn.secrets])];
  const where = `${conn.host}:${conn.port}`;
  const retries = settings.retries ?? DEFAULT_RETRIES;
  const attempts = Math.max(1, Math.floor(retries.attempts));
  const timeouts = { ...DEFAULT_TIMEOUTS, ...definedOnly(settings.timeouts ?? {}) };

  const transport = nodemailer.createTransport({
    host: conn.host,
    port: conn.port,
    secure: conn.secure,
    requireTLS: conn.requireTLS,
    ignoreTLS: conn.ignoreTLS,
    tls: conn.tls.ca === undefined ? { rejectUnauthorized: conn.tls.rejectUnauthorized } : { ...conn.tls },
    ...(conn.auth ? { auth: { user: conn.auth.user, pass: conn.auth.pass } } : {}),
    connectionTimeout: timeouts.connectMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
    logger: false,
    debug: false,
  });

  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const info = await transport.sendMail({
          envelope,
          raw,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const rejected = info.rejected.map(String);
        const warnings = [...conn.warnings];
        if (rejected.length > 0) {
          const replies = (info.rejectedErrors ?? []).map((e) => describeFailure(e)).join('; ');
          warnings.push(
            redact(`the server refused ${rejected.join(', ')}${replies ? ` (${replies})` : ''}`, allSecrets),
          );
          log(`mail: warning: ${warnings[warnings.length - 1]}`);
        }
        const response = redact(String(info.response ?? ''), allSecrets);
        log(`mail: sent to ${info.accepted.map(String).join(', ')} via ${where} (${response})`);
        return {
          messageId,
          accepted: info.accepted.map(String),
          rejected,
          response,
          attempts: attempt,
          bytes: raw.length,
          warnings,
        };
      } catch (err) {
        scrubError(err, allSecrets);
        const why = redact(describeFailure(err), allSecrets);
        if (options.signal?.aborted) {
          throw new SweepError(
            'MAIL_SEND_FAILED',
            `mail: sending to ${where} was interrupted; the reports are on disk`,
            {
              cause: err,
            },
          );
        }
        const transient = isTransientSmtpError(err);
        if (!transient || attempt >= attempts) {
          const tries = `${attempt} attempt${attempt === 1 ? '' : 's'}`;
          const kind = transient ? '' : ' (permanent, not retried)';
          throw new SweepError(
            'MAIL_SEND_FAILED',
            `mail: sending via ${where} failed after ${tries}${kind}: ${why}; the reports are on disk`,
            { cause: err },
          );
        }
        const wait = Math.min(retries.baseDelayMs * 2 ** (attempt - 1), MAX_DELAY_MS);
        log(`mail: attempt ${attempt}/${attempts} via ${where} failed: ${why}; retrying in ${wait} ms`);
        try {
          await delay(wait, undefined, options.signal ? { signal: options.signal } : {});
        } catch (abort) {
          throw new SweepError(
            'MAIL_SEND_FAILED',
            `mail: sending to ${where} was interrupted; the reports are on disk`,
            {
              cause: abort,
            },
          );
        }
      }
    }
  } finally {
    transport.close();
  }
}

/** A dry run needs no server, so a missing or broken SMTP setting is not an error there; its warnings still count. */
function dryRunWarnings(settings: MailSettings, env: Readonly<Record<string, string | undefined>>): string[] {
  try {
    return [...resolveSmtpConnection(settings, env).warnings];
  } catch {
    return [];
  }
}

function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
