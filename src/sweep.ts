/**
 * The composer: inventory → select → fetch (→ parse) → report files. The only file that knows the order.
 *
 * Each host's rows are spooled to their own file while it is collected (hosts run concurrently), then the
 * spools are concatenated in host order into events.csv, so rows come out ordered by (host, time, serial)
 * without holding a fleet's events in memory. A failed host's spool is dropped; a partial one is kept and
 * the host is marked `partial` in hosts.csv.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TimeWindow } from './config/window.js';
import { SweepError } from './errors.js';
import type { AuthOptions } from './fetch/auth.js';
import { fetchFleet, type HostOutput } from './fetch/fetch-fleet.js';
import { type FetchedFile, type HostFetchResult, safeName } from './fetch/fetch-host.js';
import type { SessionTimeouts } from './fetch/session.js';
import { hostStateKey, type LogCursor, loadState, saveState } from './fetch/state.js';
import { formatIssue, type HostSelection, loadInventory, selectHosts } from './inventory/index.js';
import type { InventoryDefaults, InventoryHost } from './inventory/types.js';
import { HOST_COLUMNS, hostRow, ISSUE_COLUMNS, issueRow } from './report/columns.js';
import { CsvWriter } from './report/csv-writer.js';
import {
  type AccountMaps,
  EVENT_COLUMNS,
  emptyCounters,
  type HostOutcome,
  type ParseCounters,
} from './types.js';

export interface SweepConfig {
  readonly inventoryFiles: readonly string[];
  /** OpenSSH client config; undefined = ~/.ssh/config, false = none. */
  readonly sshConfigFile?: string | false | undefined;
  readonly selection: HostSelection;
  /** Settings below the inventory's own (e.g. `--user`). */
  readonly defaults?: InventoryDefaults | undefined;
  /** Output folder; must not hold an earlier report. */
  readonly outDir: string;
  readonly window: TimeWindow;
  readonly concurrency?: number | undefined;
  readonly connectConcurrency?: number | undefined;
  readonly hostDeadlineMs?: number | undefined;
  readonly knownHostsFiles?: readonly string[] | undefined;
  readonly auth?: AuthOptions | undefined;
  readonly timeouts?: Partial<SessionTimeouts> | undefined;
  readonly retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number } | undefined;
  readonly insecureAcceptUnknownHostKeys?: boolean | undefined;
  /** `--incremental`: read only what was written since the state file's cursor. */
  readonly incremental?: boolean | undefined;
  readonly stateFile?: string | undefined;
  /** `--keep-raw`: keep the exact bytes received under DIR/raw with a manifest. */
  readonly keepRaw?: boolean | undefined;
  readonly bom?: boolean | undefined;
  readonly accounts?: AccountMaps | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Asked once the hosts are known and before any connection; false cancels the sweep (USAGE). */
  readonly confirm?: ((hosts: readonly InventoryHost[], outDir: string) => Promise<boolean>) | undefined;
  /** Progress callbacks (the CLI prints one line per host outcome). */
  readonly onHostStart?: ((host: InventoryHost) => void) | undefined;
  readonly onHostDone?: ((outcome: HostOutcome) => void) | undefined;
}

export interface SweepSummary {
  readonly outDir: string;
  readonly selected: readonly InventoryHost[];
  readonly outcomes: HostOutcome[];
  readonly counters: ParseCounters;
  readonly written: string[];
  /** Security warnings that every report must carry. */
  readonly warnings: string[];
  readonly files: ReadonlyMap<string, FetchedFile[]>;
}

interface Spool {
  readonly events: string;
  readonly issues: string;
}

async function ensureFreshOutDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const present = (await readdir(dir)).filter((f) => !f.startsWith('.'));
  if (present.length > 0) {
    throw new SweepError(
      'USAGE',
      `the output folder ${dir} already holds ${present.slice(0, 3).join(', ')}${present.length > 3 ? ', …' : ''}; an earlier report is never overwritten: choose a new folder or move that one away`,
    );
  }
}

