/**
 * report.html: one self-contained page (inline CSS, inline SVG charts, no script, no external asset, a CSP that
 * forbids loading anything) with what a reviewer looks at first: the run's status, alerts, security warnings,
 * failed hosts, the fleet's numbers, then a table of every host (failed first), charts of events per day and of
 * failures over time, findings (counts and first rows) and the top sources of authentication failures.
 *
 * Pure: a ReportHtmlInput in, a string out. Every value is escaped (html-format.ts `esc`): audit data is
 * attacker-controlled. `renderSummaryBlock` / `renderSummaryText` are the top of the page on their own (inline
 * styles only, as mail clients drop <style>), for the mail body to show the same thing.
 */
import type { HostOutcome } from '../types.js';
import type { AuthFailureTopRow } from './findings.js';
import { renderEventsPerDayChart, renderFailuresChart } from './html-charts.js';
import {
  type FindingSection,
  renderAuthFailureTops,
  renderFindingCounts,
  renderFindingSamples,
} from './html-findings.js';
import {
  cell,
  esc,
  formatBytes,
  formatCell,
  formatCount,
  formatDuration,
  formatTime,
  plural,
  shortTime,
} from './html-format.js';
import { FLEET_HOST, type SummaryRow } from './summary.js';
import type { TimelineData } from './timeline.js';

export type { FindingSection } from './html-findings.js';
export { FindingDigest } from './html-findings.js';

/** A fired alert (the same shape as the mail's MailAlert). */
export interface ReportAlert {
  readonly rule: string;
  readonly severity: 'high' | 'medium' | 'low';
  readonly message: string;
}

/** What the top of the page (and of the mail) needs. */
export interface SummaryBlockInput {
  readonly runId: string;
  readonly generatedAt: Date;
  /** The review window: `since` inclusive, `until` exclusive; an absent end is open. */
  readonly window: { readonly since?: Date | undefined; readonly until?: Date | undefined };
  readonly toolVersion: string;
  /** Shown loud near the top, e.g. "host keys were NOT verified (--insecure-accept-unknown-host-keys)". */
  readonly warnings: readonly string[];
  readonly alerts: readonly ReportAlert[];
  /** Every selected host, failed ones included. */
  readonly hosts: readonly HostOutcome[];
  /** summary.csv's rows: one per host and the fleet row (`host` = FLEET_HOST). */
  readonly summary: readonly SummaryRow[];
}

export interface ReportHtmlInput extends SummaryBlockInput {
  /** One per finding kind (missing kinds count as 0), e.g. from FindingDigest.sections(). */
  readonly findings: readonly FindingSection[];
  /** AuthFailureTops.rows(); the page shows the fleet's (`(all)`) lists. */
  readonly authFailureTops: readonly AuthFailureTopRow[];
  /** TimelineAccumulator.result(). */
  readonly timeline: TimelineData;
}

const SEVERITY_ORDER: Record<ReportAlert['severity'], number> = { high: 0, medium: 1, low: 2 };
const STATUS_ORDER: Record<HostOutcome['status'], number> = { failed: 0, partial: 1, ok: 2 };
const RED = '#b71c1c';
const AMBER = '#a05a00';
const GREEN = '#1b5e20';
const SEVERITY_COLOR: Record<ReportAlert['severity'], string> = { high: RED, medium: AMBER, low: '#455a64' };
const STATUS_COLOR: Record<HostOutcome['status'], string> = { failed: RED, partial: AMBER, ok: GREEN };

/** Alerts by severity (high first), in their given order within a severity. */
export function orderAlerts(alerts: readonly ReportAlert[]): ReportAlert[] {
  return alerts
    .map((a, i) => ({ a, i }))
    .sort((x, y) => SEVERITY_ORDER[x.a.severity] - SEVERITY_ORDER[y.a.severity] || x.i - y.i)
    .map((x) => x.a);
}

/** Hosts failed first, then partial, then ok; by name within a status. */
export function orderHosts(hosts: readonly HostOutcome[]): HostOutcome[] {
  return [...hosts].sort(
    (a, b) =>
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0),
  );
}

