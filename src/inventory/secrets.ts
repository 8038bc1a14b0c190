/**
 * Passwords never come from an inventory: the native loader rejects them, the Ansible loaders drop them with a
 * warning. Either way the value is never stored or repeated; the issue points at the environment and the prompt.
 */
import { type InventoryIssue, PASSWORD_ENV } from './types.js';

/**
 * Keys that hold a password or a secret, in any inventory (`password`, `ansible_ssh_pass`,
 * `ansible_become_password`, `passphrase` …): passwords never come from an inventory.
 */
export function isPasswordKey(key: string): boolean {
  const folded = key.toLowerCase().replace(/[-_]/g, '');
  return /password|passwd|passphrase|secret|(^|ssh|become|sudo|su)pass$/.test(folded);
}

/** The password issue every loader reports the same way. The value itself is never repeated. */
export function passwordIssue(file: string, key: string, line: number | undefined): InventoryIssue {
  return {
    file,
    ...(line !== undefined && { line }),
    key,
    message: `\`${key.split('.').pop()}\` holds a password; passwords are never read from an inventory`,
    fix: `remove it from the inventory and give the password in the ${PASSWORD_ENV} environment variable or at the prompt (better: use a key)`,
  };
}
