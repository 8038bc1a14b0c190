/**
 * report.html's charts as inline SVG, drawn here so the page needs no script and no external asset. Each chart has
 * a <title> and <desc> for screen readers and a data table beside it (in a <details>) with the same numbers.
 */
import { esc, formatCount } from './html-format.js';
import { OTHER_HOSTS, type TimelineData } from './timeline.js';

/** Series colours (colour-blind safe, Okabe–Ito then Tableau); `(others)` is grey. */
export const SERIES_COLORS = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#8c564b',
  '#f0e442',
  '#17becf',
  '#7f7f7f',
];
const OTHERS_COLOR = '#b0b0b0';
const FAIL_COLOR = '#c62828';

const WIDTH = 880;
const HEIGHT = 240;
const LEFT = 56;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 44;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;

/** A round axis maximum ≥ `max`: 1, 2, 2.5 or 5 × 10^k, so that 4 gridlines fall on readable numbers. */
export function niceMax(max: number): number {
  if (max <= 4) return 4;
  const step = max / 4;
  const mag = 10 ** Math.floor(Math.log10(step));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= step) return m * mag * 4;
  return max;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function axes(top: number): string[] {
  const out: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = TOP + PLOT_H - (PLOT_H * i) / 4;
    const value = (top * i) / 4;
    out.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${fmt(y)}" y2="${fmt(y)}" stroke="${i === 0 ? '#666' : '#e3e3e3'}"/>`,
      `<text x="${LEFT - 6}" y="${fmt(y + 4)}" text-anchor="end" class="tick">${esc(formatCount(value))}</text>`,
    );
  }
  return out;
}

