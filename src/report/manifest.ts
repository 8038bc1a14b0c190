/**
 * manifest.json: the tool's own audit trail of a run, written last into the run folder. Who ran it (user and
 * machine), when, over which window and selection, with which tool version; every host's outcome; the parse
 * counters; the warnings every report carries; and every file of the run folder with its size, SHA-256 and (for
 * the CSVs the run wrote) its row count, so that a reviewer can show later that a report is the one produced.
 *
 * The files are hashed by streaming them (events.csv can be gigabytes). The manifest lists what is in the folder
 * when it is written, not what the run meant to write: a file another stage added (report.html) is listed too.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { TimeWindow } from '../config/window.js';
import type { HostSelection } from '../inventory/index.js';
import { PRIVATE_FILE } from '../private-files.js';
import type { HostOutcome, ParseCounters } from '../types.js';

export const MANIFEST_FILE = 'manifest.json';
/** Bumped when a field changes meaning or goes away; new fields may be added without a bump. */
export const MANIFEST_FORMAT = 'auditsweep-manifest/1';

/** One file of the run folder as the manifest lists it. */
export interface ManifestFile {
  /** Path relative to the run folder, with `/` separators (`raw/web-01/audit.log`). */
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  /** Data rows, for the CSV files the run wrote (the header is not a row). */
  readonly rows?: number;
}

export interface ManifestInput {
  readonly runId: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly window: TimeWindow;
  readonly selection: HostSelection;
  readonly inventoryFiles: readonly string[];
  readonly hosts: readonly HostOutcome[];
  readonly counters: ParseCounters;
  /** Rows of each findings file, by kind. */
  readonly findings?: Readonly<Record<string, number>> | undefined;
  readonly warnings: readonly string[];
  /** Data rows of the CSV files the run wrote, by name relative to the run folder. */
  readonly rows: ReadonlyMap<string, number>;
  /** The keep-raw manifest, relative to the run folder, when `--keep-raw` was given. */
  readonly rawManifest?: string | undefined;
  /** Alerts that fired (report/alerts.ts), as report.html and the mail show them. */
  readonly alerts?: readonly ManifestAlert[] | undefined;
  /** Local log files the run read (`auditsweep parse`), with the SHA-256 of the bytes as read. */
  readonly inputs?: readonly ManifestInputFile[] | undefined;
}

/** A local input file: absolute path, bytes read and their SHA-256 (of the file as stored, gzip or not). */
export interface ManifestInputFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** A fired alert as the manifest records it. */
export interface ManifestAlert {
  readonly rule: string;
  readonly severity: 'high' | 'medium' | 'low';
  readonly message: string;
  readonly findings: number;
  readonly hosts: readonly string[];
}

export interface Manifest {
  readonly format: string;
  readonly runId: string;
  readonly tool: { readonly name: string; readonly version: string };
  readonly ranBy: { readonly user: string; readonly uid: number; readonly machine: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly window: { readonly since: string | null; readonly until: string | null };
  readonly selection: {
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    readonly tags: readonly string[];
  };
  readonly inventoryFiles: readonly string[];
  /** Local log files read (`auditsweep parse`); empty for a sweep. */
  readonly inputs: readonly ManifestInputFile[];
  readonly hosts: readonly HostOutcome[];
  readonly counters: ParseCounters;
  readonly findings: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  readonly alerts: readonly ManifestAlert[];
  readonly rawManifest: string | null;
  readonly files: readonly ManifestFile[];
}

let toolVersion: string | undefined;

/** auditsweep's version, from its package.json (src/report and dist/report are both two levels below it). */
export async function readToolVersion(): Promise<string> {
  if (toolVersion === undefined) {
    try {
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      toolVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      toolVersion = 'unknown';
    }
  }
  return toolVersion;
}

/** SHA-256 (hex) and size of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(createReadStream(path), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  });
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * The regular files under `dir`, relative, `/`-separated, sorted. Dot files and folders (the spool, state) and
 * leftover `.partial` files are not report files; symbolic links are not followed.
 */
async function listFiles(dir: string, root: string = dir): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name.endsWith('.partial')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path, root)));
    else if (e.isFile()) out.push(relative(root, path).split(sep).join('/'));
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function who(): { user: string; uid: number } {
  try {
    const u = userInfo();
    return { user: u.username, uid: u.uid };
  } catch {
    // userInfo throws for a uid without a passwd entry (a container's arbitrary uid).
    return { user: process.env.USER ?? process.env.LOGNAME ?? 'unknown', uid: process.getuid?.() ?? -1 };
  }
}

/**
 * Hashes every file of the run folder `outDir` (but the manifest itself) and writes `outDir/manifest.json`
 * atomically. Call it last. Resolves with the manifest as written.
 */
export async function writeManifest(outDir: string, input: ManifestInput): Promise<Manifest> {
  const files: ManifestFile[] = [];
  for (const name of await listFiles(outDir)) {
    if (name === MANIFEST_FILE) continue;
    const path = join(outDir, name);
    // A file swapped for a link after listing is not followed either.
    if (!(await lstat(path)).isFile()) continue;
    const { sha256, bytes } = await hashFile(path);
    const rows = input.rows.get(name);
    files.push(rows === undefined ? { name, bytes, sha256 } : { name, bytes, sha256, rows });
  }
  const { user, uid } = who();
  const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    runId: input.runId,
    tool: { name: 'auditsweep', version: await readToolVersion() },
    ranBy: { user, uid, machine: hostname() },
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    window: { since: iso(input.window.since), until: iso(input.window.until) },
    selection: {
      include: [...(input.selection.include ?? [])],
      exclude: [...(input.selection.exclude ?? [])],
      tags: [...(input.selection.tags ?? [])],
    },
    inventoryFiles: [...input.inventoryFiles],
    inputs: (input.inputs ?? []).map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 })),
    hosts: input.hosts,
    counters: input.counters,
    findings: input.findings ?? {},
    warnings: [...input.warnings],
    alerts: (input.alerts ?? []).map((a) => ({
      rule: a.rule,
      severity: a.severity,
      message: a.message,
      findings: a.findings,
      hosts: [...a.hosts],
    })),
    rawManifest: input.rawManifest ?? null,
    files,
  };
  const path = join(outDir, MANIFEST_FILE);
  await writeFile(`${path}.partial`, `${JSON.stringify(manifest, null, 2)}\n`, {
    flag: 'wx',
    mode: PRIVATE_FILE,
  });
  await rename(`${path}.partial`, path);
  return manifest;
}
