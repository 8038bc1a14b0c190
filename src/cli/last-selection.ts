/**
 * The interactive sweep's memory: the host selection last confirmed for an inventory, kept per inventory file in
 * `$XDG_STATE_HOME/auditsweep/last-selection.json` (default `~/.local/state/…`) and offered as the default
 * next time. A missing or unreadable file is no memory, never an error.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { HostSelection } from '../inventory/select.js';

const Entry = z.object({
  include: z.array(z.string()),
  exclude: z.array(z.string()).default([]),
  savedAt: z.string(),
});
const StoreFile = z.object({
  version: z.literal(1),
  inventories: z.record(z.string(), Entry),
});
type StoreFile = z.infer<typeof StoreFile>;

/** Where the memory lives: `$XDG_STATE_HOME/auditsweep/last-selection.json`, else under `~/.local/state`. */
export function lastSelectionFile(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec: a relative path is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME;
  const base = xdg?.startsWith('/') ? xdg : join(homedir(), '.local', 'state');
  return join(base, 'auditsweep', 'last-selection.json');
}

/** The key of an inventory (or a merge of several): its absolute path(s), in the order given. */
function inventoryKey(inventoryFiles: string | readonly string[]): string {
  return (typeof inventoryFiles === 'string' ? [inventoryFiles] : inventoryFiles)
    .map((f) => resolve(f))
    .join('\n');
}

async function readStore(file: string): Promise<StoreFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = StoreFile.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The selection last saved for these inventory files, or undefined. */
export async function loadLastSelection(
  inventoryFiles: string | readonly string[],
  file: string = lastSelectionFile(),
): Promise<HostSelection | undefined> {
  const entry = (await readStore(file))?.inventories[inventoryKey(inventoryFiles)];
  if (entry === undefined || entry.include.length === 0) return undefined;
  return { include: entry.include, exclude: entry.exclude };
}

/** Remembers `selection` for these inventory files (the other inventories' entries are kept). */
export async function saveLastSelection(
  inventoryFiles: string | readonly string[],
  selection: HostSelection,
  file: string = lastSelectionFile(),
): Promise<void> {
  const store: StoreFile = (await readStore(file)) ?? { version: 1, inventories: {} };
  store.inventories[inventoryKey(inventoryFiles)] = {
    include: [...(selection.include ?? [])],
    exclude: [...(selection.exclude ?? [])],
    savedAt: new Date().toISOString(),
  };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Write then rename, so that an interrupted save leaves the previous memory intact.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
