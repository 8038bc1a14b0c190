/** `auditsweep parse FILE... (--out DIR | --stdout)`. */
import type { Command } from 'commander';
import { parseWindow } from '../../config/window.js';
import { SweepError } from '../../errors.js';
import { loadAccountMaps } from '../../parse/interpret/accounts.js';
import { parseLogs } from '../../parse-logs.js';
import { EXIT } from '../exit-codes.js';

interface ParseFlags {
  out?: string;
  stdout?: boolean;
  host: string;
  passwd?: string;
  group?: string;
  since?: string;
  until?: string;
  bom?: boolean;
}

export function registerParse(program: Command): void {
  program
    .command('parse')
    .description(
      'Parse audit.log files of one host (oldest first; .gz read transparently) into events.csv, and parse-issues.csv when lines were bad',
    )
    .argument('<files...>', 'audit log files of one host, oldest first (audit.log.2 audit.log.1 audit.log)')
    .option('-o, --out <dir>', 'write DIR/events.csv (and DIR/parse-issues.csv)')
    .option('--stdout', 'print the events CSV on standard output')
    .option('--host <name>', 'value of the host column', 'local')
    .option('--passwd <file>', "the audited host's passwd file, to name uids in RAW logs")
    .option('--group <file>', "the audited host's group file, to name gids in RAW logs")
    .option('--since <when>', 'keep events from this time: 7d, 24h, 2026-11-16, or an ISO time (UTC)')
    .option('--until <when>', 'keep events before this time')
    .option('--bom', 'start CSV files with a UTF-8 byte order mark (for Excel)')
    .action(async (files: string[], flags: ParseFlags) => {
      if (flags.out === undefined && !flags.stdout) {
        throw new SweepError('USAGE', 'parse needs --out DIR or --stdout');
      }
      const window = parseWindow(flags.since, flags.until);
      const accounts =
        flags.passwd !== undefined || flags.group !== undefined
          ? await loadAccountMaps(flags.passwd, flags.group)
          : undefined;
      const result = await parseLogs({
        files,
        host: flags.host,
        outDir: flags.stdout ? undefined : flags.out,
        stdout: flags.stdout ? process.stdout : undefined,
        accounts,
        since: window.since,
        until: window.until,
        bom: flags.bom,
      });
      const c = result.counters;
      const reasons = Object.entries(result.issuesByReason)
        .map(([r, n]) => `${r} ${n}`)
        .join(', ');
      process.stderr.write(
        `parsed ${c.lines} lines, ${c.records} records, ${c.events} events` +
          (c.outsideWindow > 0 ? `, ${c.outsideWindow} outside the window` : '') +
          (c.malformed > 0 ? `; ${c.malformed} bad lines (${reasons})` : '') +
          (result.written.length > 0 ? `; wrote ${result.written.join(', ')}` : '') +
          '\n',
      );
      for (const u of result.unreadable)
        process.stderr.write(`auditsweep: cannot read ${u.file}: ${u.error}\n`);
      process.exitCode = result.unreadable.length > 0 ? EXIT.FAILED : EXIT.OK;
    });
}
