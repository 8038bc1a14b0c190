/**
 * report.html's findings: a count per kind, the first rows of each kind (the CSV has them all), and the top
 * sources and targets of authentication failures. `FindingDigest` collects the counts and samples while findings
 * stream by, in memory bounded by the sample size.
 */
import {
  AUTH_FAILURE_TOP_FILE,
  type AuthFailureTopRow,
  FINDING_COLUMNS,
  FINDING_FILES,
  FINDING_KINDS,
  type Finding,
  type FindingKind,
  type FindingRow,
} from './findings.js';
import { cell, esc, formatCount, shortTime } from './html-format.js';
import { FLEET_HOST } from './summary.js';

/** How many findings of each kind the report found, and the first of them. */
export interface FindingSection {
  readonly kind: FindingKind;
  readonly count: number;
  /** The first rows (in CSV order when the caller sorts them); the page shows at most SAMPLE_ROWS. */
  readonly sample: readonly FindingRow[];
}

export const SAMPLE_ROWS = 50;

/** Collects FindingSections: `add(finding)` per finding, `sections()` at the end (every kind, in FINDING_KINDS order). */
export class FindingDigest {
  private readonly counts = new Map<FindingKind, number>();
  private readonly samples = new Map<FindingKind, FindingRow[]>();

  constructor(private readonly sampleRows = SAMPLE_ROWS) {}

  add(finding: Finding): void {
    this.counts.set(finding.kind, (this.counts.get(finding.kind) ?? 0) + 1);
    let sample = this.samples.get(finding.kind);
    if (sample === undefined) {
      sample = [];
      this.samples.set(finding.kind, sample);
    }
    if (sample.length < this.sampleRows) sample.push(finding.row);
  }

  /**
   * Adds a batch's findings: `counts` per kind (FINDING_KINDS order) and, for the kinds whose sample was not full
   * when the batch was made ({@link wanted}), the batch's first rows as cells in FINDING_COLUMNS order.
   * Batches added in the order of their findings give what `add` gives finding by finding.
   */
  addBatch(counts: readonly number[], samples: readonly (readonly (readonly string[])[] | null)[]): void {
    FINDING_KINDS.forEach((kind, k) => {
      const n = counts[k] ?? 0;
      if (n === 0) return;
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
      let sample = this.samples.get(kind);
      if (sample === undefined) {
        sample = [];
        this.samples.set(kind, sample);
      }
      const rows = samples[k];
      if (rows === null || rows === undefined) return;
      const columns = FINDING_COLUMNS[kind];
      for (const cells of rows) {
        if (sample.length >= this.sampleRows) break;
        const row: FindingRow = {};
        columns.forEach((c, i) => {
          row[c] = cells[i] ?? '';
        });
        sample.push(row);
      }
    });
  }

  /** Bit k set: the sample of FINDING_KINDS[k] still wants rows. A batch made now carries rows of those kinds. */
  wanted(): number {
    let mask = 0;
    FINDING_KINDS.forEach((kind, k) => {
      if ((this.samples.get(kind)?.length ?? 0) < this.sampleRows) mask |= 1 << k;
    });
    return mask;
  }

  sections(): FindingSection[] {
    return FINDING_KINDS.map((kind) => ({
      kind,
      count: this.counts.get(kind) ?? 0,
      sample: this.samples.get(kind) ?? [],
    }));
  }
}

/** What each kind means, for a reviewer who has not read findings.ts. */
export const FINDING_TITLES: Record<FindingKind, { readonly title: string; readonly about: string }> = {
  'auth-failures': {
    title: 'Authentication failures',
    about: 'failed passwords, keys and PAM account checks',
  },
  logins: { title: 'Logins', about: 'successful logins' },
  privilege: { title: 'Privilege use', about: 'sudo commands, su sessions, role changes' },
  'account-changes': {
    title: 'Account changes',
    about: 'users and groups added, changed, deleted; passwords',
  },
  'watched-files': { title: 'Watched files', about: 'access to paths under an audit rule key' },
  'audit-config': {
    title: 'Audit configuration',
    about: 'rule changes, auditd start/stop/rotate, netfilter',
  },
  'mac-denials': { title: 'MAC denials', about: 'SELinux AVC and AppArmor denials' },
  anomalies: { title: 'Anomalies', about: 'ANOM_* events: promiscuous mode, crashes, abnormal ends' },
};

/** Kinds whose rows a reviewer reads first: they are shown expanded. */
const OPEN_KINDS = new Set<FindingKind>([
  'auth-failures',
  'privilege',
  'account-changes',
  'audit-config',
  'mac-denials',
  'anomalies',
]);

/** Columns left out of the page: the CSV has them (node and serial to look an event up, the source line). */
const HIDDEN_COLUMNS = new Set(['node', 'serial', 'source_file', 'source_line']);

/** Columns of free text (commands, paths, contexts), wrapped; the others stay on one line. */
const WRAP_COLUMNS = new Set(['command', 'object', 'cwd', 'subject', 'permission', 'target', 'exe', 'op']);

