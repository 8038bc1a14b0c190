/**
 * Compose: a report, the mail settings and an attachment plan in; a `ComposedMail` (plain data) out. Pure: no
 * transport, no file access. Also the size arithmetic the attachment policy budgets with.
 */
import { SweepError } from '../errors.js';
import { renderHtml, renderText } from './body.js';
import { DEFAULT_SUBJECT_TEMPLATE, oneLine, renderSubject } from './subject.js';
import type { AttachmentPlan, ComposedMail, MailReport, MailSettings, PlannedFile } from './types.js';

/** Default limit of the whole message: 20 MB (many servers refuse 25 MB; base64 makes files a third larger). */
export const DEFAULT_MAX_MESSAGE_BYTES = 20_000_000;
/** Default cap of the gzip-compressed events.csv: 10 MB. */
export const DEFAULT_EVENTS_CAP_BYTES = 10_000_000;

/**
 * Bytes that `n` bytes take in a base64 MIME part: 4 per 3, in lines of 76 characters ended by CRLF
 * (RFC 2045 §6.8). Attachments and both bodies are always sent as base64, so this is exact for content.
 */
export function base64Bytes(n: number): number {
  const chars = 4 * Math.ceil(n / 3);
  return chars + 2 * Math.ceil(chars / 76);
}

/** The largest content that still fits in `encoded` bytes once base64-encoded. */
export function base64Capacity(encoded: number): number {
  if (encoded <= 0) return 0;
  // Each 57 raw bytes become one 78-byte line; solve from below and step up to be exact.
  let n = Math.max(0, Math.floor((encoded * 57) / 78) - 3);
  while (base64Bytes(n + 1) <= encoded) n++;
  return n;
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Upper bound of one attachment's MIME part headers and boundary (filename possibly RFC 2231-encoded, twice). */
function partHeaderBytes(filename: string): number {
  return 320 + 8 * utf8(filename);
}

/** Upper bound of the top-level headers (encoded words can triple UTF-8 bytes, plus folding). */
function headerBytes(mail: Pick<ComposedMail, 'subject' | 'from' | 'to' | 'cc'>): number {
  const addresses = [mail.from, ...mail.to, ...mail.cc].reduce((sum, a) => sum + 4 * utf8(a) + 16, 0);
  // Date, Message-ID, MIME-Version, Content-Type with two multipart boundaries, and their closing lines.
  return 1536 + 4 * utf8(mail.subject) + 64 + addresses;
}

/** Archive file name for a run: `auditsweep-<run-id>-reports.tar.gz`, safe characters only. */
export function archiveName(runId: string): string {
  const safe = runId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);
  return `auditsweep-${safe}-reports.tar.gz`;
}

/**
 * An upper bound of the message size without the attachments' encoded contents: headers, both bodies (rendered
 * with every file listed as attached, archived AND left out, so any real plan renders shorter), and every part's
 * headers. The attachment policy spends `maxMessageBytes` minus this on contents.
 */
export function messageOverheadBytes(
  report: MailReport,
  settings: MailSettings,
  files: readonly PlannedFile[],
  outDir: string,
): number {
  const empty = Buffer.alloc(0);
  const archive = archiveName(report.runId);
  const worst: AttachmentPlan = {
    attachments: [
      ...files.map((f) => ({
        filename: `${f.name}.gz`,
        contentType: 'application/gzip',
        content: empty,
        form: 'gzip' as const,
        files: [f],
      })),
      { filename: archive, contentType: 'application/gzip', content: empty, form: 'archive', files },
    ],
    leftOut: files.map((file) => ({ file, reason: 'outside-report-folder' as const })),
    maxMessageBytes: settings.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    outDir,
  };
  const mail = composeMail(report, settings, worst);
  // Sizes were rendered as "0 B"; a real size ("999.9 MB") is a few characters longer, four times per file.
  const slack = 4 * 16 * (files.length + 1);
  const bodies = base64Bytes(utf8(mail.text) + slack) + base64Bytes(utf8(mail.html) + slack) + 2 * 200;
  const parts = files.reduce((sum, f) => sum + partHeaderBytes(`${f.name}.gz`), partHeaderBytes(archive));
  return headerBytes(mail) + bodies + parts;
}

/** Upper bound of the whole message once built: what `sendReport` checks against `maxMessageBytes` exactly. */
export function estimateMessageBytes(mail: ComposedMail): number {
  const bodies = base64Bytes(utf8(mail.text)) + base64Bytes(utf8(mail.html)) + 2 * 200;
  const parts = mail.attachments.reduce(
    (sum, a) => sum + partHeaderBytes(a.filename) + base64Bytes(a.content.length),
    0,
  );
  return headerBytes(mail) + bodies + parts;
}

/**
 * Builds the message: subject from the template, both bodies, the planned attachments. Addresses are kept on one
 * line; an empty `to` is a configuration error.
 */
export function composeMail(report: MailReport, settings: MailSettings, plan: AttachmentPlan): ComposedMail {
  const to = cleanAddresses(settings.to);
  const cc = cleanAddresses(settings.cc ?? []);
  const from = oneLine(settings.from).trim();
  if (to.length === 0)
    throw new SweepError('CONFIG_INVALID', 'mail: no recipient configured (mail.to is empty)');
  if (from === '') throw new SweepError('CONFIG_INVALID', 'mail: no sender configured (mail.from is empty)');
  return {
    from,
    to,
    cc,
    subject: renderSubject(report, settings.subjectTemplate ?? DEFAULT_SUBJECT_TEMPLATE),
    text: renderText(report, plan),
    html: renderHtml(report, plan),
    attachments: plan.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
    })),
    maxMessageBytes: plan.maxMessageBytes,
  };
}

function cleanAddresses(list: readonly string[]): string[] {
  return list.map((a) => oneLine(a).trim()).filter((a) => a !== '');
}
