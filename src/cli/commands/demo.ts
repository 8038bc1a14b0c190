/**
 * `auditsweep demo [--out DIR]`: a full sweep of an embedded demo fleet (src/demo/run-demo.ts), with nothing
 * to set up. Prints where the reports and the delivered mail are, and each host's outcome.
 *
 * Exit code: 0 when the demo ran as designed, which includes its two DELIBERATE host failures (db-01
 * HOST_KEY_CHANGED, legacy-01 REFUSED: they are there to show what failures look like, and `npm run demo` must
 * succeed on a fresh clone); 1 when anything went otherwise (a host that should have worked failed, a deliberate
 * failure did not happen or failed differently, the mail did not arrive); 2 for a usage error (--out not fresh).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { DELIVERED_EML, DEMO_MAIL_TO, DEMO_WINDOW_SINCE, runDemo } from '../../demo/run-demo.js';
import type { HostOutcome } from '../../types.js';
import { EXIT } from '../exit-codes.js';

function logOutcome(o: HostOutcome): void {
  const code = o.code ? ` ${o.code}` : '';
  process.stderr.write(`${o.status.padEnd(7)} ${o.host}${code}: ${o.message}\n`);
}

/** A path as the user can type it from where they are. */
function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Sweep an embedded demo fleet (SSH hosts and a mail sink started on 127.0.0.1 in this process, serving the sample logs): the real reports and the delivered mail, nothing to set up',
    )
    .option('-o, --out <dir>', 'output folder (default reports/<run-id>); never an earlier report')
    .action(async (flags: { out?: string }) => {
      process.stderr.write(
        `auditsweep demo: starting 4 SSH hosts and a mail sink on 127.0.0.1; sweeping since ${new Date(DEMO_WINDOW_SINCE).toISOString()} (the sample logs are of 2026-11-23)\n`,
      );
      const result = await runDemo({
        outDir: flags.out,
        reportsDir: path.resolve('reports'),
        onHostDone: logOutcome,
        onMailLog: (line) => process.stderr.write(`${line}\n`),
      });
      const out = process.stdout;
      const c = result.summary.counters;
      out.write(`\nRun folder: ${shown(result.runDir)}\n`);
      for (const f of result.files) {
        const note =
          f === DELIVERED_EML
            ? '  ← the mail as the reviewer received it'
            : f === 'report.html'
              ? '  ← open in a browser'
              : '';
        out.write(`  ${f}${note}\n`);
      }
      if (result.delivered) {
        out.write(
          `\nMail: sent to ${DEMO_MAIL_TO} through the local sink, saved as ${shown(result.delivered.path)}\n`,
        );
      }
      out.write(
        `\nHosts (${c.events} events from ${result.hosts.filter((h) => h.outcome.status === 'ok').length} hosts):\n`,
      );
      const width = Math.max(...result.hosts.map((h) => h.outcome.host.length));
      for (const h of result.hosts) {
        const o = h.outcome;
        const what =
          o.status === 'ok'
            ? `ok, ${o.files} files, ${o.events} events`
            : `${o.status} ${o.code ?? ''}${h.why ? ` — ${h.why}` : `: ${o.message}`}`;
        out.write(`  ${o.host.padEnd(width)}  ${what}${h.asPlanned ? '' : '  ← NOT AS PLANNED'}\n`);
      }
      if (result.deviations.length === 0) {
        out.write(
          '\nThe demo ran as designed: the two failures above are deliberate, so this exits 0.\n' +
            'Next: open report.html, read delivered.eml, or point `auditsweep sweep` at your own inventory (inventory/example.yaml).\n',
        );
        process.exitCode = EXIT.OK;
        return;
      }
      for (const d of result.deviations) process.stderr.write(`auditsweep demo: ${d}\n`);
      process.exitCode = EXIT.FAILED;
    });
}