/** The short table of counts per kind. */
export function renderFindingCounts(sections: readonly FindingSection[]): string {
  const byKind = new Map(sections.map((s) => [s.kind, s]));
  const out: string[] = [];
  out.push('<table class="grid findings-counts"><thead><tr>');
  out.push(
    '<th scope="col">Finding</th><th scope="col" class="num">Events</th><th scope="col">What it is</th><th scope="col">All rows in</th>',
  );
  out.push('</tr></thead><tbody>');
  for (const kind of FINDING_KINDS) {
    const count = byKind.get(kind)?.count ?? 0;
    const t = FINDING_TITLES[kind];
    const name = count > 0 ? `<a href="#finding-${kind}">${esc(t.title)}</a>` : esc(t.title);
    out.push(
      `<tr data-kind="${kind}" class="${count > 0 ? 'hit' : 'zero'}"><th scope="row">${name}</th><td class="num count">${esc(formatCount(count))}</td><td>${esc(t.about)}</td><td><code>${esc(FINDING_FILES[kind])}</code></td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

/** One section per kind with findings: the first rows as a table, and where the rest are. */
export function renderFindingSamples(sections: readonly FindingSection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    if (s.count === 0) continue;
    const t = FINDING_TITLES[s.kind];
    const rows = s.sample.slice(0, SAMPLE_ROWS);
    const columns = FINDING_COLUMNS[s.kind].filter((c) => !HIDDEN_COLUMNS.has(c));
    const shown =
      rows.length < s.count
        ? `the first ${formatCount(rows.length)} of ${formatCount(s.count)}; all are in`
        : `all ${formatCount(s.count)}; also in`;
    out.push(`<details class="finding" id="finding-${s.kind}"${OPEN_KINDS.has(s.kind) ? ' open' : ''}>`);
    out.push(
      `<summary><strong>${esc(t.title)}</strong> <span class="badge">${esc(formatCount(s.count))}</span> <span class="muted">${esc(shown)} <code>${esc(FINDING_FILES[s.kind])}</code></span></summary>`,
    );
    out.push('<div class="scroll"><table class="grid rows"><thead><tr>');
    for (const c of columns) out.push(`<th scope="col">${esc(c)}</th>`);
    out.push('</tr></thead><tbody>');
    for (const row of rows) {
      // Every auth failure failed: red rows only where results differ.
      const failed = row.result === 'failed' && s.kind !== 'auth-failures' ? ' class="failed"' : '';
      out.push(`<tr${failed}>`);
      for (const c of columns) {
        const v = row[c] ?? '';
        const wrap = WRAP_COLUMNS.has(c);
        const value = c === 'time' ? esc(shortTime(v)) : cell(v, wrap ? 200 : 60);
        out.push(`<td${wrap ? ' class="wrap"' : ''}>${value}</td>`);
      }
      out.push('</tr>');
    }
    out.push('</tbody></table></div>');
    if (rows.length < s.count) {
      out.push(
        `<p class="more">${esc(formatCount(s.count - rows.length))} more in <code>${esc(FINDING_FILES[s.kind])}</code>.</p>`,
      );
    }
    out.push('</details>');
  }
  return out.join('\n');
}

/** The fleet's top source addresses and targeted accounts of authentication failures, as two bar lists. */
export function renderAuthFailureTops(rows: readonly AuthFailureTopRow[], n = 10): string {
  const fleet = rows.filter((r) => r.host === FLEET_HOST);
  const out: string[] = [];
  out.push('<div class="tops">');
  for (const [dimension, title] of [
    ['address', 'Source addresses'],
    ['account', 'Accounts tried'],
  ] as const) {
    const top = fleet.filter((r) => r.dimension === dimension).slice(0, n);
    const max = Math.max(1, ...top.map((r) => Number(r.failures) || 0));
    out.push(`<section class="top" data-dimension="${dimension}"><h3>${esc(title)}</h3>`);
    if (top.length === 0) {
      out.push('<p class="muted">none</p></section>');
      continue;
    }
    out.push(
      '<table class="grid"><thead><tr><th scope="col">#</th><th scope="col">Value</th><th scope="col" class="num">Failures</th><th scope="col"><span class="sr">Share</span></th></tr></thead><tbody>',
    );
    for (const r of top) {
      const failures = Number(r.failures) || 0;
      const approx = r.max_overcount !== '0' && r.max_overcount !== '' ? ` (≤ +${r.max_overcount})` : '';
      const pct = Math.round((100 * failures) / max);
      out.push(
        `<tr><td class="num">${esc(r.rank)}</td><td><code>${cell(r.value, 80)}</code></td><td class="num">${esc(formatCount(failures))}${esc(approx)}</td><td class="barcell"><span class="hbar" style="width:${pct}%"></span></td></tr>`,
      );
    }
    out.push('</tbody></table></section>');
  }
  out.push('</div>');
  out.push(`<p class="muted">Per host in <code>${esc(AUTH_FAILURE_TOP_FILE)}</code>.</p>`);
  return out.join('\n');
}
