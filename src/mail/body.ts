/**
 * The plain-text and HTML bodies: alerts first, then warnings, failed hosts, the summary (the report module's
 * `summaryText`/`summaryHtml` when given, else our own), the host table (failed first), and what is attached or
 * left out. Pure: a report and an attachment plan in, strings out. Every value from a host is escaped in HTML and
 * kept on one line in text, so a hostile host name cannot forge a line or a tag.
 */

import { orderAlerts, orderHosts } from '../report/html.js';
import { esc as escapeHtml, formatBytes, formatCount } from '../report/html-format.js';
import type { HostOutcome } from '../types.js';
import { oneLine, reportWeek } from './subject.js';
import type { AttachmentPlan, LeftOutReason, MailAlert, MailReport, PlannedAttachment } from './types.js';

/** At most this many host rows; failed and partial hosts are always listed, ok hosts fill the rest. */
export const MAX_HOST_ROWS = 200;
const MAX_MESSAGE_CHARS = 300;

// The mail lists alerts and hosts in report.html's order and escapes and formats values its way.
export { escapeHtml, formatBytes, orderAlerts, orderHosts };

/** The rows to show and how many ok hosts are not shown. */
function hostRows(hosts: readonly HostOutcome[]): { rows: HostOutcome[]; hidden: number } {
  const ordered = orderHosts(hosts);
  const notOk = ordered.filter((h) => h.status !== 'ok').length;
  const limit = Math.max(notOk, MAX_HOST_ROWS);
  return { rows: ordered.slice(0, limit), hidden: ordered.length - Math.min(limit, ordered.length) };
}

function formatTime(d: Date | undefined): string {
  return d ? d.toISOString().replace('.000Z', 'Z') : 'open';
}

