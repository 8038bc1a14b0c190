/**
 * report.html end to end: the real ENRICHED corpus parsed for two pseudo-hosts (the logs shifted by whole days so
 * the week has several days), a failed host, an alert and a security warning; the page is loaded in headless
 * Chromium and checked in the DOM Chromium built, and a screenshot is saved to test-artifacts/report.png.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import { AuthFailureTops, classifyFindings, FINDING_KINDS } from '../../src/report/findings.js';
import {
  FindingDigest,
  type ReportHtmlInput,
  renderReportHtml,
  renderSummaryBlock,
  renderSummaryText,
} from '../../src/report/html.js';
import { FLEET_HOST, SummaryAccumulator } from '../../src/report/summary.js';
import { TimelineAccumulator } from '../../src/report/timeline.js';
import type { HostOutcome, ParsedEvent } from '../../src/types.js';
import { dumpDom, screenshot } from '../helpers/chromium.js';

const CORPUS = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'enriched');
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const DAY = 86_400;

const HOSTILE_MESSAGE = 'connect failed: <script>alert(1)</script>"><img src=x onerror=alert(2)>';
const HOSTILE_COMMAND = '/bin/sh -c "<script>alert(3)</script>"><img src=x onerror=alert(4)>';
const HOSTILE_ACCOUNT = '"><img src=x onerror=alert(5)>';
const hex = (s: string): string => Buffer.from(s).toString('hex').toUpperCase();

/** The corpus log `name` with every `msg=audit(SEC` moved by `days`, plus `extra` lines, in `dir`. */
function shifted(dir: string, name: string, days: number, extra = ''): string {
  const text = readFileSync(join(CORPUS, name), 'utf8').replace(
    /msg=audit\((\d+)\./g,
    (_m, sec: string) => `msg=audit(${Number(sec) + days * DAY}.`,
  );
  const path = join(dir, `${name}.${days}`);
  writeFileSync(path, text + extra);
  return path;
}

async function parseHost(host: string, files: readonly string[]): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  const issues: unknown[] = [];
  const parser = new HostLogParser({ host }, { event: (e) => events.push(e), issue: (i) => issues.push(i) });
  expect(await parseLocalFiles(files, parser)).toEqual([]);
  expect(issues).toEqual([]);
  return events;
}

interface Built {
  readonly input: ReportHtmlInput;
  readonly events: Map<string, number>;
}

