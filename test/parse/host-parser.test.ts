import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostLogParser } from '../../src/parse/host-parser.js';
import { parseLocalFiles } from '../../src/parse/read-files.js';
import type { ParsedEvent, ParseIssue } from '../../src/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const CORPUS = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');
const ENRICHED = ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) => join(FIXTURES, 'enriched', f));

function collect(
  options: { host?: string; since?: number; until?: number; maxLineBytes?: number | undefined } = {},
) {
  const events: ParsedEvent[] = [];
  const issues: ParseIssue[] = [];
  const parser = new HostLogParser(
    {
      host: options.host ?? 'h',
      since: options.since,
      until: options.until,
      maxLineBytes: options.maxLineBytes,
    },
    { event: (e) => events.push(e), issue: (i) => issues.push(i) },
  );
  return { parser, events, issues };
}

function parseText(text: string | Buffer, chunkSize?: number, maxLineBytes?: number) {
  const c = collect({ maxLineBytes });
  c.parser.beginFile('audit.log');
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  if (chunkSize === undefined) c.parser.write(buf);
  else for (let i = 0; i < buf.length; i += chunkSize) c.parser.write(buf.subarray(i, i + chunkSize));
  c.parser.end();
  return c;
}

const GOOD =
  'type=SYSCALL msg=audit(1795396018.209:22828): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 ' +
  'items=1 ppid=7 pid=8 auid=4001 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=540 ' +
  'comm="id" exe="/usr/bin/id" key="exec"\n' +
  'type=EXECVE msg=audit(1795396018.209:22828): argc=2 a0="id" a1=2D75\n' +
  'type=PROCTITLE msg=audit(1795396018.209:22828): proctitle=6964002D75\n';