function hostNote(h: HostOutcome): string {
  return `${h.code ? `${h.code}: ` : ''}${h.message}`;
}

interface Status {
  readonly level: 'red' | 'amber' | 'green';
  readonly headline: string;
  readonly parts: string[];
}

function statusOf(input: SummaryBlockInput): Status {
  const failed = input.hosts.filter((h) => h.status === 'failed').length;
  const partial = input.hosts.filter((h) => h.status === 'partial').length;
  const high = input.alerts.filter((a) => a.severity === 'high').length;
  const parts: string[] = [];
  if (input.alerts.length > 0)
    parts.push(`${plural(input.alerts.length, 'alert')}${high > 0 ? ` (${formatCount(high)} high)` : ''}`);
  if (input.warnings.length > 0) parts.push(plural(input.warnings.length, 'security warning'));
  if (failed > 0) parts.push(`${formatCount(failed)} of ${plural(input.hosts.length, 'host')} failed`);
  if (partial > 0) parts.push(`${formatCount(partial)} partial`);
  if (parts.length === 0) {
    return {
      level: 'green',
      headline: 'No alerts',
      parts: [`all ${plural(input.hosts.length, 'host')} swept`, 'no security warnings'],
    };
  }
  const red = high > 0 || failed > 0 || input.warnings.length > 0;
  return { level: red ? 'red' : 'amber', headline: 'Needs review', parts };
}

/** The fleet's summary row, or zeros. */
function fleetRow(summary: readonly SummaryRow[]): SummaryRow | undefined {
  return summary.find((r) => r.host === FLEET_HOST);
}

interface Tile {
  readonly label: string;
  readonly value: string;
  /** Non-zero values of this tile are bad news (coloured). */
  readonly alarm?: 'red' | 'amber';
  readonly column?: string;
}

function tiles(input: SummaryBlockInput): Tile[] {
  const f = fleetRow(input.summary);
  const failed = input.hosts.filter((h) => h.status === 'failed').length;
  const n = (c: keyof SummaryRow): string => formatCell(f?.[c] ?? '0') || '0';
  const events = f ? n('events') : formatCount(input.hosts.reduce((a, h) => a + h.events, 0));
  return [
    {
      label: 'Hosts swept',
      value: `${formatCount(input.hosts.length - failed)} / ${formatCount(input.hosts.length)}`,
      column: 'hosts',
      ...(failed > 0 ? { alarm: 'red' as const } : {}),
    },
    { label: 'Events', value: events, column: 'events' },
    { label: 'Failed events', value: n('failed_events'), column: 'failed_events' },
    { label: 'Logins', value: n('logins'), column: 'logins' },
    { label: 'Failed logins', value: n('failed_logins'), alarm: 'red', column: 'failed_logins' },
    {
      label: 'Failed authentications',
      value: n('failed_authentications'),
      alarm: 'red',
      column: 'failed_authentications',
    },
    { label: 'Account changes', value: n('account_changes'), alarm: 'amber', column: 'account_changes' },
    { label: 'Config changes', value: n('config_changes'), alarm: 'amber', column: 'config_changes' },
    { label: 'Anomalies', value: n('anomalies'), alarm: 'red', column: 'anomalies' },
    { label: 'AVCs', value: n('avcs'), alarm: 'amber', column: 'avcs' },
  ];
}

function tileAlarmColor(t: Tile): string | undefined {
  if (t.alarm === undefined) return undefined;
  if (t.column === 'hosts') return RED;
  return t.value !== '0' ? (t.alarm === 'red' ? RED : AMBER) : undefined;
}

function windowLine(input: SummaryBlockInput): string {
  return `Window ${formatTime(input.window.since)} → ${formatTime(input.window.until)} (UTC) · generated ${formatTime(input.generatedAt)} · run ${input.runId} · auditsweep ${input.toolVersion}`;
}

const FONT = 'font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif';

/**
 * The top of report.html as an HTML fragment with inline styles only: status line, alerts, security warnings,
 * failed and partial hosts, the fleet's numbers. Values escaped.
 */