function toOutcome(host: InventoryHost, r: HostFetchResult): HostOutcome {
  const common = {
    host: host.name,
    message: r.message,
    files: r.files.length,
    bytes: r.bytes,
    events: r.counters.events,
    durationMs: r.durationMs,
  };
  if (r.status === 'failed') return { ...common, status: 'failed', code: r.code ?? 'PROTOCOL' };
  return r.code === undefined
    ? { ...common, status: r.status }
    : { ...common, status: r.status, code: r.code };
}

function addCounters(into: ParseCounters, c: ParseCounters): void {
  for (const k of Object.keys(into) as (keyof ParseCounters)[]) into[k] += c[k];
}

/** Appends the data rows of `files` (each with its own header line) to `out`, in order. */
async function concatCsv(files: readonly string[], out: Writable): Promise<void> {
  for (const file of files) {
    let skippedHeader = false;
    await pipeline(
      createReadStream(file),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          if (skippedHeader) {
            yield chunk;
            continue;
          }
          const nl = chunk.indexOf(0x0a);
          if (nl < 0) continue; // a header longer than a chunk: keep looking
          skippedHeader = true;
          if (nl + 1 < chunk.length) yield chunk.subarray(nl + 1);
        }
      },
      out,
      { end: false },
    );
  }
}

function headerLine(columns: readonly string[], bom: boolean | undefined): string {
  return `${bom ? '\ufeff' : ''}${columns.join(',')}\r\n`;
}

/** Writes `DIR/name` from a header and the spools, atomically (a `.partial` file renamed at the end). */
async function mergeInto(
  path: string,
  columns: readonly string[],
  spools: string[],
  bom?: boolean,
): Promise<void> {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  out.write(headerLine(columns, bom));
  await concatCsv(spools, out);
  await new Promise<void>((resolve, reject) => {
    out.on('error', reject);
    out.end(resolve);
  });
  await rename(partial, path);
}