describe('HostLogParser', () => {
  it('parses the real ENRICHED logs of one host, oldest first, into one row per distinct event', async () => {
    const { parser, events, issues } = collect({ host: 'web-01' });
    const unreadable = await parseLocalFiles(ENRICHED, parser);
    expect(unreadable).toEqual([]);
    expect(issues).toEqual([]);
    const counts = ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) =>
      JSON.parse(readFileSync(join(CORPUS, 'enriched', `${f}.counts.json`), 'utf8')),
    );
    const distinct = counts.reduce((n, c) => n + c.distinct_events, 0);
    const lines = counts.reduce((n, c) => n + c.lines, 0);
    expect(parser.counters.lines).toBe(lines);
    expect(parser.counters.records).toBe(lines);
    expect(events).toHaveLength(distinct);
    expect(parser.counters.events).toBe(distinct);
    expect(new Set(events.map((e) => e.row.host))).toEqual(new Set(['web-01']));
    const times = events.map((e) => e.row.time);
    expect([...times].sort()).toEqual(times);
  });

  it('gives the same rows whatever the chunk boundaries', () => {
    const whole = parseText(GOOD.repeat(3));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), (size) => {
        const split = parseText(GOOD.repeat(3), size);
        expect(split.events.map((e) => e.row)).toEqual(whole.events.map((e) => e.row));
        expect(split.issues).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('reports every kind of bad line with file and line number, and parses the rest', () => {
    const long = `type=SYSCALL msg=audit(1795396018.300:1): comm="${'x'.repeat(2 * 1024 * 1024)}"\n`;
    const text = Buffer.concat([
      Buffer.from(GOOD), // lines 1-3
      Buffer.from('this line has no header\n'), // 4
      Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x02, 0x0a]), // 5: binary garbage
      Buffer.from(long), // 6: a 2 MB line
      Buffer.from(
        "type=USER_CMD msg=audit(1795396018.400:3): pid=1 uid=0 auid=0 ses=1 msg='cmd=6Z7 res=success'\n",
      ), // 7
      Buffer.from(GOOD.replaceAll('22828', '22829')), // 8-10
      Buffer.from('type=SYSCALL msg=audit(1795396018.500:4): pid=1 comm="trunc'), // 11: cut, no newline
    ]);
    for (const chunk of [undefined, 4096, 7]) {
      const { events, issues, parser } = parseText(text, chunk);
      expect(issues.map((i) => [i.line, i.reason])).toEqual([
        [4, 'missing-header'],
        [5, 'not-text'],
        [6, 'line-too-long'],
        [11, 'truncated'],
        [11, 'truncated'],
      ]);
      // The invalid hex value stays as written rather than crashing or vanishing.
      const cmd = events.find((e) => e.row.event_type === 'USER_CMD');
      expect(cmd?.row.command).toBe('6Z7');
      // Rows come out in time order: the second SYSCALL event (.209) precedes the USER_CMD (.400).
      expect(events.map((e) => e.row.serial)).toEqual(['22828', '22829', '3', '4']);
      expect(parser.counters.lines).toBe(11);
      expect(parser.counters.malformed).toBe(5);
    }
  });

  it('takes CRLF line ends as line ends and a CR inside a line as not text, whatever the chunks', () => {
    const crlf = GOOD.replaceAll('\n', '\r\n');
    const loneCr =
      "type=USER_CMD msg=audit(1795396018.400:3): pid=1 uid=0 auid=0 ses=1 msg='cmd=6964\rres=success'\n";
    for (const chunk of [undefined, 1, 5]) {
      const clean = parseText(crlf, chunk);
      expect(clean.issues).toEqual([]);
      expect(clean.events.map((e) => e.row.command)).toEqual(['id -u']);
      const bad = parseText(`${crlf}${loneCr}${GOOD.replaceAll('22828', '22829').trimEnd()}\r`, chunk);
      expect(bad.issues.map((i) => [i.line, i.reason])).toEqual([
        [4, 'not-text'],
        // The last line has no LF: cut short, kept and reported, its CR taken as the CR of a CRLF.
        [7, 'truncated'],
      ]);
      expect(bad.events.map((e) => e.row.serial)).toEqual(['22828', '22829']);
    }
  });

  it('reassembles split and hex-encoded EXECVE arguments into the command', () => {
    const arg = 'y'.repeat(9000);
    const hex = Buffer.from(arg).toString('hex').toUpperCase();
    const text =
      'type=SYSCALL msg=audit(1795396163.037:24157): arch=c000003e syscall=59 success=yes exit=0 items=2 ppid=1 pid=2 auid=4001 uid=4001 comm="echo" exe="/usr/bin/echo" key="exec"\n' +
      `type=EXECVE msg=audit(1795396163.037:24157): argc=3 a0="/bin/echo" a1_len=${hex.length} a1[0]=${hex.slice(0, 8000)}\n` +
      `type=EXECVE msg=audit(1795396163.037:24157): a1[1]=${hex.slice(8000)} a2=68656C6C6F20776F726C64\n` +
      'type=PROCTITLE msg=audit(1795396163.037:24157): proctitle=2F62696E2F6563686F\n';
    const { events, issues } = parseText(text);
    expect(issues).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]!.row.command).toBe(`/bin/echo ${arg} 'hello world'`);
    expect(events[0]!.row.record_types).toBe('SYSCALL+EXECVE+PROCTITLE');
  });

  it('keeps only events inside the time window', async () => {
    const all = collect();
    await parseLocalFiles(ENRICHED, all.parser);
    const times = all.events.map((e) => Date.parse(e.row.time));
    const since = times[100]!;
    const until = times[400]!;
    const win = collect({ since, until });
    await parseLocalFiles(ENRICHED, win.parser);
    expect(win.events.map((e) => e.row.serial)).toEqual(
      all.events
        .filter((e) => Date.parse(e.row.time) >= since && Date.parse(e.row.time) < until)
        .map((e) => e.row.serial),
    );
    expect(win.parser.counters.outsideWindow).toBe(all.events.length - win.events.length);
  });

  it('reads gzip-compressed rotated files transparently and reports an unreadable file without stopping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-gz-'));
    const gz = join(dir, 'audit.log.2.gz');
    writeFileSync(gz, gzipSync(readFileSync(ENRICHED[0]!)));
    const plain = collect();
    await parseLocalFiles(ENRICHED, plain.parser);
    const mixed = collect();
    const unreadable = await parseLocalFiles(
      [gz, join(dir, 'missing.log'), ENRICHED[1]!, ENRICHED[2]!],
      mixed.parser,
    );
    expect(unreadable.map((u) => u.file)).toEqual([join(dir, 'missing.log')]);
    expect(mixed.events.map((e) => e.row.serial)).toEqual(plain.events.map((e) => e.row.serial));
    expect(mixed.events[0]!.row.source_file).toBe(gz);
    execFileSync('rm', ['-rf', dir]);
  });
});
