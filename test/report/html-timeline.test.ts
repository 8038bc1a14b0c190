import { describe, expect, it } from 'vitest';
import { niceMax } from '../../src/report/html-charts.js';
import { isFailedRow, OTHER_HOSTS, TimelineAccumulator } from '../../src/report/timeline.js';

const T0 = Date.parse('2026-11-19T10:30:00Z');
const H = 3_600_000;
const D = 24 * H;

describe('TimelineAccumulator', () => {
  it('counts events per UTC day per host, with empty days between filled in', () => {
    const t = new TimelineAccumulator({ hourlyUpToDays: 0 });
    t.addTime('a', T0, false);
    t.addTime('a', T0 + 14 * H, true); // 2026-11-20T00:30Z: the next UTC day
    t.addTime('b', T0 + 3 * D, true);
    const r = t.result();
    expect(r.days).toEqual(['2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22']);
    expect(r.series).toEqual([
      { host: 'a', total: 2, perDay: [1, 1, 0, 0] },
      { host: 'b', total: 1, perDay: [0, 0, 0, 1] },
    ]);
    expect(r.fleetPerDay).toEqual([1, 1, 0, 1]);
    expect(r.failures).toEqual({
      bucket: 'day',
      labels: r.days,
      counts: [0, 1, 0, 1],
      total: 2,
    });
  });

  it('draws failures per hour when the window is short', () => {
    const t = new TimelineAccumulator();
    t.addTime('a', T0, true);
    t.addTime('a', T0 + 60_000, true);
    const r = t.result();
    expect(r.failures.bucket).toBe('hour');
    expect(r.failures.labels).toHaveLength(24);
    expect(r.failures.labels[10]).toBe('2026-11-19T10:00Z');
    expect(r.failures.counts[10]).toBe(2);
  });

  it('keeps the busiest hosts as series and sums the rest into (others)', () => {
    const t = new TimelineAccumulator({ topHosts: 2 });
    for (const [host, n] of [
      ['a', 5],
      ['b', 4],
      ['c', 3],
      ['d', 1],
    ] as const) {
      for (let i = 0; i < n; i++) t.addTime(host, T0, false);
    }
    const r = t.result();
    expect(r.series.map((s) => [s.host, s.total])).toEqual([
      ['a', 5],
      ['b', 4],
      [OTHER_HOSTS, 4],
    ]);
    expect(r.otherHostCount).toBe(2);
  });

  it('stops keeping new days past maxDays and counts their events as out of range', () => {
    const t = new TimelineAccumulator({ maxDays: 3 });
    for (let d = 0; d < 10; d++) t.addTime('a', T0 + d * 40 * D, false);
    t.addTime('a', Number.NaN, false);
    const r = t.result();
    expect(r.days).toHaveLength(3);
    expect(r.outOfRange).toBe(8);
  });

  it('calls an event failed by result= or success=no', () => {
    expect(isFailedRow({ result: 'failed', success: '' })).toBe(true);
    expect(isFailedRow({ result: '', success: 'no' })).toBe(true);
    expect(isFailedRow({ result: 'success', success: 'yes' })).toBe(false);
  });
});

describe('niceMax', () => {
  it('rounds an axis up to 4 readable steps', () => {
    expect(niceMax(0)).toBe(4);
    expect(niceMax(469)).toBe(800);
    expect(niceMax(84)).toBe(100);
    expect(niceMax(1000)).toBe(1000);
  });
});