/** Runs a whole sweep and writes DIR/events.csv, DIR/hosts.csv (and DIR/parse-issues.csv when lines were bad). */
export async function runSweep(config: SweepConfig): Promise<SweepSummary> {
  const loaded = await loadInventory(config.inventoryFiles, {
    ...(config.sshConfigFile !== undefined ? { sshConfigFile: config.sshConfigFile } : {}),
    ...(config.defaults ? { defaults: config.defaults } : {}),
  });
  if (loaded.value === undefined) {
    throw new SweepError('INVENTORY_INVALID', loaded.errors.map(formatIssue).join('\n'));
  }
  const selected = selectHosts(loaded.value, config.selection);
  if (selected.value === undefined || selected.errors.length > 0) {
    const why = selected.errors.map((e) => `${e.message}${e.fix ? ` (${e.fix})` : ''}`).join('\n');
    throw new SweepError('USAGE', why || 'the selection matched no host');
  }
  const hosts = selected.value;
  if (hosts.length === 0) throw new SweepError('USAGE', 'the selection matched no host');
  if (config.confirm && !(await config.confirm(hosts, config.outDir))) {
    throw new SweepError('USAGE', 'sweep cancelled; nothing was contacted');
  }

  await ensureFreshOutDir(config.outDir);
  const spoolDir = join(config.outDir, '.spool');
  await mkdir(spoolDir, { recursive: true });
  const state = config.incremental && config.stateFile ? await loadState(config.stateFile) : undefined;
  const cursors = new Map<string, LogCursor>(state ? Object.entries(state.hosts) : []);

  const spools = new Map<string, Spool>();
  const results = new Map<string, HostFetchResult>();
  const outcomes = new Map<string, HostOutcome>();
  let n = 0;

  const outputFor = async (host: InventoryHost): Promise<HostOutput> => {
    const base = join(spoolDir, `${String(n++).padStart(5, '0')}-${safeName(host.name)}`);
    const spool = { events: `${base}.events.csv`, issues: `${base}.issues.csv` };
    const events = new CsvWriter(createWriteStream(spool.events), EVENT_COLUMNS);
    const issues = new CsvWriter(createWriteStream(spool.issues), ISSUE_COLUMNS);
    return {
      sink: {
        event: (parsed) => events.add(parsed.row),
        issue: (issue) => issues.add(issueRow(host.name, issue)),
      },
      afterChunk: async () => {
        await events.drain();
        await issues.drain();
      },
      finish: async (result) => {
        await events.close();
        await issues.close();
        results.set(host.name, result);
        if (result.status === 'failed') {
          // Nothing half-parsed of a failed host reaches the reports.
          await rm(spool.events, { force: true });
          await rm(spool.issues, { force: true });
        } else {
          spools.set(host.name, spool);
        }
      },
    };
  };

  await fetchFleet(hosts, {
    window: config.window,
    session: {
      ...(config.knownHostsFiles ? { knownHostsFiles: config.knownHostsFiles } : {}),
      ...(config.auth ? { auth: config.auth } : {}),
      ...(config.timeouts ? { timeouts: config.timeouts } : {}),
      ...(config.insecureAcceptUnknownHostKeys ? { insecureAcceptUnknownHostKeys: true } : {}),
    },
    ...(config.retry ? { retry: config.retry } : {}),
    accounts: config.accounts,
    keepRawDir: config.keepRaw ? join(config.outDir, 'raw') : undefined,
    concurrency: config.concurrency,
    connectConcurrency: config.connectConcurrency,
    hostDeadlineMs: config.hostDeadlineMs,
    signal: config.signal,
    cursors,
    outputFor,
    onHostStart: (host) => config.onHostStart?.(host),
    onHostDone: (host, result) => {
      const outcome = toOutcome(host, result);
      outcomes.set(host.name, outcome);
      config.onHostDone?.(outcome);
    },
  });

  // Reports: hosts in name order, so that events.csv is ordered by (host, time, serial).
  const order = [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kept = order.flatMap((h) => {
    const s = spools.get(h.name);
    return s ? [s] : [];
  });
  const written: string[] = [];
  const eventsPath = join(config.outDir, 'events.csv');
  await mergeInto(
    eventsPath,
    EVENT_COLUMNS,
    kept.map((s) => s.events),
    config.bom,
  );
  written.push(eventsPath);

  const counters = emptyCounters();
  for (const r of results.values()) addCounters(counters, r.counters);
  if (counters.malformed > 0) {
    const issuesPath = join(config.outDir, 'parse-issues.csv');
    await mergeInto(
      issuesPath,
      ISSUE_COLUMNS,
      kept.map((s) => s.issues),
      config.bom,
    );
    written.push(issuesPath);
  }

  const warnings = [...new Set([...results.values()].flatMap((r) => r.warnings))];
  const hostsPath = join(config.outDir, 'hosts.csv');
  const hostsOut = createWriteStream(`${hostsPath}.partial`);
  const hostsCsv = new CsvWriter(hostsOut, HOST_COLUMNS, { bom: config.bom });
  for (const h of hosts) {
    const outcome = outcomes.get(h.name);
    const result = results.get(h.name);
    if (outcome === undefined || result === undefined) {
      throw new SweepError('INTERNAL', `host ${h.name} ended without an outcome`);
    }
    hostsCsv.add(hostRow(h, outcome, result));
  }
  await hostsCsv.close();
  await rename(`${hostsPath}.partial`, hostsPath);
  written.push(hostsPath);

  const files = new Map([...results.entries()].map(([name, r]) => [name, r.files]));
  if (config.keepRaw) {
    const manifest = join(config.outDir, 'raw', 'manifest.json');
    await mkdir(join(config.outDir, 'raw'), { recursive: true });
    await writeFile(
      manifest,
      `${JSON.stringify(
        Object.fromEntries([...files.entries()].map(([name, list]) => [name, list])),
        null,
        2,
      )}\n`,
    );
    written.push(manifest);
  }

  if (config.incremental && config.stateFile) {
    const next: Record<string, LogCursor> = { ...(state?.hosts ?? {}) };
    for (const h of hosts) {
      const r = results.get(h.name);
      if (r?.status === 'ok' && r.cursor) next[hostStateKey(h)] = r.cursor;
    }
    await saveState(config.stateFile, { version: 1, hosts: next });
  }
  await rm(spoolDir, { recursive: true, force: true });

  return {
    outDir: config.outDir,
    selected: hosts,
    outcomes: hosts.map((h) => outcomes.get(h.name)!),
    counters,
    written,
    warnings,
    files,
  };
}
