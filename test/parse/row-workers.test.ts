/**
 * The row stage (parse/row-workers.ts) must write what the single-threaded writer writes, byte for byte. The threads
 * themselves run only from the compiled code (test/cli covers them); here the batch a worker gets is made and turned
 * into its result in-process, which is all of a worker's work, and the stage runs with no worker, on this thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseAccounts } from '../../src/parse/interpret/accounts.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import { Reassembler } from '../../src/parse/reassemble.js';
import { batchResult, unpack } from '../../src/parse/row-worker.js';
import { pack, RowWorkers } from '../../src/parse/row-workers.js';
import { tokenizeLine } from '../../src/parse/tokenize.js';
import { DEFAULT_ALERT_RULES } from '../../src/report/alerts.js';
import { BatchReporter } from '../../src/report/batch-report.js';
import { CsvWriter } from '../../src/report/csv-writer.js';
import type { AuditEvent, EventRow } from '../../src/types.js';
import { EVENT_COLUMNS } from '../../src/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const ACCOUNTS = parseAccounts(
  readFileSync(join(FIXTURES, 'accounts', 'passwd'), 'utf8'),
  readFileSync(join(FIXTURES, 'accounts', 'group'), 'utf8'),
).maps;
const LOGS = ['audit.log.2', 'audit.log.1', 'audit.log'];

function eventsOf(text: string, file: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  const r = new Reassembler({ event: (e) => events.push(e), issue: () => {} });
  text.split('\n').forEach((line, i) => {
    const { record } = tokenizeLine(line, file, i + 1);
    if (record !== undefined) r.push(record);
  });
  r.flush();
  return events;
}

/** What CsvWriter writes for these rows, header left out: the single-threaded writer's bytes. */
async function csvWriterText(rows: readonly EventRow[]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const writer = new CsvWriter(out, EVENT_COLUMNS, { chunkRows: 7 });
  for (const row of rows) writer.add(row);
  await writer.close();
  const text = Buffer.concat(chunks).toString('utf8');
  return text.slice(text.indexOf('\r\n') + 2);
}

describe('row worker batches', () => {
  it.each(['enriched', 'raw', 'node-user', 'node-hostname'])(
    'give the same rows and report as the owning thread for every event of the %s corpus',
    (variant) => {
      const accounts = variant.startsWith('raw') ? ACCOUNTS : undefined;
      const ctx = { host: 'h', accounts };
      const here = new BatchReporter({ accounts, alerts: DEFAULT_ALERT_RULES });
      const there = new BatchReporter({ accounts, alerts: DEFAULT_ALERT_RULES });
      let findings = 0;
      for (const log of LOGS) {
        const file = join(FIXTURES, variant, log);
        const events = eventsOf(readFileSync(file, 'utf8'), file);
        for (let i = 0; i < events.length; i += 97) {
          const slice = events.slice(i, i + 97);
          // Every other batch wants samples of every kind, the others of none.
          const wanted = i % 2 === 0 ? 0xff : 0;
          const batch = pack(i, 'h', wanted, slice);
          expect(batch).toBeDefined();
          const expected = batchResult(slice, ctx, here, wanted);
          expect(batchResult(unpack(batch!), ctx, there, batch!.wanted)).toEqual(expected);
          findings += expected.report!.findingRows.reduce((a, b) => a + b, 0);
        }
      }
      expect(findings).toBeGreaterThan(100);
    },
  );

  it('carries lines whose fields are not all slices of the line (AVC preamble, a value cut short, CRLF)', () => {
    const lines = [
      'type=AVC msg=audit(1700000000.000:1): avc:  denied  { read write } for  pid=1 comm="x" scontext=a tcontext=b tclass=file permissive=0',
      'type=ADD_GROUP msg=audit(1700000000.001:2): pid=7511 uid=0 auid=4294967295 ses=4294967295 msg=\'op=adding  group to /etc/group id=4100 exe="/usr/sbin/groupadd" hostname=? addr=? terminal=? res=success\'',
      'type=SYSCALL msg=audit(1700000000.002:3): arch=c000003e syscall=59 success=yes exit=0 pid=8 auid=0 uid=0 comm="id" exe="/usr/bin/id\r',
      'type=USER_CMD msg=audit(1700000000.003:4): pid=7804 uid=4001 auid=4001 ses=541 msg=\'cwd="/home/alice" cmd=6964 exe="/usr/bin/sudo" terminal=pts/1 res=success\'\u001dUID="alice" AUID="alice"\r',
    ];
    const events = eventsOf(lines.join('\n'), 'audit.log');
    expect(events).toHaveLength(4);
    const batch = pack(0, 'h', 0xff, events)!;
    const ctx = { host: 'h' };
    const reporter = () => new BatchReporter({ alerts: DEFAULT_ALERT_RULES });
    const expected = batchResult(events, ctx, reporter(), 0xff);
    expect(expected.report!.findingRows.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    expect(batchResult(unpack(batch), ctx, reporter(), 0xff)).toEqual(expected);
  });
});

describe('the row stage on the owning thread', () => {
  it('delivers each host its rows in order, hosts interleaved, as CsvWriter writes them', async () => {
    const hosts = [
      { name: 'web-01', variant: 'enriched' },
      { name: 'web-02', variant: 'node-user' },
    ];
    const stage = new RowWorkers({
      workers: 0,
      batchEvents: 13,
      report: { alerts: DEFAULT_ALERT_RULES, wanted: () => 0 },
    });
    const text = new Map<string, string[]>();
    const counted = new Map<string, number>();
    const lanes = hosts.map((h) =>
      stage.lane(h.name, (result) => {
        expect(result.report).toBeDefined();
        text.set(h.name, [...(text.get(h.name) ?? []), String(result.csv)]);
        counted.set(h.name, (counted.get(h.name) ?? 0) + result.events);
      }),
    );
    const events = hosts.map((h) =>
      LOGS.flatMap((log) => {
        const file = join(FIXTURES, h.variant, log);
        return eventsOf(readFileSync(file, 'utf8'), file);
      }),
    );
    const longest = Math.max(...events.map((e) => e.length));
    for (let i = 0; i < longest; i++) {
      events.forEach((list, j) => {
        const e = list[i];
        if (e !== undefined) lanes[j]!.add(e);
      });
      if (i % 50 === 0) await stage.drain();
    }
    for (const lane of lanes) await lane.end();
    await stage.close();

    for (const h of hosts) {
      const rows: EventRow[] = [];
      const parser = new HostLogParser({ host: h.name }, { event: (p) => rows.push(p.row), issue: () => {} });
      await parseLocalFiles(
        LOGS.map((log) => join(FIXTURES, h.variant, log)),
        parser,
      );
      expect(rows.length).toBeGreaterThan(500);
      expect(counted.get(h.name)).toBe(rows.length);
      expect(text.get(h.name)!.join('')).toBe(await csvWriterText(rows));
    }
  });

  it('refuses events after the end of a lane', async () => {
    const stage = new RowWorkers({ workers: 0 });
    const lane = stage.lane('h', () => {});
    await lane.end();
    const [event] = eventsOf(
      'type=USER_LOGIN msg=audit(1700000000.000:1): pid=1 uid=0 auid=0 ses=1 msg=\'op=login acct="root" res=success\'',
      'audit.log',
    );
    expect(() => lane.add(event!)).toThrow(/after the end of its lane/);
    await stage.close();
  });
});
