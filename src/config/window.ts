/**
 * The review window: `--since 7d`, `--since 2026-11-16`, `--until 2026-11-23T12:00:00Z`.
 * Relative spans count back from `now`; a bare date means midnight UTC (audit times are UTC in reports).
 */
import { SweepError } from '../errors.js';

export interface TimeWindow {
  /** Inclusive, epoch ms. */
  readonly since?: number | undefined;
  /** Exclusive, epoch ms. */
  readonly until?: number | undefined;
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** Parses one bound. Throws a USAGE SweepError naming the flag and the accepted forms. */
export function parseTimeSpec(spec: string, flag: string, now: number = Date.now()): number {
  const s = spec.trim();
  const rel = /^(\d+)\s*([smhdw])$/i.exec(s);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!;
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    if (!Number.isNaN(t)) return t;
  }
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s)) {
    const iso = s.replace(' ', 'T');
    const t = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : `${iso}Z`);
    if (!Number.isNaN(t)) return t;
  }
  throw new SweepError(
    'USAGE',
    `${flag} ${JSON.stringify(spec)} is not a time: use a span like 7d, 24h, 30m, a date like 2026-11-16, or an ISO time like 2026-11-16T08:00:00Z (UTC unless an offset is given)`,
  );
}

/** Builds a window from optional flags, checking since < until. */
export function parseWindow(since: string | undefined, until: string | undefined, now?: number): TimeWindow {
  const window = {
    since: since === undefined ? undefined : parseTimeSpec(since, '--since', now),
    until: until === undefined ? undefined : parseTimeSpec(until, '--until', now),
  };
  if (window.since !== undefined && window.until !== undefined && window.since >= window.until) {
    throw new SweepError('USAGE', `--since (${since}) must be before --until (${until})`);
  }
  return window;
}