/** `failedLogins` → `failed logins`. */
function counterLabel(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function clip(s: string, max = MAX_MESSAGE_CHARS): string {
  const line = oneLine(s).trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

const LEFT_OUT_WHY: Record<LeftOutReason, string> = {
  'too-large': 'too large for the mail',
  missing: 'missing on disk',
  unreadable: 'could not be read',
  'outside-report-folder': 'outside the report folder, not archived',
};

function hostNote(h: HostOutcome): string {
  const code = h.code ? `${h.code}: ` : '';
  return clip(`${code}${h.message}`);
}

function counts(report: MailReport) {
  const by = (s: HostOutcome['status']) => report.hosts.filter((h) => h.status === s).length;
  return { total: report.hosts.length, ok: by('ok'), partial: by('partial'), failed: by('failed') };
}

/** Totals other than the three named ones, in key order. */
function extraTotals(report: MailReport): [string, number][] {
  const named = new Set(['events', 'failedLogins', 'failedAuthentications']);
  return Object.entries(report.totals)
    .filter(([k, v]) => !named.has(k) && typeof v === 'number')
    .sort(([a], [b]) => a.localeCompare(b));
}

// ---------------------------------------------------------------------------------------------------------------
// Plain text

/** The plain-text body. */
export function renderText(report: MailReport, plan: AttachmentPlan): string {
  const out: string[] = [];
  const c = counts(report);
  out.push(`auditsweep run ${clip(report.runId)} — week ${reportWeek(report)}`);
  out.push(`Window: ${formatTime(report.window.since)} → ${formatTime(report.window.until)} (UTC)`);
  out.push(`Generated: ${formatTime(report.generatedAt)}`);
  out.push('');

  if (report.alerts.length > 0) {
    out.push(`ALERTS (${report.alerts.length})`);
    for (const a of orderAlerts(report.alerts)) {
      out.push(`  [${a.severity.toUpperCase()}] ${clip(a.rule, 80)}: ${clip(a.message)}`);
    }
    out.push('');
  }

  if (report.warnings.length > 0) {
    out.push('WARNINGS');
    for (const w of report.warnings) out.push(`  ! ${clip(w, 1000)}`);
    out.push('');
  }

  const failed = orderHosts(report.hosts).filter((h) => h.status === 'failed');
  if (failed.length > 0) {
    out.push(`FAILED HOSTS (${failed.length} of ${c.total})`);
    for (const h of failed) out.push(`  ${clip(h.host, 100)} — ${hostNote(h)}`);
    out.push('');
  }

  out.push('SUMMARY');
  if (report.summaryText !== undefined) {
    out.push(report.summaryText.replace(/\r\n?/g, '\n').trimEnd());
  } else {
    out.push(`  Hosts: ${c.total} selected, ${c.ok} ok, ${c.partial} partial, ${c.failed} failed`);
    out.push(`  Events: ${formatCount(report.totals.events)}`);
    out.push(`  Failed logins: ${formatCount(report.totals.failedLogins)}`);
    out.push(`  Failed authentications: ${formatCount(report.totals.failedAuthentications)}`);
    for (const [k, v] of extraTotals(report)) out.push(`  ${counterLabel(clip(k, 60))}: ${formatCount(v)}`);
  }
  out.push('');

  const { rows, hidden } = hostRows(report.hosts);
  if (rows.length > 0) {
    out.push('HOSTS (failed first)');
    for (const h of rows) {
      const note = h.status === 'ok' && h.message === '' ? '' : ` — ${hostNote(h)}`;
      out.push(
        `  ${h.status.toUpperCase().padEnd(7)} ${clip(h.host, 100)}: ${formatCount(h.events)} events, ${h.files} files, ${formatBytes(h.bytes)}${note}`,
      );
    }
    if (hidden > 0) out.push(`  … and ${hidden} more ok hosts (see hosts.csv)`);
    out.push('');
  }

  out.push(...attachmentLines(plan));
  return `${out.join('\n')}\n`;
}

/** `events.csv.gz (events.csv 120 MB, gzip 9.1 MB)`, unescaped. */
function describeAttachment(a: PlannedAttachment, name: (s: string) => string): string {
  const size = formatBytes(a.content.length);
  if (a.form === 'as-is') return `${name(a.filename)} (${size})`;
  if (a.form === 'gzip') {
    const f = a.files[0];
    return `${name(a.filename)} (${f ? `${name(f.name)} ${formatBytes(f.bytes)}, ` : ''}gzip ${size})`;
  }
  const members = a.files.map((f) => `${name(f.name)} ${formatBytes(f.bytes)}`).join(', ');
  return `${name(a.filename)} (${size}), holding ${members}`;
}

function leftOutTitle(plan: AttachmentPlan): string {
  const n = plan.leftOut.length;
  return `${n} file${n === 1 ? '' : 's'} (the message limit is ${formatBytes(plan.maxMessageBytes)}); they are on disk`;
}

function attachmentLines(plan: AttachmentPlan): string[] {
  const out: string[] = ['ATTACHED'];
  for (const a of plan.attachments) out.push(`  ${describeAttachment(a, (s) => clip(s, 200))}`);
  if (plan.attachments.length === 0) out.push('  nothing');
  if (plan.leftOut.length > 0) {
    out.push('');
    out.push(`LEFT OUT OF THIS MAIL: ${leftOutTitle(plan)}:`);
    for (const l of plan.leftOut) {
      out.push(`  ${clip(l.file.path, 1000)} (${formatBytes(l.file.bytes)}, ${LEFT_OUT_WHY[l.reason]})`);
    }
  }
  out.push('');
  out.push(`Report folder: ${clip(plan.outDir, 1000)}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

/** Escaped, one line, clipped. */
function h(value: string, max = MAX_MESSAGE_CHARS): string {
  return escapeHtml(clip(value, max));
}

const SEVERITY_COLOR: Record<MailAlert['severity'], string> = {
  high: '#b00020',
  medium: '#b26a00',
  low: '#555',
};
const STATUS_COLOR: Record<HostOutcome['status'], string> = {
  failed: '#b00020',
  partial: '#b26a00',
  ok: '#2e7d32',
};
const CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"';

/** The HTML body: a complete document with inline styles only (mail clients drop <style> and scripts). */
export function renderHtml(report: MailReport, plan: AttachmentPlan): string {
  const out: string[] = [];
  const c = counts(report);
  out.push('<!DOCTYPE html>');
  out.push('<html><head><meta charset="utf-8"><title>auditsweep report</title></head>');
  out.push(
    '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:14px;color:#222">',
  );
  out.push(
    `<h2 style="margin:0 0 4px">auditsweep run ${h(report.runId)} — week ${h(reportWeek(report))}</h2>`,
  );
  out.push(
    `<p style="margin:0 0 12px;color:#555">Window: ${h(formatTime(report.window.since))} → ${h(formatTime(report.window.until))} (UTC) · generated ${h(formatTime(report.generatedAt))}</p>`,
  );

  if (report.alerts.length > 0) {
    out.push(`<h3 style="color:#b00020">Alerts (${report.alerts.length})</h3>`);
    out.push('<ul>');
    for (const a of orderAlerts(report.alerts)) {
      out.push(
        `<li><strong style="color:${SEVERITY_COLOR[a.severity]}">${a.severity.toUpperCase()}</strong> <code>${h(a.rule, 80)}</code>: ${h(a.message)}</li>`,
      );
    }
    out.push('</ul>');
  }

  if (report.warnings.length > 0) {
    out.push('<h3 style="color:#b26a00">Warnings</h3>');
    out.push('<ul>');
    for (const w of report.warnings) out.push(`<li>${h(w, 1000)}</li>`);
    out.push('</ul>');
  }

  const failed = orderHosts(report.hosts).filter((x) => x.status === 'failed');
  if (failed.length > 0) {
    out.push(`<h3 style="color:#b00020">Failed hosts (${failed.length} of ${c.total})</h3>`);
    out.push('<ul>');
    for (const x of failed) out.push(`<li><strong>${h(x.host, 100)}</strong> — ${h(hostNote(x))}</li>`);
    out.push('</ul>');
  }

  out.push('<h3>Summary</h3>');
  if (report.summaryHtml !== undefined) {
    // The report module's fragment (the top of report.html); it escapes its own values.
    out.push(report.summaryHtml);
  } else {
    out.push('<table style="border-collapse:collapse">');
    const rows: [string, string][] = [
      ['Hosts', `${c.total} selected, ${c.ok} ok, ${c.partial} partial, ${c.failed} failed`],
      ['Events', formatCount(report.totals.events)],
      ['Failed logins', formatCount(report.totals.failedLogins)],
      ['Failed authentications', formatCount(report.totals.failedAuthentications)],
      ...extraTotals(report).map(([k, v]): [string, string] => [counterLabel(clip(k, 60)), formatCount(v)]),
    ];
    for (const [k, v] of rows)
      out.push(`<tr><th ${CELL}>${escapeHtml(k)}</th><td ${CELL}>${escapeHtml(v)}</td></tr>`);
    out.push('</table>');
  }

  const { rows, hidden } = hostRows(report.hosts);
  if (rows.length > 0) {
    out.push('<h3>Hosts (failed first)</h3>');
    out.push('<table style="border-collapse:collapse">');
    out.push(
      `<tr><th ${CELL}>Status</th><th ${CELL}>Host</th><th ${CELL}>Events</th><th ${CELL}>Files</th><th ${CELL}>Bytes</th><th ${CELL}>Note</th></tr>`,
    );
    for (const x of rows) {
      const note = x.status === 'ok' && x.message === '' ? '' : hostNote(x);
      out.push(
        `<tr><td ${CELL}><span style="color:${STATUS_COLOR[x.status]}">${x.status}</span></td><td ${CELL}>${h(x.host, 100)}</td><td ${CELL}>${formatCount(x.events)}</td><td ${CELL}>${x.files}</td><td ${CELL}>${escapeHtml(formatBytes(x.bytes))}</td><td ${CELL}>${escapeHtml(note)}</td></tr>`,
      );
    }
    out.push('</table>');
    if (hidden > 0) out.push(`<p>… and ${hidden} more ok hosts (see hosts.csv)</p>`);
  }

  out.push('<h3>Attached</h3>');
  out.push(
    plan.attachments.length > 0
      ? `<ul>${plan.attachments.map((a) => `<li>${describeAttachment(a, (s) => h(s, 200))}</li>`).join('')}</ul>`
      : '<p>nothing</p>',
  );
  if (plan.leftOut.length > 0) {
    out.push(`<h3 style="color:#b00020">Left out of this mail: ${escapeHtml(leftOutTitle(plan))}:</h3>`);
    out.push('<ul>');
    for (const l of plan.leftOut) {
      out.push(
        `<li><code>${h(l.file.path, 1000)}</code> (${escapeHtml(formatBytes(l.file.bytes))}, ${LEFT_OUT_WHY[l.reason]})</li>`,
      );
    }
    out.push('</ul>');
  }
  out.push(`<p style="color:#555">Report folder: <code>${h(plan.outDir, 1000)}</code></p>`);
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
