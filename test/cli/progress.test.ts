/** The sweep's progress view on a fake terminal and on a pipe. */
import { describe, expect, it } from 'vitest';
import { createProgress, formatBytes, outcomeLine } from '../../src/cli/progress.js';
import type { HostOutcome } from '../../src/types.js';
import { FakeStream, hasColour, hasEscapes } from '../helpers/tty-stream.js';

const ok = (host: string, bytes: number, events: number): HostOutcome => ({
  host,
  status: 'ok',
  files: 2,
  bytes,
  events,
  durationMs: 1200,
  message: `${events} events from 2 files`,
});
const failed = (host: string, code: 'REFUSED' | 'AUTH_FAILED', message: string): HostOutcome => ({
  host,
  status: 'failed',
  code,
  message,
  files: 0,
  bytes: 0,
  events: 0,
  durationMs: 15000,
});
const partial = (host: string): HostOutcome => ({
  host,
  status: 'partial',
  code: 'LOG_MISSING',
  message: 'audit.log.3 vanished during the read',
  files: 1,
  bytes: 512,
  events: 3,
  durationMs: 900,
});

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function drive(stream: FakeStream, extra: { env?: NodeJS.ProcessEnv; format?: 'text' | 'json' } = {}) {
  const c = clock();
  const p = createProgress({ total: 4, stream, redrawMs: 0, now: c.now, env: extra.env ?? {}, ...extra });
  p.hostStarted('web-01');
  p.hostStarted('web-02');
  p.hostProgress('web-01', 3 * 1024 * 1024, 1500);
  c.advance(2000);
  const duringRun = stream.text();
  p.hostDone(failed('web-02', 'REFUSED', 'connect ECONNREFUSED 10.0.0.2:22'));
  p.hostDone(ok('web-01', 4 * 1024 * 1024, 2000));
  p.hostStarted('db-01');
  p.hostStarted('db-02');
  p.hostDone(partial('db-01'));
  p.hostDone(failed('db-02', 'AUTH_FAILED', 'no key was accepted'));
  c.advance(65_000);
  p.finish({ outDir: '/srv/reports/2026-11-23T1000Z' });
  return { duringRun };
}