export function renderSummaryBlock(input: SummaryBlockInput): string {
  const out: string[] = [];
  const s = statusOf(input);
  const bg = { red: '#fdecea', amber: '#fff4e0', green: '#e8f5e9' }[s.level];
  const fg = { red: RED, amber: AMBER, green: GREEN }[s.level];
  out.push(`<div class="summary-block" style="${FONT};color:#1f2328">`);
  out.push(
    `<div class="status status-${s.level}" role="status" style="background:${bg};border-left:6px solid ${fg};padding:10px 14px;margin:0 0 14px;font-size:16px">` +
      `<strong style="color:${fg};text-transform:uppercase;letter-spacing:.04em">${esc(s.headline)}</strong> — ${esc(s.parts.join(' · '))}` +
      `<div style="color:#57606a;font-size:12px;margin-top:4px">${esc(windowLine(input))}</div></div>`,
  );

  if (input.alerts.length > 0) {
    out.push(
      `<section class="alerts" aria-label="Alerts" style="border:1px solid #e0b4b4;border-radius:6px;padding:8px 14px;margin:0 0 14px">`,
    );
    out.push(`<h2 style="margin:4px 0 6px;font-size:17px;color:${RED}">Alerts (${input.alerts.length})</h2>`);
    out.push('<ul style="margin:0;padding-left:0;list-style:none">');
    for (const a of orderAlerts(input.alerts)) {
      out.push(
        `<li class="alert alert-${a.severity}" style="margin:5px 0"><span style="display:inline-block;min-width:62px;text-align:center;background:${SEVERITY_COLOR[a.severity]};color:#fff;border-radius:3px;padding:1px 6px;font-size:12px;font-weight:700">${a.severity.toUpperCase()}</span> <code style="font-size:13px">${cell(a.rule, 80)}</code> — ${cell(a.message, 400)}</li>`,
      );
    }
    out.push('</ul></section>');
  }

  if (input.warnings.length > 0) {
    out.push(
      `<section class="warnings" role="alert" aria-label="Security warnings" style="background:#fff8c5;border:2px solid ${RED};border-radius:6px;padding:8px 14px;margin:0 0 14px">`,
    );
    out.push(
      `<h2 style="margin:4px 0 6px;font-size:17px;color:${RED}">⚠ Security warning${input.warnings.length === 1 ? '' : 's'}</h2>`,
    );
    out.push('<ul style="margin:0;padding-left:20px">');
    for (const w of input.warnings)
      out.push(`<li style="margin:4px 0;font-weight:700">${cell(w, 1000)}</li>`);
    out.push('</ul></section>');
  }

  const troubled = orderHosts(input.hosts).filter((h) => h.status !== 'ok');
  if (troubled.length > 0) {
    const failed = troubled.filter((h) => h.status === 'failed').length;
    out.push(
      `<section class="failed-hosts" aria-label="Failed hosts" style="border:1px solid #e0b4b4;border-radius:6px;padding:8px 14px;margin:0 0 14px">`,
    );
    out.push(
      `<h2 style="margin:4px 0 6px;font-size:17px;color:${failed > 0 ? RED : AMBER}">Hosts not fully swept (${formatCount(troubled.length)} of ${formatCount(input.hosts.length)})</h2>`,
    );
    out.push('<ul style="margin:0;padding-left:0;list-style:none">');
    for (const h of troubled) {
      out.push(
        `<li class="host-${h.status}" style="margin:4px 0"><strong style="color:${STATUS_COLOR[h.status]}">${h.status.toUpperCase()}</strong> <strong>${cell(h.host, 100)}</strong> — ${cell(hostNote(h), 300)}</li>`,
      );
    }
    out.push('</ul></section>');
  }

  out.push(
    '<table class="overview" role="presentation" style="border-collapse:separate;border-spacing:6px;margin:0 -6px 8px"><tr>',
  );
  tiles(input).forEach((t, i) => {
    if (i === 5) out.push('</tr><tr>');
    const color = tileAlarmColor(t);
    out.push(
      `<td class="tile" data-column="${esc(t.column ?? '')}" style="background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px;vertical-align:top">` +
        `<div style="font-size:12px;color:#57606a">${esc(t.label)}</div>` +
        `<div class="value" style="font-size:22px;font-weight:700;${color ? `color:${color}` : ''}">${esc(t.value)}</div></td>`,
    );
  });
  out.push('</tr></table>');
  out.push('</div>');
  return out.join('\n');
}

