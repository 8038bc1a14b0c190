/**
 * The sweep's host parse workers on real threads (the compiled dist/, which `npm test` builds first: a worker runs
 * only from compiled code). Many hosts at once on two workers, their chunks interleaved and cut anywhere, through a
 * ring small enough to wrap and overflow: every host's rows, issues and counters must be exactly what one
 * HostLogParser on this thread makes of the same bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as HostParseWorkersModule from '../../src/parse/host-parse-workers.js';
import type * as HostParserModule from '../../src/parse/host-parser.js';
import type * as RowWorkerModule from '../../src/parse/row-worker.js';
import type { AuditEvent, ParseCounters, ParseIssue } from '../../src/types.js';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'corpus');
const dist = async <T>(module: string): Promise<T> =>
  (await import(pathToFileURL(join(ROOT, 'dist', 'parse', module)).href)) as T;

interface HostInput {
  readonly name: string;
  readonly files: { readonly name: string; readonly bytes: Buffer }[];
  /** Stop after this many bytes of the last file, as a read cut short does (no flush). */
  readonly cutAfter?: number;
}

interface HostOutput {
  csv: string;
  issues: ParseIssue[];
  counters?: ParseCounters;
}

const text = (csv: string | Uint8Array): string =>
  typeof csv === 'string' ? csv : Buffer.from(csv).toString('utf8');

/** A deterministic sequence of chunk sizes from 1 byte to 20 KiB. */
function* sizes(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    yield x % 7 === 0 ? 1 + (x % 17) : 1 + (x % (20 * 1024));
  }
}

/** The chunks of a host's input, in order, as fetchHost hands them over, with the file boundaries. */
type Step = { file: string } | { bytes: Buffer } | { endFile: true };

function steps(host: HostInput, seed: number): Step[] {
  const out: Step[] = [];
  const size = sizes(seed);
  host.files.forEach((f, i) => {
    out.push({ file: f.name });
    const last = i === host.files.length - 1;
    const limit = last && host.cutAfter !== undefined ? host.cutAfter : f.bytes.length;
    for (let at = 0; at < limit; ) {
      const n = Math.min(size.next().value as number, limit - at);
      out.push({ bytes: f.bytes.subarray(at, at + n) });
      at += n;
    }
    if (!(last && host.cutAfter !== undefined)) out.push({ endFile: true });
  });
  return out;
}

