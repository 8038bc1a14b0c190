/**
 * The data behind report.html's charts: events per UTC day per host, and the fleet's failed events over time.
 *
 * Fed per event while the sweep streams (`add(host, parsed)`, or `addTime(host, epochMs, failed)` for callers that
 * build rows elsewhere), read once at the end (`result()`). Memory is counters only: days × hosts for the
 * per-day counts and hours for the failures, both bounded by `maxDays` (an event on a day past the cap is counted
 * in `outOfRange`, not kept).
 *
 * "Failed" is what events.csv says: `result` = failed (the normalizer's verdict, from success=/res=), or the
 * SYSCALL's success=no.
 */
import type { ParsedEvent } from '../types.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** The name of the series that sums the hosts left out of the charts. */
export const OTHER_HOSTS = '(others)';

export interface TimelineOptions {
  /** Distinct UTC days kept (default 62): a weekly window needs 7–8, a broken clock must not grow memory. */
  readonly maxDays?: number | undefined;
  /** Hosts drawn as their own series; the rest are summed into `(others)` (default 8). */
  readonly topHosts?: number | undefined;
  /** Failures are drawn per hour when the days shown are at most this many, per day beyond (default 3). */
  readonly hourlyUpToDays?: number | undefined;
}

export interface TimelineSeries {
  /** Host name, or OTHER_HOSTS. */
  readonly host: string;
  /** Events per day, aligned with `TimelineData.days`. */
  readonly perDay: readonly number[];
  readonly total: number;
}

export interface TimelineData {
  /** Every UTC day from the first to the last event, `YYYY-MM-DD`, ascending (empty without events). */
  readonly days: readonly string[];
  /** The top hosts by events (most first), then `(others)` when hosts were left out. */
  readonly series: readonly TimelineSeries[];
  /** How many hosts `(others)` sums (0: no such series). */
  readonly otherHostCount: number;
  /** Events per day for the whole fleet, aligned with `days`. */
  readonly fleetPerDay: readonly number[];
  /** Failed events over time for the fleet. */
  readonly failures: {
    readonly bucket: 'hour' | 'day';
    /** Bucket starts: `YYYY-MM-DDTHH:00Z` per hour, `YYYY-MM-DD` per day. */
    readonly labels: readonly string[];
    readonly counts: readonly number[];
    readonly total: number;
  };
  /** Events whose day was past `maxDays` distinct days: counted in the summary, not in the charts. */
  readonly outOfRange: number;
}

/**
 * What a batch of one host's events adds to the timeline (TimelineBatch → TimelineAccumulator.addDelta): plain
 * data, so that it crosses threads.
 */
export interface TimelineDelta {
  /** Day numbers (epoch ms / DAY_MS) in the order first seen, and the events of each. */
  readonly days: readonly number[];
  readonly dayEvents: readonly number[];
  /** Hour numbers with failed events, and how many. */
  readonly failedHours: readonly number[];
  readonly hourFailures: readonly number[];
  /** Events without a usable time. */
  readonly untimed: number;
}

/** Collects a TimelineDelta, event by event (on a row worker). */
export class TimelineBatch {
  private days = new Map<number, number>();
  private failed = new Map<number, number>();
  private untimed = 0;

  add(epochMs: number, failed: boolean): void {
    if (!Number.isFinite(epochMs)) {
      this.untimed++;
      return;
    }
    const day = Math.floor(epochMs / DAY_MS);
    this.days.set(day, (this.days.get(day) ?? 0) + 1);
    if (failed) {
      const hour = Math.floor(epochMs / HOUR_MS);
      this.failed.set(hour, (this.failed.get(hour) ?? 0) + 1);
    }
  }

  /** The delta since the last take. */
  take(): TimelineDelta {
    const delta: TimelineDelta = {
      days: [...this.days.keys()],
      dayEvents: [...this.days.values()],
      failedHours: [...this.failed.keys()],
      hourFailures: [...this.failed.values()],
      untimed: this.untimed,
    };
    this.days = new Map();
    this.failed = new Map();
    this.untimed = 0;
    return delta;
  }
}

/** Whether an events.csv row is a failed event. */
export function isFailedRow(row: { readonly result: string; readonly success: string }): boolean {
  return row.result === 'failed' || row.success === 'no';
}

/** Accumulates TimelineData while events stream by. Hosts may interleave. */
export class TimelineAccumulator {
  /** day number (epoch ms / DAY_MS) → host → events. */
  private readonly perDay = new Map<number, Map<string, number>>();
  /** hour number (epoch ms / HOUR_MS) → failed events, only for kept days. */
  private readonly failedPerHour = new Map<number, number>();
  private readonly hostTotals = new Map<string, number>();
  private outOfRange = 0;
  private readonly maxDays: number;
  private readonly topHosts: number;
  private readonly hourlyUpToDays: number;

  constructor(options: TimelineOptions = {}) {
    this.maxDays = options.maxDays ?? 62;
    this.topHosts = options.topHosts ?? 8;
    this.hourlyUpToDays = options.hourlyUpToDays ?? 3;
  }

  /** Counts one parsed event of `host`: its time and whether it failed. */
  add(host: string, parsed: ParsedEvent): void {
    this.addTime(host, parsed.event.sec * 1000 + parsed.event.ms, isFailedRow(parsed.row));
  }

