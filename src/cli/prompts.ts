/**
 * The one importer of inquirer (@inquirer/prompts, the Inquirer.js prompts; v7 runs on Node 20). Every
 * question the CLI asks goes through here, so tests swap this seam and unattended runs never reach it.
 */
import { confirm, password } from '@inquirer/prompts';
import { SweepError } from '../errors.js';

/** True when a person can answer: both stdin and stdout are terminals. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/**
 * Asks a yes/no question; off a terminal it never asks and fails with a message naming `flag`, the switch that
 * answers the question in advance.
 */
export async function confirmOrFail(message: string, flag: string): Promise<boolean> {
  if (!canPrompt()) {
    throw new SweepError('USAGE', `not at a terminal, so nothing can be confirmed: pass ${flag} to proceed`);
  }
  return confirm({ message, default: false });
}

/** Asks for a secret (a key passphrase, an SSH password) without echoing it; undefined off a terminal. */
export async function askSecret(message: string): Promise<string | undefined> {
  if (!canPrompt()) return undefined;
  const answer = await password({ message, mask: false });
  return answer === '' ? undefined : answer;
}