function svgOpen(id: string, title: string, desc: string): string {
  return (
    `<svg class="chart" id="${id}" role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `width="${WIDTH}" height="${HEIGHT}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}-title">${esc(title)}</title><desc id="${id}-desc">${esc(desc)}</desc>`
  );
}

/** `2026-11-23` → `Mon 23 Nov`. */
function dayLabel(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return day;
  const wd = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mo = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  return `${wd} ${d.getUTCDate()} ${mo}`;
}

export function seriesColor(host: string, index: number): string {
  return host === OTHER_HOSTS ? OTHERS_COLOR : (SERIES_COLORS[index % SERIES_COLORS.length] ?? '#333');
}

/** Events per UTC day, stacked by host (top hosts, then `(others)`), with a legend and a data table. */
export function renderEventsPerDayChart(t: TimelineData, id = 'chart-events'): string {
  const out: string[] = [];
  const total = t.fleetPerDay.reduce((a, b) => a + b, 0);
  const desc =
    t.days.length === 0
      ? 'No events in the window.'
      : `${formatCount(total)} events over ${t.days.length} UTC day(s), ${t.days[0]} to ${t.days[t.days.length - 1]}, ` +
        `stacked by host: ${t.series.map((s) => `${s.host} ${formatCount(s.total)}`).join(', ')}.`;
  out.push('<figure class="figure">');
  out.push(svgOpen(id, 'Events per day per host (UTC)', desc));
  const top = niceMax(Math.max(0, ...t.fleetPerDay));
  out.push(...axes(top));
  const n = Math.max(1, t.days.length);
  const band = PLOT_W / n;
  const barW = Math.min(64, band * 0.7);
  const labelEvery = Math.ceil(n / 14);
  t.days.forEach((day, i) => {
    const x = LEFT + band * i + (band - barW) / 2;
    let y = TOP + PLOT_H;
    out.push(`<g class="day" data-day="${esc(day)}">`);
    t.series.forEach((s, si) => {
      const v = s.perDay[i] ?? 0;
      if (v === 0) return;
      const h = (PLOT_H * v) / top;
      y -= h;
      out.push(
        `<rect class="bar" x="${fmt(x)}" y="${fmt(y)}" width="${fmt(barW)}" height="${fmt(Math.max(h, 0.5))}" fill="${seriesColor(s.host, si)}"><title>${esc(`${s.host}: ${formatCount(v)} events on ${day}`)}</title></rect>`,
      );
    });
    const dayTotal = t.fleetPerDay[i] ?? 0;
    if (dayTotal > 0 && barW >= 24) {
      out.push(
        `<text x="${fmt(x + barW / 2)}" y="${fmt(y - 4)}" text-anchor="middle" class="value">${esc(formatCount(dayTotal))}</text>`,
      );
    }
    if (i % labelEvery === 0) {
      out.push(
        `<text x="${fmt(LEFT + band * i + band / 2)}" y="${HEIGHT - BOTTOM + 18}" text-anchor="middle" class="tick">${esc(dayLabel(day))}</text>`,
      );
    }
    out.push('</g>');
  });
  if (t.days.length === 0) {
    out.push(
      `<text x="${LEFT + PLOT_W / 2}" y="${TOP + PLOT_H / 2}" text-anchor="middle" class="empty">no events in the window</text>`,
    );
  }
  out.push('</svg>');
  out.push('<figcaption><ul class="legend">');
  t.series.forEach((s, si) => {
    const name = s.host === OTHER_HOSTS ? `${t.otherHostCount} other hosts` : s.host;
    out.push(
      `<li><span class="swatch" style="background:${seriesColor(s.host, si)}"></span>${esc(name)} <span class="muted">${esc(formatCount(s.total))}</span></li>`,
    );
  });
  out.push('</ul></figcaption></figure>');

  out.push('<details class="data"><summary>Events per day as a table</summary>');
  out.push('<table class="grid"><thead><tr><th scope="col">Host</th>');
  for (const day of t.days) out.push(`<th scope="col" class="num">${esc(day)}</th>`);
  out.push('<th scope="col" class="num">Total</th></tr></thead><tbody>');
  for (const s of t.series) {
    out.push(`<tr><th scope="row">${esc(s.host)}</th>`);
    for (const v of s.perDay) out.push(`<td class="num">${esc(formatCount(v))}</td>`);
    out.push(`<td class="num">${esc(formatCount(s.total))}</td></tr>`);
  }
  out.push('<tr class="total"><th scope="row">Fleet</th>');
  for (const v of t.fleetPerDay) out.push(`<td class="num">${esc(formatCount(v))}</td>`);
  out.push(`<td class="num">${esc(formatCount(total))}</td></tr></tbody></table></details>`);
  return out.join('\n');
}

/** Failed events of the fleet per hour (short windows) or per day, with a data table of the non-empty buckets. */
export function renderFailuresChart(t: TimelineData, id = 'chart-failures'): string {
  const f = t.failures;
  const out: string[] = [];
  const unit = f.bucket === 'hour' ? 'hour' : 'day';
  const peak = Math.max(0, ...f.counts);
  const peakAt = f.labels[f.counts.indexOf(peak)] ?? '';
  const desc =
    f.total === 0
      ? 'No failed events in the window.'
      : `${formatCount(f.total)} failed events, per ${unit} (UTC); the busiest ${unit} is ${peakAt} with ${formatCount(peak)}.`;
  out.push('<figure class="figure">');
  out.push(svgOpen(id, `Failed events per ${unit} (UTC), whole fleet`, desc));
  const top = niceMax(peak);
  out.push(...axes(top));
  const n = Math.max(1, f.counts.length);
  const band = PLOT_W / n;
  const barW = Math.max(1, Math.min(64, band * 0.8));
  f.counts.forEach((v, i) => {
    const label = f.labels[i] ?? '';
    const x = LEFT + band * i + (band - barW) / 2;
    if (v > 0) {
      const h = Math.max((PLOT_H * v) / top, 0.5);
      out.push(
        `<rect class="bar fail" data-bucket="${esc(label)}" x="${fmt(x)}" y="${fmt(TOP + PLOT_H - h)}" width="${fmt(barW)}" height="${fmt(h)}" fill="${FAIL_COLOR}"><title>${esc(`${formatCount(v)} failed events, ${label}`)}</title></rect>`,
      );
    }
    // Hourly: a date under each midnight, the hour every 6 h; daily: every day (thinned past 14).
    let tick: string | undefined;
    if (f.bucket === 'hour') {
      const hour = label.slice(11, 13);
      if (hour === '00') tick = dayLabel(label.slice(0, 10));
      else if (Number(hour) % 6 === 0) tick = `${hour}:00`;
    } else if (i % Math.ceil(n / 14) === 0) {
      tick = dayLabel(label);
    }
    if (tick !== undefined) {
      const tx = f.bucket === 'hour' ? LEFT + band * i : LEFT + band * i + band / 2;
      out.push(
        `<text x="${fmt(tx)}" y="${HEIGHT - BOTTOM + 18}" text-anchor="${f.bucket === 'hour' ? 'start' : 'middle'}" class="tick">${esc(tick)}</text>`,
      );
    }
  });
  if (f.total === 0) {
    out.push(
      `<text x="${LEFT + PLOT_W / 2}" y="${TOP + PLOT_H / 2}" text-anchor="middle" class="empty">no failed events</text>`,
    );
  }
  out.push('</svg></figure>');
  const rows = f.counts.map((v, i) => [f.labels[i] ?? '', v] as const).filter(([, v]) => v > 0);
  out.push(`<details class="data"><summary>Failed events per ${unit} as a table</summary>`);
  out.push(
    `<table class="grid"><thead><tr><th scope="col">${unit === 'hour' ? 'Hour (UTC)' : 'Day (UTC)'}</th><th scope="col" class="num">Failed events</th></tr></thead><tbody>`,
  );
  for (const [label, v] of rows)
    out.push(`<tr><td>${esc(label)}</td><td class="num">${esc(formatCount(v))}</td></tr>`);
  if (rows.length === 0) out.push('<tr><td colspan="2">none</td></tr>');
  out.push('</tbody></table></details>');
  return out.join('\n');
}
