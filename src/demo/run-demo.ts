/**
 * `auditsweep demo`: a whole sweep on this machine alone. Four SSH hosts start in-process on 127.0.0.1, each
 * serving different real auditd logs from the sample set in the repository (test/fixtures/corpus), with a mail
 * sink beside them; an inventory and a known_hosts file are written to a temporary folder; then `runSweep` runs
 * exactly as `auditsweep sweep` would (inventory → fetch → parse → report → mail) and the mail the sink receives
 * is saved as `delivered.eml` in the run folder. Every server is stopped and the temporary folder removed before
 * this returns, whatever happened.
 *
 * Two hosts fail on purpose, so that failures show in the reports and the mail: db-01 presents a host key other
 * than the one known_hosts holds for it (HOST_KEY_CHANGED), and legacy-01 points at a port nothing listens on
 * (REFUSED).
 */
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { SweepError } from '../errors.js';
import { loadAccountMaps } from '../parse/interpret/accounts.js';
import { claimRunFolder, makeRunId } from '../report/write-reports.js';
import { type MailOutcome, runSweep, type SweepSummary } from '../sweep.js';
import type { HostOutcome } from '../types.js';
import { type DeliveredMessage, startDemoMailSink } from './mail-sink.js';
import { type DemoSshHost, generateEd25519KeyPair, startDemoSshHost } from './ssh-host.js';

/** The sample logs: oldest first, as auditd rotates them. */
const LOG_FILES = ['audit.log.2', 'audit.log.1', 'audit.log'] as const;

/** The hosts the demo serves, and which sample set each one has. */
export const DEMO_HOSTS = [
  { name: 'web-01', sample: 'enriched', about: 'ENRICHED logs' },
  { name: 'web-02', sample: 'raw', about: 'RAW logs (ids named from the sample passwd/group)' },
  { name: 'web-03', sample: 'node-user', about: 'ENRICHED logs with a node= prefix' },
] as const;

/** What is meant to fail, and why. */
export const DEMO_EXPECTED_FAILURES = {
  'db-01': {
    code: 'HOST_KEY_CHANGED',
    why: 'deliberate: known_hosts holds another key than the one it presents, as after a reinstall or with a man in the middle',
  },
  'legacy-01': {
    code: 'REFUSED',
    why: 'deliberate: nothing listens on its port, as when a host is down',
  },
} as const;

/** The sample logs span 2026-11-23 01:06–01:15 UTC: the window starts before them and stays open. */
export const DEMO_WINDOW_SINCE = Date.parse('2026-11-22T00:00:00Z');
export const DEMO_MAIL_TO = 'reviewer@demo.invalid';
export const DEMO_MAIL_FROM = 'auditsweep-demo@demo.invalid';
/** The name of the saved message in the run folder. */
export const DELIVERED_EML = 'delivered.eml';

export interface DemoOptions {
  /** The run folder (must be new or empty); default a fresh `reports/<run id>`. */
  readonly outDir?: string | undefined;
  /** Where default run folders go (default `reports` in the working directory). */
  readonly reportsDir?: string | undefined;
  /** The sample set (default: test/fixtures/corpus of this package). */
  readonly samplesDir?: string | undefined;
  readonly onHostDone?: ((outcome: HostOutcome) => void) | undefined;
  readonly onMailLog?: ((line: string) => void) | undefined;
}

/** How one host's outcome compares with the plan. */
export interface DemoHostCheck {
  readonly outcome: HostOutcome;
  /** The code it was meant to fail with, or undefined for a host meant to succeed. */
  readonly expectedCode: string | undefined;
  /** Why it fails, for a deliberate failure. */
  readonly why: string | undefined;
  readonly asPlanned: boolean;
}

export interface DemoResult {
  readonly summary: SweepSummary;
  readonly runDir: string;
  readonly hosts: readonly DemoHostCheck[];
  readonly mail: MailOutcome | undefined;
  /** The message the sink received, saved in the run folder. */
  readonly delivered: DeliveredMessage | undefined;
  /** Every file of the run folder (relative, `/`-separated, sorted), delivered.eml and mail.json included. */
  readonly files: readonly string[];
  /** Empty when the demo ran as designed; otherwise what went differently. */
  readonly deviations: readonly string[];
}

