import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAuditStream } from '../../src/index.js';
import { parseLogs } from '../../src/parse-logs.js';
import type { ParsedEvent, ParseIssue } from '../../src/types.js';
import { EVENT_COLUMNS } from '../../src/types.js';
import { readCsv } from '../helpers/report-files.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'corpus');

async function collect(input: AsyncIterable<Uint8Array | string>, file: string) {
  const events: ParsedEvent[] = [];
  const issues: ParseIssue[] = [];
  const stream = parseAuditStream(input, { host: 'web-01', file, onIssue: (i) => issues.push(i) });
  for (;;) {
    const next = await stream.next();
    if (next.done === true) return { events, issues, counters: next.value };
    events.push(next.value);
  }
}

describe('parseAuditStream (the library stream)', () => {
  it('yields the rows `auditsweep parse` writes, from a file read in small chunks', async () => {
    const file = join(FIXTURES, 'node-user', 'audit.log');
    const out = join(mkdtempSync(join(tmpdir(), 'auditsweep-stream-')), 'out');
    await parseLogs({ files: [file], host: 'web-01', outDir: out, eventsOnly: true, workers: 0 });
    const written = readCsv(join(out, 'events.csv'));

    // 997-byte chunks: lines and UTF-8 sequences are cut at every possible place.
    const { events, issues, counters } = await collect(createReadStream(file, { highWaterMark: 997 }), file);
    expect(issues).toEqual([]);
    expect(events.length).toBe(written.length);
    expect(counters.events).toBe(written.length);
    const rows = events.map((e) => Object.fromEntries(EVENT_COLUMNS.map((c) => [c, e.row[c]])));
    // events.csv neutralises formulas with a leading apostrophe; the rows themselves are the data as parsed.
    const asWritten = rows.map((r) =>
      Object.fromEntries(Object.entries(r).map(([c, v]) => [c, /^[=+\-@\t\r]/.test(v) ? `'${v}` : v])),
    );
    expect(asWritten).toEqual(written.map((r) => Object.fromEntries(EVENT_COLUMNS.map((c) => [c, r[c]]))));
    expect(events[0]!.event.records.length).toBeGreaterThan(0);
  });

  it('hands events on while the input is still being read, and reports bad lines without stopping', async () => {
    const login = (i: number) =>
      `type=USER_LOGIN msg=audit(${1763856000 + 10 * i}.001:${100 + i}): pid=1 uid=0 auid=1000 ses=3 msg='op=login acct="u${i}" exe="/usr/sbin/sshd" hostname=? addr=10.0.0.5 terminal=ssh res=failed'\n`;
    const events: ParsedEvent[] = [];
    /** Events received when each chunk was asked for. */
    const receivedAtPull: number[] = [];
    async function* input() {
      for (let chunk = 0; chunk < 5; chunk++) {
        receivedAtPull.push(events.length);
        let text = '';
        for (let i = chunk * 10; i < chunk * 10 + 10; i++) text += login(i);
        if (chunk === 2) text += '\x00\x01 not a record\n';
        yield text;
      }
    }
    const issues: ParseIssue[] = [];
    for await (const e of parseAuditStream(input(), { host: 'h', onIssue: (i) => issues.push(i) })) {
      events.push(e);
    }
    expect(events.map((e) => e.row.serial)).toEqual(Array.from({ length: 50 }, (_, i) => String(100 + i)));
    expect(receivedAtPull[0]).toBe(0);
    // Each chunk's events (all but the few the reassembler still holds back for late records) came before the next.
    for (let chunk = 1; chunk < 5; chunk++)
      expect(receivedAtPull[chunk]).toBeGreaterThanOrEqual(chunk * 10 - 2);
    expect(events[0]!.row.source_file).toBe('-');
    expect(issues).toEqual([expect.objectContaining({ file: '-', line: 31, reason: 'not-text' })]);
  });
});
