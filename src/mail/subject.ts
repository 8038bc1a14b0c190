/**
 * The subject line: a template filled with the fleet status, e.g.
 * `[auditsweep] 42 hosts, 3 failed (db-01, web-03, mail-02), 17 failed logins — week 2026-W47`.
 * Host names and messages come from the audited hosts and are attacker-influenced: nothing with a CR, LF or other
 * control character reaches the header.
 */
import type { MailReport } from './types.js';

/**
 * Placeholders of `subjectTemplate`. Unknown `{names}` are left as written (see `unknownPlaceholders`).
 * Numbers are plain integers.
 */
export const SUBJECT_PLACEHOLDERS = {
  hosts: 'number of selected hosts',
  ok: 'hosts collected completely',
  partial: 'hosts collected in part',
  failed: 'hosts that failed',
  failedHosts: 'names of the failed hosts, at most 3, then "+N more"; empty when none failed',
  failedHostsSuffix:
    'the same in parentheses with a leading space (" (db-01, web-03)"); empty when none failed',
  failedLogins: 'failed logins in the window',
  failedAuthentications: 'failed authentications in the window',
  events: 'events in the window',
  alerts: 'number of fired alerts',
  alertsPrefix: '"2 ALERTS (1 high) — " when alerts fired; empty otherwise',
  week: 'ISO 8601 week of the window end (or of the run when the window is open), e.g. 2026-W47',
  runId: 'the run id',
} as const;

export type SubjectPlaceholder = keyof typeof SUBJECT_PLACEHOLDERS;

export const DEFAULT_SUBJECT_TEMPLATE =
  '[auditsweep] {alertsPrefix}{hosts} hosts, {failed} failed{failedHostsSuffix}, {failedLogins} failed logins — week {week}';

const MAX_SUBJECT_CHARS = 250;
const MAX_NAMES = 3;
const MAX_NAME_CHARS = 64;

/**
 * Makes a value safe for a one-line header or a one-line body entry: C0/C1 controls (CR and LF included), DEL and
 * the Unicode line/paragraph separators become a space.
 */
export function oneLine(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}

/**
 * ISO 8601 week of a date, in UTC (audit times are UTC in reports): `2026-W47`. The week-year is the year of the
 * week's Thursday, so 2027-01-01 (a Friday) is `2026-W53`.
 */
export function isoWeek(date: Date): string {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(day + (3 - weekday) * 86_400_000);
  const year = thursday.getUTCFullYear();
  const ordinal = Math.round((thursday.getTime() - Date.UTC(year, 0, 1)) / 86_400_000) + 1;
  const week = Math.floor((ordinal - 1) / 7) + 1;
  return `${String(year).padStart(4, '0')}-W${String(week).padStart(2, '0')}`;
}

/** The week a report is about: the last instant of the window (its end is exclusive), else the run time. */
export function reportWeek(report: Pick<MailReport, 'window' | 'generatedAt'>): string {
  const until = report.window.until;
  return isoWeek(until ? new Date(until.getTime() - 1) : report.generatedAt);
}

/** `{name}` placeholders of a template that `renderSubject` does not know, for config validation. */
export function unknownPlaceholders(template: string): string[] {
  const unknown: string[] = [];
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    const name = m[1]!;
    if (!Object.hasOwn(SUBJECT_PLACEHOLDERS, name) && !unknown.includes(name)) unknown.push(name);
  }
  return unknown;
}

/** Values of every placeholder for a report. */
export function subjectValues(report: MailReport): Record<SubjectPlaceholder, string> {
  const failed = report.hosts.filter((h) => h.status === 'failed');
  const names = failed
    .map((h) => truncate(oneLine(h.host).trim(), MAX_NAME_CHARS))
    .sort((a, b) => a.localeCompare(b));
  const shown = names.slice(0, MAX_NAMES).join(', ');
  const failedHosts = names.length > MAX_NAMES ? `${shown} +${names.length - MAX_NAMES} more` : shown;
  const high = report.alerts.filter((a) => a.severity === 'high').length;
  const alertCount = report.alerts.length;
  const alertsPrefix =
    alertCount === 0
      ? ''
      : `${alertCount} ALERT${alertCount === 1 ? '' : 'S'}${high > 0 ? ` (${high} high)` : ''} — `;
  return {
    hosts: String(report.hosts.length),
    ok: String(report.hosts.filter((h) => h.status === 'ok').length),
    partial: String(report.hosts.filter((h) => h.status === 'partial').length),
    failed: String(failed.length),
    failedHosts,
    failedHostsSuffix: failedHosts === '' ? '' : ` (${failedHosts})`,
    failedLogins: String(report.totals.failedLogins),
    failedAuthentications: String(report.totals.failedAuthentications),
    events: String(report.totals.events),
    alerts: String(alertCount),
    alertsPrefix,
    week: reportWeek(report),
    runId: oneLine(report.runId),
  };
}

/** Fills the template (default `DEFAULT_SUBJECT_TEMPLATE`); the result is one line of at most 250 characters. */
export function renderSubject(report: MailReport, template: string = DEFAULT_SUBJECT_TEMPLATE): string {
  const values = subjectValues(report);
  const filled = template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? values[name as SubjectPlaceholder] : whole,
  );
  return truncate(oneLine(filled).replace(/ {2,}/g, ' ').trim(), MAX_SUBJECT_CHARS);
}

function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}
