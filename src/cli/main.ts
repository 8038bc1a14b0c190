/**
 * The auditsweep command line: parses arguments, calls the library, maps the outcome to an exit code.
 * No business logic here (knip's cli.ts → main(options)).
 *
 * Exit codes (README): 0 all good, 1 some hosts failed / a file could not be read, 2 usage or config error,
 * 3 mail could not be sent (reports kept).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isSweepError } from '../errors.js';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerHosts } from './commands/hosts.js';
import { registerParse } from './commands/parse.js';
import { registerSchedule } from './commands/schedule.js';
import { registerSweep } from './commands/sweep.js';
import { EXIT } from './exit-codes.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Builds the program; exported for tests that inspect --help. */
export function buildProgram(): Command {
  const program = new Command('auditsweep')
    .description(
      'Agentless sweep of Linux audit logs: fetch over SSH, parse auditd records, report and mail.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  registerParse(program);
  registerSweep(program);
  registerHosts(program);
  registerDemo(program);
  registerSchedule(program);
  registerConfig(program);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isSweepError(err)) {
      process.stderr.write(`auditsweep: ${err.message}\n`);
      return err.code === 'USAGE' || err.code === 'CONFIG_INVALID' || err.code === 'INVENTORY_INVALID'
        ? EXIT.USAGE
        : EXIT.FAILED;
    }
    process.stderr.write(
      `auditsweep: internal error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.FAILED;
  }
}
