/**
 * The mail stage: a finished report in, an email out (or `message.eml` for a dry run).
 * `mailReport` = planAttachments (attachments.ts) → composeMail (compose.ts) → sendReport (send.ts).
 */
import { planAttachments } from './attachments.js';
import { composeMail } from './compose.js';
import { type SendOptions, sendReport } from './send.js';
import type { AttachmentPlan, ComposedMail, MailReport, MailSettings, SendResult } from './types.js';

export { contentTypeOf, planAttachments } from './attachments.js';
export { escapeHtml, orderAlerts, orderHosts, renderHtml, renderText } from './body.js';
export {
  archiveName,
  base64Bytes,
  base64Capacity,
  composeMail,
  DEFAULT_EVENTS_CAP_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  estimateMessageBytes,
  messageOverheadBytes,
} from './compose.js';
export {
  describeUrl,
  redact,
  resolveSmtpConnection,
  SMTP_PASSWORD_ENV,
  SMTP_USER_ENV,
  type SmtpConnection,
} from './credentials.js';
export {
  buildMessage,
  DEFAULT_RETRIES,
  dryRunPathFor,
  isTransientSmtpError,
  type SendOptions,
  sendReport,
  smtpReply,
} from './send.js';
export {
  DEFAULT_SUBJECT_TEMPLATE,
  isoWeek,
  oneLine,
  renderSubject,
  reportWeek,
  SUBJECT_PLACEHOLDERS,
  type SubjectPlaceholder,
  unknownPlaceholders,
} from './subject.js';
export type * from './types.js';

/** Plans the attachments, composes and sends (or dry-runs) the mail for a report. */
export async function mailReport(
  report: MailReport,
  settings: MailSettings,
  options: SendOptions = {},
): Promise<SendResult & { plan: AttachmentPlan; mail: ComposedMail }> {
  const plan = await planAttachments(report, settings, { signal: options.signal });
  const mail = composeMail(report, settings, plan);
  const result = await sendReport(settings, mail, options);
  return { ...result, plan, mail };
}