/** The same as renderSummaryBlock, as plain text: one value per line, control characters removed. */
export function renderSummaryText(input: SummaryBlockInput): string {
  const one = (v: string, max = 300): string => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a host must not forge a line of the mail
    const line = v.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ');
    return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
  };
  const s = statusOf(input);
  const out: string[] = [];
  out.push(`${s.headline.toUpperCase()}: ${s.parts.join(' · ')}`);
  out.push(one(windowLine(input), 500));
  if (input.alerts.length > 0) {
    out.push('', `ALERTS (${input.alerts.length})`);
    for (const a of orderAlerts(input.alerts))
      out.push(`  [${a.severity.toUpperCase()}] ${one(a.rule, 80)}: ${one(a.message, 400)}`);
  }
  if (input.warnings.length > 0) {
    out.push('', `!!! SECURITY WARNING${input.warnings.length === 1 ? '' : 'S'} !!!`);
    for (const w of input.warnings) out.push(`  ! ${one(w, 1000)}`);
  }
  const troubled = orderHosts(input.hosts).filter((h) => h.status !== 'ok');
  if (troubled.length > 0) {
    out.push('', `HOSTS NOT FULLY SWEPT (${troubled.length} of ${input.hosts.length})`);
    for (const h of troubled)
      out.push(`  ${h.status.toUpperCase()} ${one(h.host, 100)} — ${one(hostNote(h))}`);
  }
  out.push('', 'FLEET');
  for (const t of tiles(input)) out.push(`  ${t.label}: ${t.value}`);
  return `${out.join('\n')}\n`;
}

const HOST_COLUMNS: readonly {
  readonly key: keyof SummaryRow;
  readonly label: string;
  readonly alarm?: true;
}[] = [
  { key: 'events', label: 'Events' },
  { key: 'failed_events', label: 'Failed events' },
  { key: 'logins', label: 'Logins' },
  { key: 'failed_logins', label: 'Failed logins', alarm: true },
  { key: 'failed_authentications', label: 'Failed auth', alarm: true },
  { key: 'account_changes', label: 'Account changes', alarm: true },
  { key: 'config_changes', label: 'Config changes' },
  { key: 'anomalies', label: 'Anomalies', alarm: true },
  { key: 'avcs', label: 'AVCs', alarm: true },
];

/** `2026-11-20 01:06 → 11-23 01:08` (the year and month of the end only when they differ). */
function span(r: SummaryRow | undefined): string {
  const first = shortTime(r?.first_event ?? '').slice(0, 16);
  const last = shortTime(r?.last_event ?? '').slice(0, 16);
  if (first === '' || last === '') return first || last;
  if (first === last) return first;
  const cut =
    first.slice(0, 4) === last.slice(0, 4) ? (first.slice(0, 10) === last.slice(0, 10) ? 11 : 5) : 0;
  return `${first} → ${last.slice(cut)}`;
}

/** `3 files · 961 kB · 1.2 s`. */
function collected(files: number, bytes: number, durationMs?: number): string {
  const parts = [plural(files, 'file'), formatBytes(bytes)];
  if (durationMs !== undefined) parts.push(formatDuration(durationMs));
  return parts.join(' · ');
}

