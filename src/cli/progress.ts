/**
 * What the sweep command shows while hosts are collected. On a terminal: a live area redrawn in place
 * (log-update) with an overall bar (hosts done / total, bytes, events), the hosts in flight, and failures printed
 * above it as they happen. Off a terminal, or with `--log-format json`: one plain line per host outcome, the
 * same lines the sweep command always wrote. Either way a short table at the end: ok / partial / failed by code,
 * and where the reports are.
 */
import { styleText } from 'node:util';
import { createLogUpdate } from 'log-update';
import type { HostOutcome } from '../types.js';

export interface ProgressOptions {
  /** Selected hosts. */
  readonly total: number;
  /** Where to draw (the sweep command uses stderr, so stdout stays free). */
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  /** Draw the live view; default `stream.isTTY`. Ignored (plain lines) when `format` is json. */
  readonly tty?: boolean;
  /** Colour the live view and the table; default: a terminal and `NO_COLOR` unset or empty (no-color.org). */
  readonly color?: boolean;
  /** `--log-format`: `json` writes only JSON lines. Default text. */
  readonly format?: 'text' | 'json';
  /** Minimum time between redraws of the live view; 0 redraws on every call (tests). Default 100. */
  readonly redrawMs?: number;
  /** Hosts in flight listed under the bar (the rest are counted). Default 8. */
  readonly maxInFlightShown?: number;
  /** For tests. */
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

/** What the end of a sweep tells the progress view: where the reports are. Outcomes come from `hostDone`. */
export interface ProgressSummary {
  readonly outDir: string;
}

export interface SweepProgress {
  /** A host's collection began. */
  hostStarted(name: string): void;
  /** The host's running totals so far (not increments): bytes received, events parsed. */
  hostProgress(name: string, bytes: number, events: number): void;
  /** The host ended; failures (and partial collections) are printed at once. */
  hostDone(outcome: HostOutcome): void;
  /** Takes the live view down while `ask` runs (a passphrase prompt), then draws it again. */
  interrupt<T>(ask: () => Promise<T>): Promise<T>;
  /** Ends the live view and writes the table and the reports folder. */
  finish(summary: ProgressSummary): void;
}

interface InFlight {
  readonly since: number;
  bytes: number;
  events: number;
}

/** `NO_COLOR` present and non-empty turns colour off (https://no-color.org). */
export function colorWanted(
  stream: { readonly isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(stream.isTTY) && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

/** 1536 → `1.5 KiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/**
 * `util.styleText` without its own check of process.stdout (we draw on `stream` and decided `color` for it).
 * `validateStream` is in Node ≥ 20.19 / 22.13; @types/node 20 does not declare it yet.
 */
const paint = styleText as (
  format: Parameters<typeof styleText>[0],
  text: string,
  options: { validateStream: boolean },
) => string;

const count = (n: number) => n.toLocaleString('en-US');

/** The line the sweep command has always written per host (`--log-format text|json`). */
export function outcomeLine(o: HostOutcome, format: 'text' | 'json'): string {
  if (format === 'json') {
    return JSON.stringify({
      host: o.host,
      outcome: o.status,
      code: o.code ?? null,
      message: o.message,
      files: o.files,
      bytes: o.bytes,
      events: o.events,
      duration_ms: o.durationMs,
    });
  }
  return `${o.status.padEnd(7)} ${o.host}${o.code ? ` ${o.code}` : ''}: ${o.message}`;
}

/** Rows of the final table: (status, code) → hosts, ok first, then partial and failed by count. */
export function outcomeTable(
  outcomes: readonly HostOutcome[],
): Array<{ status: string; code: string; hosts: number }> {
  const rows = new Map<string, { status: string; code: string; hosts: number }>();
  for (const o of outcomes) {
    const code = o.status === 'ok' ? '' : (o.code ?? '');
    const key = `${o.status}\0${code}`;
    const row = rows.get(key) ?? { status: o.status, code, hosts: 0 };
    row.hosts++;
    rows.set(key, row);
  }
  const rank = { ok: 0, partial: 1, failed: 2 } as Record<string, number>;
  return [...rows.values()].sort(
    (a, b) =>
      (rank[a.status] ?? 3) - (rank[b.status] ?? 3) || b.hosts - a.hosts || (a.code < b.code ? -1 : 1),
  );
}

/**
 * A progress view for `total` hosts on `stream`: live on a terminal, plain lines elsewhere (see the file
 * comment). Feed it the sweep's callbacks; call `finish` once at the end.
 */
export function createProgress(options: ProgressOptions): SweepProgress {
  const { total, stream } = options;
  const env = options.env ?? process.env;
  const format = options.format ?? 'text';
  const live = format === 'text' && (options.tty ?? Boolean(stream.isTTY));
  const color = options.color ?? colorWanted(stream, env);
  const now = options.now ?? Date.now;
  const redrawMs = options.redrawMs ?? 100;
  const maxShown = options.maxInFlightShown ?? 8;
  const started = now();

  const style = (format: Parameters<typeof styleText>[0], text: string) =>
    color ? paint(format, text, { validateStream: false }) : text;

  const inFlight = new Map<string, InFlight>();
  const outcomes: HostOutcome[] = [];
  let doneBytes = 0;
  let doneEvents = 0;
  let failed = 0;
  let finished = false;
  let paused = false;

  // log-update erases its previous frame and draws the next; the cursor is left alone (a prompt may follow).
  const area = live ? createLogUpdate(stream, { showCursor: true }) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastDraw = 0;
  const ticker = live ? setInterval(() => draw(), 1000) : undefined;
  ticker?.unref();

  const width = () => Math.max(40, (stream.columns ?? 80) - 1);
  const clip = (text: string) => (text.length > width() ? `${text.slice(0, width() - 1)}…` : text);

  function frame(): string {
    const done = outcomes.length;
    let bytes = doneBytes;
    let events = doneEvents;
    for (const f of inFlight.values()) {
      bytes += f.bytes;
      events += f.events;
    }
    const stats = ` ${done}/${total} hosts · ${formatBytes(bytes)} · ${count(events)} events${failed > 0 ? ` · ${failed} failed` : ''} · ${formatDuration(now() - started)}`;
    const barWidth = Math.max(10, Math.min(40, width() - stats.length - 1));
    const filled = total === 0 ? barWidth : Math.round((done / total) * barWidth);
    const bar = style('green', '█'.repeat(filled)) + style('dim', '░'.repeat(barWidth - filled));
    const lines = [`${bar}${clip(stats)}`];
    const t = now();
    const flights = [...inFlight].sort(([, a], [, b]) => a.since - b.since);
    for (const [name, f] of flights.slice(0, maxShown)) {
      lines.push(
        style(
          'dim',
          clip(
            `  ↻ ${name}  ${formatBytes(f.bytes)} · ${count(f.events)} events · ${formatDuration(t - f.since)}`,
          ),
        ),
      );
    }
    if (flights.length > maxShown)
      lines.push(style('dim', `  … and ${flights.length - maxShown} more in flight`));
    return lines.join('\n');
  }

  function draw(): void {
    if (!area || finished || paused) return;
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    lastDraw = now();
    area(frame());
  }

  /** Redraws at most every `redrawMs`: a thousand progress calls a second must not flood the terminal. */
  function scheduleDraw(): void {
    if (!area || finished || paused || timer) return;
    const wait = redrawMs - (now() - lastDraw);
    if (wait <= 0) draw();
    else timer = setTimeout(draw, wait);
  }

  /** A line above the live area: the area is erased, the line written, the area drawn again. */
  function above(line: string): void {
    if (area && !paused) area.clear();
    stream.write(`${line}\n`);
    if (area && !paused) draw();
  }

  return {
    hostStarted(name) {
      if (!live) return;
      inFlight.set(name, { since: now(), bytes: 0, events: 0 });
      scheduleDraw();
    },
    hostProgress(name, bytes, events) {
      if (!live) return;
      const f = inFlight.get(name);
      if (f === undefined) inFlight.set(name, { since: now(), bytes, events });
      else {
        f.bytes = bytes;
        f.events = events;
      }
      scheduleDraw();
    },
    hostDone(outcome) {
      outcomes.push(outcome);
      inFlight.delete(outcome.host);
      doneBytes += outcome.bytes;
      doneEvents += outcome.events;
      if (outcome.status === 'failed') failed++;
      if (!live) {
        stream.write(`${outcomeLine(outcome, format)}\n`);
        return;
      }
      if (outcome.status === 'ok') scheduleDraw();
      else {
        const mark = outcome.status === 'failed' ? style('red', '✖ failed ') : style('yellow', '⚠ partial');
        above(
          `${mark} ${outcome.host}${outcome.code ? ` ${style('bold', outcome.code)}` : ''}: ${outcome.message}`,
        );
      }
    },
    async interrupt(ask) {
      if (!area || paused) return ask();
      area.clear();
      paused = true;
      try {
        return await ask();
      } finally {
        paused = false;
        draw();
      }
    },
    finish(summary) {
      if (finished) return;
      if (area) {
        draw();
        area.done();
      }
      finished = true;
      if (timer) clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      const table = outcomeTable(outcomes);
      if (format === 'json') {
        stream.write(
          `${JSON.stringify({
            summary: {
              hosts: outcomes.length,
              outcomes: table.map((r) => ({ outcome: r.status, code: r.code || null, hosts: r.hosts })),
              bytes: doneBytes,
              events: doneEvents,
            },
            reports: summary.outDir,
          })}\n`,
        );
        return;
      }
      const codeWidth = Math.max(4, ...table.map((r) => r.code.length));
      const lines = [
        '',
        `${'outcome'.padEnd(8)} ${'code'.padEnd(codeWidth)} ${'hosts'.padStart(6)}`,
        ...table.map((r) => {
          const text = `${r.status.padEnd(8)} ${r.code.padEnd(codeWidth)} ${String(r.hosts).padStart(6)}`;
          return r.status === 'ok'
            ? style('green', text)
            : r.status === 'failed'
              ? style('red', text)
              : style('yellow', text);
        }),
        `${'total'.padEnd(8)} ${''.padEnd(codeWidth)} ${String(outcomes.length).padStart(6)}   ${formatBytes(doneBytes)}, ${count(doneEvents)} events, ${formatDuration(now() - started)}`,
        `reports in ${summary.outDir}`,
      ];
      stream.write(`${lines.join('\n')}\n`);
    },
  };
}
