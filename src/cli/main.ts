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
import { EXIT } from './exit-codes.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when it is needed: `auditsweep parse` has no use for SSH, mail or prompts, and
 * loading every command's libraries costs ~0.2 s of start-up. In the order `--help` lists them.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Register>>> = {
  parse: async () => (await import('./commands/parse.js')).registerParse,
  sweep: async () => (await import('./commands/sweep.js')).registerSweep,
  hosts: async () => (await import('./commands/hosts.js')).registerHosts,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  schedule: async () => (await import('./commands/schedule.js')).registerSchedule,
  config: async () => (await import('./commands/config.js')).registerConfig,
};

/** The command `argv` runs: its first word that is not an option (no option of the program takes a value). */
function commandOf(argv: readonly string[]): string | undefined {
  const word = argv.find((a) => !a.startsWith('-'));
  return word !== undefined && Object.hasOwn(COMMANDS, word) ? word : undefined;
}

/**
 * Builds the program for `argv`: with only the command it names, or every command (`--help`, `--version`, `help`,
 * an unknown command). Exported for tests that inspect --help.
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
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
  const only = commandOf(argv);
  for (const [name, load] of Object.entries(COMMANDS)) {
    if (only === undefined || name === only) (await load())(program);
  }
  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
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