async function buildInput(): Promise<Built> {
  const dir = await mkdtemp(join(tmpdir(), 'auditsweep-html-'));
  // Lines an attacker can get into a log: a command run through sudo, an account name tried over SSH.
  const hostile =
    `type=USER_CMD msg=audit(1795396090.001:99001): pid=9 uid=4001 auid=4001 ses=566 msg='cwd="/tmp" cmd=${hex(HOSTILE_COMMAND)} exe="/usr/bin/sudo" terminal=pts/1 res=success'\n` +
    `type=USER_AUTH msg=audit(1795396090.002:99002): pid=10 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct=${hex(HOSTILE_ACCOUNT)} exe="/usr/sbin/sshd" hostname=203.0.113.9 addr=203.0.113.9 terminal=ssh res=failed'\n`;
  const hosts: Record<string, string[]> = {
    'web-01': [
      shifted(dir, 'audit.log.2', -4),
      shifted(dir, 'audit.log.1', -2),
      shifted(dir, 'audit.log', 0, hostile),
    ],
    'db-01': [shifted(dir, 'audit.log.1', -3), shifted(dir, 'audit.log', -1)],
  };
  const summary = new SummaryAccumulator();
  const timeline = new TimelineAccumulator();
  const digest = new FindingDigest();
  const tops = new AuthFailureTops();
  const outcomes: HostOutcome[] = [];
  const events = new Map<string, number>();
  for (const [host, files] of Object.entries(hosts)) {
    const parsed = await parseHost(host, files);
    events.set(host, parsed.length);
    for (const e of parsed) {
      summary.add(host, e);
      timeline.add(host, e);
      for (const f of classifyFindings(e)) {
        digest.add(f);
        tops.add(f);
      }
    }
    const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
    outcomes.push({
      host,
      status: 'ok',
      files: files.length,
      bytes,
      events: parsed.length,
      durationMs: 1234,
      message: '',
    });
  }
  summary.addHost('bastion-01');
  outcomes.push({
    host: 'bastion-01',
    status: 'failed',
    code: 'HOST_KEY_CHANGED',
    message: HOSTILE_MESSAGE,
    files: 0,
    bytes: 0,
    events: 0,
    durationMs: 310,
  });
  const input: ReportHtmlInput = {
    runId: '2026-11-23T0107Z-3f9a',
    generatedAt: new Date('2026-11-23T02:00:00Z'),
    window: { since: new Date('2026-11-19T00:00:00Z'), until: new Date('2026-11-24T00:00:00Z') },
    toolVersion: '0.1.0',
    warnings: [
      'Host keys were NOT verified (--insecure-accept-unknown-host-keys): a host could be impersonated.',
    ],
    alerts: [
      { rule: 'low-rule', severity: 'low', message: 'audit rules changed on web-01' },
      {
        rule: 'failed-logins-per-address',
        severity: 'high',
        message: `5 failed logins from 203.0.113.9 ${HOSTILE_MESSAGE}`,
      },
    ],
    hosts: outcomes,
    summary: summary.rows(),
    findings: digest.sections(),
    authFailureTops: tops.rows(),
    timeline: timeline.result(),
  };
  return { input, events };
}

