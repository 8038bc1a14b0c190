/** Shared by the inventory tests: fixed local facts, and inventories written to a temporary folder. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { type LoadInventoryOptions, loadInventory } from '../../src/inventory/index.js';

/** ssh tokens (`~`, `%d`, `%u`, `%l`) expand to these, whatever machine runs the tests. */
export const LOCAL = {
  home: '/home/tester',
  user: 'tester',
  uid: 1000,
  hostname: 'laptop.example.net',
  cwd: '/work/here',
};

const made: string[] = [];
afterAll(async () => {
  await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Writes `files` (relative path → text) into a new temporary folder, removed after the test file. */
export async function writeTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'auditsweep-inventory-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const target = path.join(dir, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
  }
  return dir;
}

/** Loads `entry` (one name or several) from a tree of files; no ssh config unless `ssh_config` is in the tree. */
export async function loadTree(
  files: Record<string, string>,
  entry: string | string[],
  options: LoadInventoryOptions = {},
): Promise<Awaited<ReturnType<typeof loadInventory>> & { dir: string }> {
  const dir = await writeTree(files);
  const entries = (Array.isArray(entry) ? entry : [entry]).map((e) => path.join(dir, e));
  const sshConfigFile = 'ssh_config' in files ? path.join(dir, 'ssh_config') : false;
  const result = await loadInventory(entries, { sshConfigFile, local: { ...LOCAL, cwd: dir }, ...options });
  return { ...result, dir };
}

/** The host named `name`, failing loudly when absent. */
export function host<T extends { name: string }>(hosts: readonly T[] | undefined, name: string): T {
  const found = hosts?.find((h) => h.name === name);
  if (!found) throw new Error(`no host ${name} in [${hosts?.map((h) => h.name).join(', ')}]`);
  return found;
}
