/**
 * `--help` for the program and for each command, `--version`, and an unknown command, through the built CLI: the
 * commands are loaded on demand (main.ts), so each must still be found and described.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';

const COMMANDS = ['parse', 'sweep', 'hosts', 'demo', 'schedule', 'config'];

describe('help and version', () => {
  it('lists every command in the program help, in order, and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const listed = [...r.stdout.matchAll(/^ {2}(\w+)\b/gm)].map((m) => m[1]);
    expect(listed.filter((c) => c !== 'help')).toEqual(COMMANDS);
  });

  it.each(COMMANDS)('describes `%s` with its own usage line', async (command) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: auditsweep ${command}\\b`));
  });

  it('lists the hosts subcommands, with `help hosts` as with `hosts --help`', async () => {
    const viaHelp = await runCli(['help', 'hosts']);
    expect(viaHelp.code).toBe(0);
    for (const sub of ['list', 'check', 'trust'])
      expect(viaHelp.stdout).toMatch(new RegExp(`^ {2}${sub}\\b`, 'm'));
    expect((await runCli(['hosts', '--help'])).stdout).toBe(viaHelp.stdout);
  });

  it('prints the package version and rejects an unknown command with exit 2', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    expect((await runCli(['--version'])).stdout.trim()).toBe(version);
    const r = await runCli(['sweeep']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'sweeep'/);
  });
});