/** Text content of an HTML fragment: tags removed, the few entities Chromium writes decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

function attrValues(dom: string, re: RegExp): string[] {
  return [...dom.matchAll(re)].map((m) => m[1] ?? '');
}

describe('report.html in headless Chromium', () => {
  let built: Built;
  let html: string;
  let dom: string;
  let file: string;

  beforeAll(async () => {
    built = await buildInput();
    html = renderReportHtml(built.input);
    mkdirSync(ARTIFACTS, { recursive: true });
    file = join(ARTIFACTS, 'report.html');
    writeFileSync(file, html);
    dom = await dumpDom(file);
  }, 120_000);

  it('keeps the strict CSP and loads nothing from outside the page', () => {
    expect(dom).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    const refs = attrValues(dom, /\s(?:src|href|srcset|action|xlink:href)="([^"]*)"/g);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/^#/);
    expect(dom).not.toMatch(/<(script|link|iframe|object|embed|img)\b/i);
    expect(dom).not.toMatch(/url\(/i);
  });

  it('shows injected markup from hosts and logs as text', () => {
    expect(dom).not.toMatch(/<script/i);
    expect(dom).not.toMatch(/<img/i);
    // Text is escaped, so every '<' left in the DOM opens a real tag: none may carry an event handler.
    expect(dom).not.toMatch(/<[^>]*\son\w+=/i);
    const page = text(dom);
    expect(page).toContain(HOSTILE_MESSAGE);
    expect(page).toContain(HOSTILE_COMMAND);
    expect(page).toContain(HOSTILE_ACCOUNT);
  });

  it('leads with the status, the alerts (high first), the security warning and the failed host', () => {
    const status = /<div class="status status-(\w+)"[^>]*>([\s\S]*?)<\/div><\/div>/.exec(dom);
    expect(status?.[1]).toBe('red');
    expect(text(status?.[2] ?? '')).toMatch(
      /^NEEDS REVIEW — 2 alerts \(1 high\) · 1 security warning · 1 of 3 hosts failed/i,
    );
    const order = [
      'class="alerts"',
      'class="warnings"',
      'class="failed-hosts"',
      'class="overview"',
      'id="host-table"',
    ];
    const at = order.map((s) => dom.indexOf(s));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(attrValues(dom, /class="alert alert-(\w+)"/g)).toEqual(['high', 'low']);
    expect(text(/class="warnings"[\s\S]*?<\/section>/.exec(dom)?.[0] ?? '')).toContain(
      'Host keys were NOT verified',
    );
    expect(text(/class="failed-hosts"[\s\S]*?<\/section>/.exec(dom)?.[0] ?? '')).toContain('bastion-01');
  });

  it('shows the fleet overview numbers of summary.csv', () => {
    const fleet = built.input.summary.find((r) => r.host === FLEET_HOST)!;
    const tile = (column: string): string =>
      text(
        new RegExp(`data-column="${column}"[^>]*>[\\s\\S]*?class="value"[^>]*>([^<]*)<`).exec(dom)?.[1] ?? '',
      );
    const total = [...built.events.values()].reduce((a, b) => a + b, 0);
    expect(Number(fleet.events)).toBe(total);
    expect(tile('events')).toBe(total.toLocaleString('en-US'));
    expect(tile('hosts')).toBe('2 / 3');
    for (const c of [
      'failed_events',
      'logins',
      'failed_logins',
      'failed_authentications',
      'account_changes',
    ] as const) {
      expect(tile(c)).toBe(Number(fleet[c]).toLocaleString('en-US'));
    }
    expect(Number(fleet.failed_authentications)).toBeGreaterThan(0);
  });

  it('lists every host in the per-host table, failed hosts first, with its events', () => {
    const table = /id="host-table"[\s\S]*?<\/table>/.exec(dom)?.[0] ?? '';
    expect(attrValues(table, /<tr class="host[^"]*" data-host="([^"]*)"/g)).toEqual([
      'bastion-01',
      'db-01',
      'web-01',
    ]);
    expect(attrValues(table, /data-status="(\w*)"/g)).toEqual(['failed', 'ok', 'ok']);
    for (const [host, n] of built.events) {
      const row = new RegExp(`data-host="${host}"[\\s\\S]*?</tr>`).exec(table)?.[0] ?? '';
      expect(text(row)).toContain(`${host} ${n.toLocaleString('en-US')}`);
    }
    expect(text(/data-host="bastion-01"[\s\S]*?<\/tr>/.exec(table)?.[0] ?? '')).toContain('HOST_KEY_CHANGED');
    expect(text(/data-host="bastion-01"[\s\S]*?<\/tr>/.exec(table)?.[0] ?? '')).toContain(
      'no data: the host was not swept',
    );
  });

  it('shows the count of every finding kind, and the first rows of those found', () => {
    const sections = new Map(built.input.findings.map((s) => [s.kind, s]));
    for (const kind of FINDING_KINDS) {
      const row = new RegExp(`<tr data-kind="${kind}"[\\s\\S]*?</tr>`).exec(dom)?.[0] ?? '';
      const count = sections.get(kind)?.count ?? 0;
      expect(text(/class="num count">([^<]*)</.exec(row)?.[1] ?? '')).toBe(count.toLocaleString('en-US'));
      expect(dom.includes(`id="finding-${kind}"`)).toBe(count > 0);
      if (count > 0) {
        const section = new RegExp(`id="finding-${kind}"[\\s\\S]*?</details>`).exec(dom)?.[0] ?? '';
        const rows = (section.match(/<tbody>[\s\S]*?<\/tbody>/)?.[0].match(/<tr/g) ?? []).length;
        expect(rows).toBe(Math.min(50, count));
      }
    }
    expect(sections.get('auth-failures')!.count).toBeGreaterThan(0);
    expect(sections.get('privilege')!.count).toBeGreaterThan(0);
  });

  it('draws the events chart with a bar for each day and the failures chart, each with a title, desc and table', () => {
    const t = built.input.timeline;
    expect(t.days).toEqual(['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23']);
    const events = /<svg[^>]*id="chart-events"[\s\S]*?<\/svg>/.exec(dom)?.[0] ?? '';
    expect(events).toContain('<title id="chart-events-title">');
    expect(events).toContain('<desc id="chart-events-desc">');
    const days = [...events.matchAll(/<g class="day" data-day="([^"]+)">([\s\S]*?)<\/g>/g)];
    expect(days.map((m) => m[1])).toEqual(t.days);
    // Every day of the shifted logs has events: one rect per host that logged that day.
    const perDay = days.map((m) => (m[2]?.match(/<rect class="bar"/g) ?? []).length);
    expect(perDay).toEqual(t.days.map((_d, i) => t.series.filter((s) => (s.perDay[i] ?? 0) > 0).length));
    expect(perDay.every((n) => n > 0)).toBe(true);
    const failures = /<svg[^>]*id="chart-failures"[\s\S]*?<\/svg>/.exec(dom)?.[0] ?? '';
    expect(failures).toContain('<desc id="chart-failures-desc">');
    expect(t.failures.bucket).toBe('day');
    expect((failures.match(/<rect class="bar fail"/g) ?? []).length).toBe(
      t.failures.counts.filter((n) => n > 0).length,
    );
    expect(t.failures.total).toBeGreaterThan(0);
    expect(dom).toContain('Events per day as a table');
    expect(dom).toContain('Failed events per day as a table');
  });

  it('saves a screenshot of the page', async () => {
    const png = join(ARTIFACTS, 'report.png');
    await screenshot(file, png, 2000);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(bytes.length).toBeGreaterThan(20_000);
    expect(bytes.readUInt32BE(16)).toBe(1280);
  }, 120_000);

  it('renders the same top for the mail, as HTML with inline styles and as text', async () => {
    const block = renderSummaryBlock(built.input);
    expect(html).toContain(block);
    expect(block).not.toMatch(
      /class="(?!status|alert|warnings|failed-hosts|host-|overview|tile|value|summary-block)/,
    );
    const plain = renderSummaryText(built.input);
    const lines = plain.split('\n');
    expect(lines[0]).toMatch(/^NEEDS REVIEW: 2 alerts \(1 high\)/);
    expect(plain.indexOf('ALERTS')).toBeLessThan(plain.indexOf('SECURITY WARNING'));
    expect(plain.indexOf('SECURITY WARNING')).toBeLessThan(plain.indexOf('HOSTS NOT FULLY SWEPT'));
    expect(plain).toContain('  FAILED bastion-01 — HOST_KEY_CHANGED: connect failed:');
    expect(plain).toContain(
      `  Events: ${[...built.events.values()].reduce((a, b) => a + b, 0).toLocaleString('en-US')}`,
    );
  });
});

describe('renderReportHtml without events', () => {
  it('says all is well for a clean run and draws empty charts', () => {
    const input: ReportHtmlInput = {
      runId: 'r1',
      generatedAt: new Date('2026-11-23T02:00:00Z'),
      window: {},
      toolVersion: '0.1.0',
      warnings: [],
      alerts: [],
      hosts: [{ host: 'quiet', status: 'ok', files: 1, bytes: 0, events: 0, durationMs: 5, message: '' }],
      summary: [],
      findings: new FindingDigest().sections(),
      authFailureTops: [],
      timeline: new TimelineAccumulator().result(),
    };
    const page = renderReportHtml(input);
    expect(page).toContain('class="status status-green"');
    expect(text(page)).toContain('No alerts — all 1 host swept · no security warnings');
    expect(page).toContain('no events in the window');
    expect(page).toContain('no failed events');
    expect(page).not.toContain('class="alerts"');
    expect(page).not.toContain('class="warnings"');
    expect(renderSummaryText(input).split('\n')[0]).toBe(
      'NO ALERTS: all 1 host swept · no security warnings',
    );
  });
});