describe('createProgress on a terminal', () => {
  it('draws a bar with hosts, bytes and events, the hosts in flight, and failures as they happen', () => {
    const stream = new FakeStream({ tty: true, columns: 100 });
    const { duringRun } = drive(stream);
    expect(duringRun).toMatch(/░+ 0\/4 hosts · 3\.0 MiB · 1,500 events · 0s/);
    expect(duringRun).toContain('↻ web-01  3.0 MiB · 1,500 events');
    expect(duringRun).toContain('↻ web-02  0 B · 0 events');
    const text = stream.text();
    expect(text).toContain('✖ failed  web-02 REFUSED: connect ECONNREFUSED 10.0.0.2:22');
    expect(text).toContain('⚠ partial db-01 LOG_MISSING: audit.log.3 vanished during the read');
    expect(text).toContain('✖ failed  db-02 AUTH_FAILED: no key was accepted');
    expect(text).toMatch(/█+ 4\/4 hosts · 4\.0 MiB · 2,003 events · 2 failed · 1m07s/);
    // The live area is redrawn in place (log-update erases the previous frame), not appended.
    expect(stream.raw()).toContain('\x1b[2K');
    // Ok hosts are counted, not listed.
    expect(text).not.toMatch(/^ok\s+web-01/m);
  });

  it('ends with a table of outcomes by code and where the reports are', () => {
    const stream = new FakeStream({ tty: true });
    drive(stream);
    const table = stream.text().slice(stream.text().lastIndexOf('outcome '));
    expect(table.split('\n').map((l) => l.trimEnd())).toEqual([
      'outcome  code         hosts',
      'ok                        1',
      'partial  LOG_MISSING      1',
      'failed   AUTH_FAILED      1',
      'failed   REFUSED          1',
      'total                     4   4.0 MiB, 2,003 events, 1m07s',
      'reports in /srv/reports/2026-11-23T1000Z',
      '',
    ]);
  });

  it('colours the view unless NO_COLOR is set', () => {
    const coloured = new FakeStream({ tty: true });
    drive(coloured, { env: { TERM: 'xterm-256color' } });
    expect(hasColour(coloured.raw())).toBe(true);

    const plain = new FakeStream({ tty: true });
    drive(plain, { env: { NO_COLOR: '1' } });
    expect(hasColour(plain.raw())).toBe(false);
    expect(plain.text()).toContain('✖ failed  web-02 REFUSED');
    // Still a live view: only colour is off.
    expect(plain.raw()).toContain('\x1b[2K');
  });

  it('keeps long lines within the terminal width', () => {
    const stream = new FakeStream({ tty: true, columns: 50 });
    const p = createProgress({ total: 1, stream, redrawMs: 0, env: { NO_COLOR: '1' } });
    p.hostStarted(`a-very-long-host-name-${'x'.repeat(60)}`);
    const lines = stream.text().split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(50);
    p.finish({ outDir: '/r' });
  });

  it('lists at most a few hosts in flight and counts the rest', () => {
    const stream = new FakeStream({ tty: true });
    const p = createProgress({ total: 20, stream, redrawMs: 0, maxInFlightShown: 3, env: {} });
    for (let i = 1; i <= 10; i++) p.hostStarted(`h-${i}`);
    const last = stream.writes.at(-1) ?? '';
    expect(last).toContain('h-3');
    expect(last).not.toContain('h-4');
    expect(last).toContain('… and 7 more in flight');
    p.finish({ outDir: '/r' });
  });

  it('redraws at most once per interval however often progress is reported', async () => {
    const stream = new FakeStream({ tty: true });
    const p = createProgress({ total: 1, stream, redrawMs: 50, env: {} });
    p.hostStarted('h');
    const before = stream.writes.length;
    for (let i = 1; i <= 1000; i++) p.hostProgress('h', i * 100, i);
    expect(stream.writes.length - before).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(stream.writes.at(-1)).toContain('1,000 events');
    p.finish({ outDir: '/r' });
  });

  it('takes the live view down while a question is asked, then draws it again', async () => {
    const stream = new FakeStream({ tty: true });
    const p = createProgress({ total: 2, stream, redrawMs: 0, env: {} });
    p.hostStarted('web-01');
    const answer = await p.interrupt(async () => {
      p.hostProgress('web-01', 10, 1); // not drawn over the question
      const during = stream.writes.length;
      stream.write('Passphrase for key: ');
      await new Promise((r) => setTimeout(r, 10));
      expect(stream.writes.length).toBe(during + 1);
      return 'secret';
    });
    expect(answer).toBe('secret');
    expect(stream.writes.at(-1)).toContain('0/2 hosts');
    p.finish({ outDir: '/r' });
  });
});

describe('createProgress off a terminal', () => {
  it('writes one plain line per host outcome, as the sweep command always has, and the table', () => {
    const stream = new FakeStream({ tty: false });
    drive(stream);
    expect(hasEscapes(stream.raw())).toBe(false);
    const lines = stream.raw().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'failed  web-02 REFUSED: connect ECONNREFUSED 10.0.0.2:22',
      'ok      web-01: 2000 events from 2 files',
      'partial db-01 LOG_MISSING: audit.log.3 vanished during the read',
      'failed  db-02 AUTH_FAILED: no key was accepted',
    ]);
    expect(stream.raw()).toContain('reports in /srv/reports/2026-11-23T1000Z');
  });

  it('writes only JSON lines with --log-format json, even on a terminal', () => {
    const stream = new FakeStream({ tty: true });
    drive(stream, { format: 'json' });
    const lines = stream.raw().trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed).toHaveLength(5);
    expect(parsed[0]).toEqual({
      host: 'web-02',
      outcome: 'failed',
      code: 'REFUSED',
      message: 'connect ECONNREFUSED 10.0.0.2:22',
      files: 0,
      bytes: 0,
      events: 0,
      duration_ms: 15000,
    });
    expect(parsed[4]).toEqual({
      summary: {
        hosts: 4,
        outcomes: [
          { outcome: 'ok', code: null, hosts: 1 },
          { outcome: 'partial', code: 'LOG_MISSING', hosts: 1 },
          { outcome: 'failed', code: 'AUTH_FAILED', hosts: 1 },
          { outcome: 'failed', code: 'REFUSED', hosts: 1 },
        ],
        bytes: 4 * 1024 * 1024 + 512,
        events: 2003,
      },
      reports: '/srv/reports/2026-11-23T1000Z',
    });
  });

  it('formats outcome lines and sizes', () => {
    expect(outcomeLine(ok('a', 1, 2), 'text')).toBe('ok      a: 2 events from 2 files');
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(300 * 1024 ** 3)).toBe('300 GiB');
  });
});