  /** Counts one event of `host` at `epochMs`. */
  addTime(host: string, epochMs: number, failed: boolean): void {
    if (!Number.isFinite(epochMs)) {
      this.outOfRange++;
      return;
    }
    const day = Math.floor(epochMs / DAY_MS);
    let hosts = this.perDay.get(day);
    if (hosts === undefined) {
      if (this.perDay.size >= this.maxDays) {
        this.outOfRange++;
        return;
      }
      hosts = new Map();
      this.perDay.set(day, hosts);
    }
    hosts.set(host, (hosts.get(host) ?? 0) + 1);
    this.hostTotals.set(host, (this.hostTotals.get(host) ?? 0) + 1);
    if (failed) {
      const hour = Math.floor(epochMs / HOUR_MS);
      this.failedPerHour.set(hour, (this.failedPerHour.get(hour) ?? 0) + 1);
    }
  }

  /**
   * Adds a batch's delta for `host`. Deltas added in the order of their events count exactly what `addTime`
   * counts event by event: a day is kept or refused (past `maxDays`) when first seen, and a failure counts when its
   * day is kept (an hour lies within one day).
   */
  addDelta(host: string, delta: TimelineDelta): void {
    this.outOfRange += delta.untimed;
    let kept = 0;
    delta.days.forEach((day, i) => {
      const n = delta.dayEvents[i] ?? 0;
      let hosts = this.perDay.get(day);
      if (hosts === undefined) {
        if (this.perDay.size >= this.maxDays) {
          this.outOfRange += n;
          return;
        }
        hosts = new Map();
        this.perDay.set(day, hosts);
      }
      hosts.set(host, (hosts.get(host) ?? 0) + n);
      kept += n;
    });
    if (kept > 0) this.hostTotals.set(host, (this.hostTotals.get(host) ?? 0) + kept);
    delta.failedHours.forEach((hour, i) => {
      if (!this.perDay.has(Math.floor(hour / 24))) return;
      this.failedPerHour.set(hour, (this.failedPerHour.get(hour) ?? 0) + (delta.hourFailures[i] ?? 0));
    });
  }

  /** The chart data: days filled from the first to the last day seen (at most `maxDays` of them). */
  result(): TimelineData {
    const seen = [...this.perDay.keys()].sort((a, b) => a - b);
    const first = seen[0];
    const last = seen[seen.length - 1];
    const dayNumbers: number[] = [];
    if (first !== undefined && last !== undefined) {
      // A gap wider than maxDays (a broken clock) is shown as the days seen, not as a months-long empty axis.
      if (last - first < this.maxDays) for (let d = first; d <= last; d++) dayNumbers.push(d);
      else dayNumbers.push(...seen);
    }
    const days = dayNumbers.map((d) => new Date(d * DAY_MS).toISOString().slice(0, 10));

    const ranked = [...this.hostTotals.entries()].sort(
      (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    );
    // "(others)" replaces at least two hosts; a single leftover host is shown by name.
    const shown = ranked.length <= this.topHosts + 1 ? ranked : ranked.slice(0, this.topHosts);
    const shownNames = new Set(shown.map(([h]) => h));
    const series: TimelineSeries[] = shown.map(([host, total]) => ({
      host,
      total,
      perDay: dayNumbers.map((d) => this.perDay.get(d)?.get(host) ?? 0),
    }));
    const otherHostCount = ranked.length - shown.length;
    if (otherHostCount > 0) {
      const perDay = dayNumbers.map((d) => {
        let n = 0;
        for (const [host, count] of this.perDay.get(d) ?? []) if (!shownNames.has(host)) n += count;
        return n;
      });
      series.push({ host: OTHER_HOSTS, perDay, total: perDay.reduce((a, b) => a + b, 0) });
    }
    const fleetPerDay = dayNumbers.map((d) => {
      let n = 0;
      for (const count of this.perDay.get(d)?.values() ?? []) n += count;
      return n;
    });

    return {
      days,
      series,
      otherHostCount,
      fleetPerDay,
      failures: this.failures(dayNumbers),
      outOfRange: this.outOfRange,
    };
  }

  private failures(dayNumbers: readonly number[]): TimelineData['failures'] {
    let total = 0;
    for (const n of this.failedPerHour.values()) total += n;
    if (dayNumbers.length > 0 && dayNumbers.length <= this.hourlyUpToDays) {
      const labels: string[] = [];
      const counts: number[] = [];
      for (const d of dayNumbers) {
        for (let h = 0; h < 24; h++) {
          const hour = d * 24 + h;
          labels.push(`${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}:00Z`);
          counts.push(this.failedPerHour.get(hour) ?? 0);
        }
      }
      return { bucket: 'hour', labels, counts, total };
    }
    const perDay = new Map<number, number>();
    for (const [hour, n] of this.failedPerHour) {
      const d = Math.floor(hour / 24);
      perDay.set(d, (perDay.get(d) ?? 0) + n);
    }
    return {
      bucket: 'day',
      labels: dayNumbers.map((d) => new Date(d * DAY_MS).toISOString().slice(0, 10)),
      counts: dayNumbers.map((d) => perDay.get(d) ?? 0),
      total,
    };
  }
}