/** Every host: outcome and summary counts, failed first; hosts with rows but no outcome (a local parse) last. */
function renderHostTable(input: SummaryBlockInput): string {
  const rows = new Map(input.summary.filter((r) => r.host !== FLEET_HOST).map((r) => [r.host, r]));
  const out: string[] = [];
  out.push('<div class="scroll"><table class="grid hosts" id="host-table"><thead><tr>');
  out.push('<th scope="col">Status</th><th scope="col">Host</th>');
  for (const c of HOST_COLUMNS) out.push(`<th scope="col" class="num">${esc(c.label)}</th>`);
  out.push('<th scope="col">Events from → to (UTC)</th><th scope="col">Collected</th>');
  out.push('</tr></thead><tbody>');
  const counts = (r: SummaryRow | undefined): string =>
    HOST_COLUMNS.map((c) => {
      const v = r?.[c.key] ?? '';
      const hot = c.alarm && v !== '' && v !== '0' ? ' hot' : '';
      return `<td class="num${hot}">${esc(formatCell(v))}</td>`;
    }).join('');
  const times = (r: SummaryRow | undefined): string => `<td class="time">${esc(span(r))}</td>`;
  // A failed host's counts are unknown, not zero: its row says why instead.
  const width = HOST_COLUMNS.length + 1;
  for (const h of orderHosts(input.hosts)) {
    const r = rows.get(h.host);
    rows.delete(h.host);
    const hasNote = !(h.status === 'ok' && h.message === '');
    const unknown = h.status === 'failed' && h.events === 0;
    const data = unknown
      ? `<td colspan="${width}" class="note">no data: the host was not swept — ${cell(hostNote(h), 300)}</td>`
      : `${counts(r)}${times(r)}`;
    out.push(
      `<tr class="host status-${h.status}" data-host="${esc(h.host)}" data-status="${h.status}"><td><span class="pill pill-${h.status}">${h.status}</span></td><th scope="row">${cell(h.host, 100)}</th>${data}` +
        `<td class="collected">${esc(collected(h.files, h.bytes, h.durationMs))}</td></tr>`,
    );
    if (hasNote && !unknown) {
      out.push(
        `<tr class="host-note status-${h.status}"><td></td><td colspan="${width + 2}" class="note">${cell(hostNote(h), 300)}</td></tr>`,
      );
    }
  }
  for (const [host, r] of rows) {
    out.push(
      `<tr class="host" data-host="${esc(host)}" data-status=""><td><span class="pill">—</span></td><th scope="row">${cell(host, 100)}</th>${counts(r)}${times(r)}<td></td></tr>`,
    );
  }
  out.push('</tbody>');
  const fleet = fleetRow(input.summary);
  if (fleet) {
    const files = input.hosts.reduce((a, h) => a + h.files, 0);
    const bytes = input.hosts.reduce((a, h) => a + h.bytes, 0);
    out.push(
      `<tfoot><tr class="fleet"><td></td><th scope="row">Fleet</th>${counts(fleet)}${times(fleet)}<td class="collected">${esc(collected(files, bytes))}</td></tr></tfoot>`,
    );
  }
  out.push('</table></div>');
  return out.join('\n');
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#fff;color:#1f2328;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header.top{background:#24292f;color:#fff;padding:14px 28px}
header.top h1{margin:0;font-size:20px;font-weight:600}
header.top .sub{color:#c9d1d9;font-size:13px}
main{max-width:1240px;margin:0 auto;padding:18px 28px 40px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid #d8dee4}
h3{font-size:15px;margin:12px 0 6px}
.muted{color:#57606a}
code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:0 3px;border-radius:3px;overflow-wrap:anywhere}
table.grid{border-collapse:collapse;font-size:13px}
table.grid th,table.grid td{border-bottom:1px solid #e1e4e8;padding:4px 8px;text-align:left;vertical-align:top}
table.grid thead th{background:#f6f8fa;border-bottom:2px solid #d0d7de;font-weight:600;white-space:nowrap}
table.grid tbody tr:nth-child(even){background:#fbfcfd}
table.grid .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.grid td.hot{color:#b71c1c;font-weight:700}
table.grid tfoot th,table.grid tfoot td{border-top:2px solid #d0d7de;font-weight:700}
table.hosts tr.status-failed{background:#fdecea!important}
table.hosts tr.status-partial{background:#fff4e0!important}
table.hosts td.time,table.hosts td.collected{white-space:nowrap;color:#57606a}
table.hosts th[scope=row]{white-space:nowrap}
table.hosts thead th,table.hosts thead th.num{white-space:normal;vertical-align:bottom}
table.hosts thead th.num{max-width:84px}
table.hosts td.note{color:#8a1c1c;overflow-wrap:anywhere}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700;color:#fff;background:#8c959f}
.pill-failed{background:#b71c1c}.pill-partial{background:#a05a00}.pill-ok{background:#1b5e20}
.scroll{overflow-x:auto}
.figure{margin:6px 0 4px}
svg.chart{max-width:100%;height:auto;font:16px system-ui,sans-serif}
svg.chart .tick{fill:#57606a}
svg.chart .value{fill:#1f2328;font-weight:600}
svg.chart .empty{fill:#8c959f;font-size:14px}
ul.legend{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
details.data{margin:2px 0 18px;font-size:13px}
details.data summary{cursor:pointer;color:#0969da}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:8px 28px}
.chart-box h3{margin:4px 0 2px}
table.findings-counts tr.zero{color:#8c959f}
table.findings-counts tr.hit td.count{font-weight:700}
details.finding{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:6px 10px}
details.finding summary{cursor:pointer;font-size:14px}
.badge{display:inline-block;background:#24292f;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;font-weight:700}
table.rows{margin-top:8px;width:100%}
table.rows td{white-space:nowrap}
table.rows td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:180px;max-width:420px}
table.rows tr.failed td{color:#8a1c1c}
p.more{margin:6px 0 2px;color:#57606a}
.tops{display:flex;flex-wrap:wrap;gap:24px}
.tops section{flex:1 1 420px}
td.barcell{width:160px}
.hbar{display:block;height:10px;background:#c62828;border-radius:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
footer{margin-top:32px;color:#57606a;font-size:12px;border-top:1px solid #d8dee4;padding-top:8px}
`;

/** The Content-Security-Policy of the page: nothing may be loaded, inline styles and data: images only. */
/** The page's file name in the run folder. */
export const REPORT_HTML_FILE = 'report.html';

export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The whole report.html, as a string. */
export function renderReportHtml(input: ReportHtmlInput): string {
  const out: string[] = [];
  const t = input.timeline;
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en"><head><meta charset="utf-8">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="${esc(REPORT_CSP)}">`);
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push('<meta name="referrer" content="no-referrer">');
  out.push(`<title>auditsweep report — ${cell(input.runId, 100)}</title>`);
  out.push(`<style>${CSS}</style></head><body>`);
  out.push(
    `<header class="top"><h1>auditsweep — audit log review</h1><div class="sub">run ${cell(input.runId, 100)} · ${esc(plural(input.hosts.length, 'host'))}</div></header>`,
  );
  out.push('<main>');
  out.push('<section id="summary" aria-label="Summary">');
  out.push(renderSummaryBlock(input));
  out.push('</section>');

  out.push('<section id="hosts"><h2>Hosts <span class="muted">(failed first)</span></h2>');
  out.push(renderHostTable(input));
  out.push('</section>');

  out.push('<section id="charts"><h2>Activity</h2><div class="charts">');
  out.push('<div class="chart-box"><h3>Events per day, by host</h3>');
  out.push(renderEventsPerDayChart(t));
  out.push(`</div><div class="chart-box"><h3>Failed events per ${t.failures.bucket}, whole fleet</h3>`);
  out.push(renderFailuresChart(t));
  out.push('</div>');
  if (t.outOfRange > 0) {
    out.push(
      `<p class="muted">${esc(plural(t.outOfRange, 'event'))} fell on days past the chart's limit and are counted in the tables only.</p>`,
    );
  }
  out.push('</div></section>');

  out.push('<section id="findings"><h2>Findings</h2>');
  out.push(renderFindingCounts(input.findings));
  out.push('</section>');

  out.push('<section id="auth-failure-tops"><h2>Authentication failures: top sources and targets</h2>');
  out.push(renderAuthFailureTops(input.authFailureTops));
  out.push('</section>');

  out.push('<section id="finding-rows"><h2>Findings: first rows of each kind</h2>');
  out.push(renderFindingSamples(input.findings));
  out.push('</section>');

  out.push(
    `<footer>Generated by auditsweep ${cell(input.toolVersion, 40)} at ${esc(formatTime(input.generatedAt))}. ` +
      'This page loads nothing and runs no script; every row is in the CSV files beside it ' +
      '(<code>summary.csv</code>, <code>hosts.csv</code>, <code>events.csv</code>, <code>findings-*.csv</code>).</footer>',
  );
  out.push('</main></body></html>');
  return `${out.join('\n')}\n`;
}
