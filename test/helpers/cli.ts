/**
 * Runs the built CLI (`bin/auditsweep.js`, i.e. dist/) as a user would, and resolves with its exit code and
 * output whatever the code. By default in an isolated environment: no ssh-agent, no password or SMTP credentials,
 * no config file from the environment or ~/.config, so that a test's CLI sees only what the test gives it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'auditsweep.js');

const exec = promisify(execFile);

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** process.env without the secrets and config the CLI would pick up, plus `extra` (undefined removes a name). */
export function isolatedEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    ...process.env,
    SSH_AUTH_SOCK: '',
    AUDITSWEEP_SSH_PASSWORD: '',
    AUDITSWEEP_CONFIG: '',
    XDG_CONFIG_HOME: '/nonexistent-config',
    AUDITSWEEP_SMTP_USER: undefined,
    AUDITSWEEP_SMTP_PASSWORD: undefined,
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** `auditsweep ARGS` in `cwd` with `env` (default {@link isolatedEnv}()). */
export async function runCli(
  args: readonly string[],
  options: { readonly cwd?: string | undefined; readonly env?: NodeJS.ProcessEnv | undefined } = {},
): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: options.env ?? isolatedEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
