/**
 * The mail stage's own input and output types. The report stage is built in parallel, so the mail takes a small,
 * plain description of a finished report (`MailReport`) rather than the report module's internals.
 */
import type { HostOutcome } from '../types.js';

/** A fired alert; alerts lead the mail (issue #4). */
export interface MailAlert {
  readonly rule: string;
  readonly severity: 'high' | 'medium' | 'low';
  readonly message: string;
}

/** One file of the report folder. `bytes` is informative: the attachment policy stats the file itself. */
export interface ReportFile {
  /** File name as shown in the mail (`summary.csv`). */
  readonly name: string;
  /** Where it is on disk (absolute, or relative to the working directory). */
  readonly path: string;
  /** summary, hosts and finding files are always attached; events is compressed and capped; other is optional. */
  readonly kind: 'summary' | 'hosts' | 'finding' | 'events' | 'other';
  readonly bytes: number;
}

/** Fleet totals. The three named counters are always there; any other numeric counter is shown as well. */
export interface MailTotals {
  readonly events: number;
  readonly failedLogins: number;
  readonly failedAuthentications: number;
  readonly [counter: string]: number;
}

/** What the mail says: a finished report, described plainly. */
export interface MailReport {
  readonly runId: string;
  /** The report folder (`reports/<run-id>`). */
  readonly outDir: string;
  readonly generatedAt: Date;
  /** The review window: `since` inclusive, `until` exclusive (as in src/config/window.ts). */
  readonly window: { readonly since?: Date | undefined; readonly until?: Date | undefined };
  /** Every selected host, failed ones included. */
  readonly hosts: readonly HostOutcome[];
  readonly totals: MailTotals;
  readonly alerts: readonly MailAlert[];
  /** Shown near the top of the mail, e.g. "host keys were NOT verified (--insecure-accept-unknown-host-keys)". */
  readonly warnings: readonly string[];
  readonly files: readonly ReportFile[];
  /** The top of report.html as plain text, when the report module provides it; otherwise compose builds its own. */
  readonly summaryText?: string | undefined;
  /** The top of report.html as an HTML fragment (already escaped by the report module). */
  readonly summaryHtml?: string | undefined;
}

/** Where and how to send. Credentials are NOT here: they come from the environment (see credentials.ts). */
export interface MailSettings {
  /** `smtp://host:587` (STARTTLS when offered) or `smtps://host:465` (TLS from the start). */
  readonly url?: string | undefined;
  /** Overrides the URL's host. */
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  /** TLS from the first byte (port 465). */
  readonly secure?: boolean | undefined;
  /** Fail unless the server upgrades with STARTTLS. */
  readonly requireTLS?: boolean | undefined;
  /** Never use STARTTLS even when offered. */
  readonly ignoreTLS?: boolean | undefined;
  readonly tls?:
    | { readonly rejectUnauthorized?: boolean | undefined; readonly ca?: string | undefined }
    | undefined;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc?: readonly string[] | undefined;
  /** See SUBJECT_PLACEHOLDERS in subject.ts. */
  readonly subjectTemplate?: string | undefined;
  /** The whole message, headers and encoding included, never exceeds this. Default 20 MB. */
  readonly maxMessageBytes?: number | undefined;
  /** events.csv is attached (gzip-compressed) only when its compressed size is at most this. Default 10 MB. */
  readonly eventsCapBytes?: number | undefined;
  /** `attempts` counts the first try. Default 3 attempts, 2 s base delay (2 s, 4 s, …). */
  readonly retries?: { readonly attempts: number; readonly baseDelayMs: number } | undefined;
  /** SMTP timeouts. Defaults: connect 30 s, greeting 30 s, socket inactivity 120 s. */
  readonly timeouts?:
    | {
        readonly connectMs?: number | undefined;
        readonly greetingMs?: number | undefined;
        readonly socketMs?: number | undefined;
      }
    | undefined;
}

/** One attachment of the composed message, its bytes at hand. */
export interface MailAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
}

/** A report file as the attachment policy saw it. */
export interface PlannedFile {
  readonly name: string;
  /** Absolute path on disk. */
  readonly path: string;
  readonly kind: ReportFile['kind'];
  /** Size on disk (0 when missing). */
  readonly bytes: number;
}

/** An attachment the policy chose: a file as it is, one file gzip-compressed, or several in one archive. */
export interface PlannedAttachment extends MailAttachment {
  readonly form: 'as-is' | 'gzip' | 'archive';
  /** The report files inside (one, except for an archive). */
  readonly files: readonly PlannedFile[];
}

/** Why a file is not in the mail. */
export type LeftOutReason = 'too-large' | 'missing' | 'unreadable' | 'outside-report-folder';

/** The outcome of the attachment policy: what is attached and what was left out (and is listed in the body). */
export interface AttachmentPlan {
  readonly attachments: readonly PlannedAttachment[];
  readonly leftOut: readonly { readonly file: PlannedFile; readonly reason: LeftOutReason }[];
  /** The limit the plan was made for. */
  readonly maxMessageBytes: number;
  /** The report folder, absolute. */
  readonly outDir: string;
}

/** A composed message: plain data, no transport. send.ts turns it into RFC 5322 bytes. */
export interface ComposedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  /** Free of CR, LF and other control characters. */
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly attachments: readonly MailAttachment[];
  /** The limit the message was composed for; send refuses to send anything larger. */
  readonly maxMessageBytes: number;
}

/** What a successful send (or dry run) returns. */
export interface SendResult {
  readonly messageId: string;
  readonly accepted: readonly string[];
  /** Recipients the server refused while accepting others; empty in a dry run. */
  readonly rejected: readonly string[];
  /** The server's final reply (`250 2.0.0 OK …`), or where the dry run wrote the message. */
  readonly response: string;
  /** How many attempts it took (1 when the first went through; 0 for a dry run). */
  readonly attempts: number;
  /** Size of the message as sent or written. */
  readonly bytes: number;
  readonly warnings: readonly string[];
}