describe('host parse workers on threads', () => {
  it('give every host of an interleaved sweep the rows, issues and counters of a parser on one thread', async () => {
    const { HostParseWorkers } = await dist<typeof HostParseWorkersModule>('host-parse-workers.js');
    const { HostLogParser } = await dist<typeof HostParserModule>('host-parser.js');
    const { batchResult } = await dist<typeof RowWorkerModule>('row-worker.js');

    const corpus = (variant: string) =>
      ['audit.log.2', 'audit.log.1', 'audit.log'].map((name) => ({
        name: `/var/log/audit/${name}`,
        bytes: readFileSync(join(FIXTURES, variant, name)),
      }));
    // Bad lines among good ones: a binary line, a truncated record, a record with no header, no final newline.
    const bad = Buffer.concat([
      readFileSync(join(FIXTURES, 'enriched', 'audit.log')).subarray(0, 30_000),
      Buffer.from([0x00, 0xff, 0xfe, 0x0a]),
      Buffer.from('type=SYSCALL msg=audit(1700000000.1\nnot a record at all\ntype=USER_LOGIN msg=audit('),
    ]);
    const hosts: HostInput[] = [
      { name: 'enriched', files: corpus('enriched') },
      { name: 'node-user', files: corpus('node-user') },
      { name: 'node-hostname', files: corpus('node-hostname') },
      { name: 'bad-lines', files: [{ name: '/var/log/audit/audit.log', bytes: bad }] },
      // Cut in the newest file, past the window's start.
      {
        name: 'cut',
        files: corpus('enriched'),
        cutAfter: Math.floor(readFileSync(join(FIXTURES, 'enriched', 'audit.log')).length * 0.8) + 1,
      },
      { name: 'empty', files: [{ name: '/var/log/audit/audit.log', bytes: Buffer.alloc(0) }] },
    ];
    // A window that drops some events of every corpus log.
    const enrichedTimes = readFileSync(join(FIXTURES, 'enriched', 'audit.log'), 'utf8').match(
      /msg=audit\((\d+)\.(\d+):/g,
    );
    const middle = enrichedTimes![Math.floor(enrichedTimes!.length / 2)]!;
    const since = Number(middle.slice(10, middle.indexOf('.'))) * 1000;
    const window = { since, until: undefined };

    // On this thread: the rows one HostLogParser makes, in batches as the sweep makes them.
    const expected = new Map<string, HostOutput>();
    for (const host of hosts) {
      const events: AuditEvent[] = [];
      const out: HostOutput = { csv: '', issues: [] };
      const parser = new HostLogParser(
        { host: host.name, since: window.since },
        { auditEvent: (e) => events.push(e), issue: (i) => out.issues.push(i) },
      );
      for (const step of steps(host, 1)) {
        if ('file' in step) parser.beginFile(step.file);
        else if ('bytes' in step) parser.write(step.bytes);
        else parser.endFile();
      }
      parser.end(host.cutAfter === undefined);
      for (let i = 0; i < events.length; i += 100) {
        out.csv += text(batchResult(events.slice(i, i + 100), { host: host.name }).csv);
      }
      out.counters = { ...parser.counters };
      expected.set(host.name, out);
    }
    expect(expected.get('enriched')!.counters!.events).toBeGreaterThan(100);
    expect(expected.get('enriched')!.counters!.outsideWindow).toBeGreaterThan(0);
    expect(expected.get('bad-lines')!.issues.length).toBeGreaterThanOrEqual(3);
    expect(expected.get('cut')!.counters!.events).toBeGreaterThan(0);

    // On two workers, through a 64 KiB ring: every host at once, one chunk of each in turn, other chunk sizes.
    const pool = new HostParseWorkers({ workers: 2, ringBytes: 64 * 1024 });
    const got = new Map<string, HostOutput>();
    const running = hosts.map((host, i) => {
      const out: HostOutput = { csv: '', issues: [] };
      got.set(host.name, out);
      const parser = pool.open(host.name, window, {
        deliver: (result) => {
          out.csv += text(result.csv);
        },
        issue: (issue) => out.issues.push(issue),
      });
      return { host, parser, out, steps: steps(host, i + 2), next: 0 };
    });
    let waited = 0;
    for (let busy = true; busy; ) {
      busy = false;
      for (const r of running) {
        const step = r.steps[r.next++];
        if (step === undefined) continue;
        busy = true;
        if ('file' in step) r.parser.beginFile(step.file);
        else if ('bytes' in step) {
          r.parser.write(step.bytes);
          // Now and then without waiting, so that the ring also runs out of room.
          if (r.next % 3 !== 0) {
            await r.parser.drain();
            waited++;
          }
        } else r.parser.endFile();
      }
    }
    expect(waited).toBeGreaterThan(0);
    await Promise.all(
      running.map(async (r) => {
        await r.parser.end(r.host.cutAfter === undefined);
        r.out.counters = { ...r.parser.counters };
      }),
    );
    await pool.close();

    for (const host of hosts) {
      const want = expected.get(host.name)!;
      const have = got.get(host.name)!;
      expect(have.counters, host.name).toEqual(want.counters);
      expect(have.issues, host.name).toEqual(want.issues);
      expect(have.csv === want.csv, `${host.name}: the same rows, byte for byte`).toBe(true);
    }
  });

  it('ends every host at once and fails close() when a worker is gone', async () => {
    const { HostParseWorkers } = await dist<typeof HostParseWorkersModule>('host-parse-workers.js');
    const pool = new HostParseWorkers({ workers: 1 });
    const parser = pool.open('web-01', {}, { deliver: () => {}, issue: () => {} });
    parser.beginFile('/var/log/audit/audit.log');
    parser.write(readFileSync(join(FIXTURES, 'enriched', 'audit.log')).subarray(0, 10_000));
    await pool.stop();
    // Stopped: the host's end does not wait for a worker that will never answer.
    await parser.end();
    await expect(pool.close()).rejects.toThrow(/stopped/);
  });
});