/** The package root: two levels above this file, in dist/demo/ and in src/demo/ alike. */
function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The sample set shipped in the repository. */
export function defaultSamplesDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'corpus');
}

const AUDIT_STAMP = /msg=audit\((\d{1,12})\.(\d{3}):/g;

/**
 * The time of the last event in a log (its last `msg=audit(SEC.MS:` in the final 64 KiB), or undefined: what
 * the file's mtime was on the machine that wrote it, so that the window logic sees realistic times.
 */
async function lastEventMs(file: string): Promise<number | undefined> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    let last: number | undefined;
    for (const m of buf.toString('latin1').matchAll(AUDIT_STAMP)) {
      const t = Number(m[1]) * 1000 + Number(m[2]);
      if (last === undefined || t > last) last = t;
    }
    // Written a moment after the kernel stamped the event.
    return last === undefined ? undefined : last + 1000;
  } finally {
    await fh.close();
  }
}

/** A loopback port nothing listens on (connection refused). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

function inventoryYaml(
  user: string,
  keyFile: string,
  hosts: readonly { name: string; port: number; about: string }[],
): string {
  const lines = [
    '# Written by `auditsweep demo`: every host is an in-process SSH server on 127.0.0.1.',
    'auditsweep: 1',
    '',
    'defaults:',
    `  user: ${user}`,
    `  identityFile: ${JSON.stringify(keyFile)}`,
    '',
    'groups:',
    '  demo:',
    '    hosts:',
  ];
  for (const h of hosts) {
    lines.push(`      # ${h.about}`, `      ${h.name}: { address: 127.0.0.1, port: ${h.port} }`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the demo. In: where to write. Out: the sweep summary, the run folder and its files, each host's outcome
 * against the plan, the mail outcome and the saved message, and the deviations from the plan (none when all
 * went as designed). Throws only when the demo could not run at all (a sample missing, the folder not fresh).
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const samples = path.resolve(options.samplesDir ?? defaultSamplesDir());
  for (const h of DEMO_HOSTS) {
    for (const f of LOG_FILES) {
      const p = path.join(samples, h.sample, f);
      await stat(p).catch((err: unknown) => {
        throw new SweepError(
          'FILE_UNREADABLE',
          `demo: the sample log ${p} is missing; the demo runs from a clone of the repository`,
          { cause: err },
        );
      });
    }
  }

  const startedAt = new Date();
  const run =
    options.outDir !== undefined
      ? { dir: path.resolve(options.outDir) }
      : await claimRunFolder(path.resolve(options.reportsDir ?? 'reports'), makeRunId(startedAt));
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'auditsweep-demo-'));
  const servers: DemoSshHost[] = [];
  const sink = await startDemoMailSink((n) =>
    path.join(run.dir, n === 1 ? DELIVERED_EML : `delivered-${n}.eml`),
  );
  try {
    // One client key for the run, known to every demo host.
    const client = generateEd25519KeyPair('auditsweep-demo');
    const keyFile = path.join(tmp, 'id_ed25519');
    await writeFile(keyFile, client.private, { mode: 0o600 });

    const served: { name: string; port: number; about: string; hostKey: string }[] = [];
    for (const h of DEMO_HOSTS) {
      const files = await Promise.all(
        LOG_FILES.map(async (name) => {
          const source = path.join(samples, h.sample, name);
          return { name, source, mtimeMs: await lastEventMs(source) };
        }),
      );
      const host = await startDemoSshHost({ files, clientPublicKey: client.public });
      servers.push(host);
      served.push({ name: h.name, port: host.port, about: h.about, hostKey: host.hostPublicKey });
    }
    // db-01 serves logs like the others, but known_hosts has another key for it.
    const db = await startDemoSshHost({
      files: LOG_FILES.map((name) => ({ name, source: path.join(samples, 'raw', name) })),
      clientPublicKey: client.public,
    });
    servers.push(db);
    const oldDbKey = ssh2.utils.parseKey(generateEd25519KeyPair().private);
    if (oldDbKey instanceof Error || Array.isArray(oldDbKey)) throw new SweepError('INTERNAL', 'demo: key');
    const legacyPort = await closedPort();

    const knownHosts = path.join(tmp, 'known_hosts');
    await writeFile(
      knownHosts,
      [
        ...served.map((h) => `[127.0.0.1]:${h.port} ${h.hostKey}`),
        `[127.0.0.1]:${db.port} ${oldDbKey.type} ${oldDbKey.getPublicSSH().toString('base64')}`,
        `[127.0.0.1]:${legacyPort} ${served[0]!.hostKey}`,
        '',
      ].join('\n'),
    );
    const inventory = path.join(tmp, 'inventory.yaml');
    await writeFile(
      inventory,
      inventoryYaml('auditor', keyFile, [
        ...served,
        { name: 'db-01', port: db.port, about: DEMO_EXPECTED_FAILURES['db-01'].why },
        { name: 'legacy-01', port: legacyPort, about: DEMO_EXPECTED_FAILURES['legacy-01'].why },
      ]),
    );

    const summary = await runSweep({
      inventoryFiles: [inventory],
      // The user's ~/.ssh/config, agent and keys play no part: the demo is the same on every machine.
      sshConfigFile: false,
      selection: { include: ['all'], exclude: [], tags: [] },
      outDir: run.dir,
      window: { since: DEMO_WINDOW_SINCE },
      knownHostsFiles: [knownHosts],
      auth: { identityFiles: [keyFile], agentSocket: null, defaultIdentityFiles: [], env: {} },
      timeouts: { connectMs: 5000, authMs: 5000 },
      // legacy-01 is down for good: one attempt says so without the back-off a real sweep would wait through.
      retry: { attempts: 1 },
      accounts: await loadAccountMaps(
        path.join(samples, 'accounts', 'passwd'),
        path.join(samples, 'accounts', 'group'),
      ),
      mail: {
        url: sink.url,
        ignoreTLS: true,
        from: DEMO_MAIL_FROM,
        to: [DEMO_MAIL_TO],
        retries: { attempts: 1, baseDelayMs: 0 },
      },
      onHostDone: options.onHostDone,
      onMailLog: options.onMailLog,
    });

    const expected: Record<string, { code: string; why: string } | undefined> = DEMO_EXPECTED_FAILURES;
    const hosts = summary.outcomes.map((outcome): DemoHostCheck => {
      const plan = expected[outcome.host];
      const asPlanned =
        plan === undefined
          ? outcome.status === 'ok' && outcome.events > 0
          : outcome.status === 'failed' && outcome.code === plan.code;
      return { outcome, expectedCode: plan?.code, why: plan?.why, asPlanned };
    });
    const deviations = hosts
      .filter((h) => !h.asPlanned)
      .map((h) =>
        h.expectedCode === undefined
          ? `${h.outcome.host} was meant to succeed with events but ended ${h.outcome.status}${h.outcome.code ? ` ${h.outcome.code}` : ''} (${h.outcome.events} events): ${h.outcome.message}`
          : `${h.outcome.host} was meant to fail with ${h.expectedCode} but ended ${h.outcome.status}${h.outcome.code ? ` ${h.outcome.code}` : ''}: ${h.outcome.message}`,
      );
    const delivered = sink.delivered[0];
    if (summary.mail?.status !== 'sent') {
      deviations.push(
        `the mail was not sent${summary.mail?.status === 'failed' ? `: ${summary.mail.message}` : ''}`,
      );
    } else if (delivered === undefined) {
      deviations.push('the mail sink received no message');
    }
    return {
      summary,
      runDir: run.dir,
      hosts,
      mail: summary.mail,
      delivered,
      files: await listFiles(run.dir),
      deviations,
    };
  } finally {
    await Promise.all([...servers.map((s) => s.stop()), sink.stop()]);
    await rm(tmp, { recursive: true, force: true });
  }
}
