/**
 * `auditsweep demo` as a new user runs it: the built CLI (bin/auditsweep.js → dist/) in a child process, the
 * run folder read back, the delivered mail parsed with mailparser, and every demo port refused afterwards.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../helpers/report-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auditsweep.js');

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    // The timeout kills a demo that never exits (a server left listening keeps the process alive).
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: 45_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

describe('auditsweep demo', () => {
  let ran: Ran;
  let out: string;

  beforeAll(async () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const work = mkdtempSync(join(tmpdir(), 'auditsweep-demo-test-'));
    out = join(work, 'run');
    ran = await cli(['demo', '--out', out], work);
  });

  it('exits 0 by itself, the two deliberate failures included', () => {
    expect(ran.signal, ran.stderr).toBeNull();
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('The demo ran as designed');
    expect(ran.stdout).toMatch(/db-01\s+failed HOST_KEY_CHANGED — deliberate/);
    expect(ran.stdout).toMatch(/legacy-01\s+failed REFUSED — deliberate/);
    // Paths are shown relative to the working directory (here the folder above `run`).
    expect(ran.stdout).toContain('Run folder: run\n');
    expect(ran.stdout).toContain(`saved as ${join('run', 'delivered.eml')}`);
  });

  it('writes the real report set with events of the three reachable hosts', () => {
    for (const f of ['events.csv', 'hosts.csv', 'summary.csv', 'report.html', 'manifest.json', 'mail.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const events = readCsv(join(out, 'events.csv'));
    expect(new Set(events.map((e) => e.host))).toEqual(new Set(['web-01', 'web-02', 'web-03']));
    const hosts = Object.fromEntries(readCsv(join(out, 'hosts.csv')).map((h) => [h.host, h]));
    expect(Object.keys(hosts).sort()).toEqual(['db-01', 'legacy-01', 'web-01', 'web-02', 'web-03']);
    for (const name of ['web-01', 'web-02', 'web-03']) {
      expect(hosts[name]?.outcome).toBe('ok');
      expect(Number(hosts[name]?.events)).toBeGreaterThan(0);
    }
    expect(hosts['db-01']).toMatchObject({ outcome: 'failed', code: 'HOST_KEY_CHANGED' });
    expect(hosts['legacy-01']).toMatchObject({ outcome: 'failed', code: 'REFUSED' });
    const summary = readCsv(join(out, 'summary.csv'));
    expect(summary.map((r) => r.host)).toContain('(all)');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      files: { name: string }[];
    };
    expect(manifest.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['events.csv', 'hosts.csv', 'summary.csv', 'report.html']),
    );
  });

  it('saves the delivered mail, which names the failed hosts', async () => {
    const mail = await simpleParser(readFileSync(join(out, 'delivered.eml')));
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('reviewer@demo.invalid');
    expect(mail.subject).toContain('db-01');
    expect(mail.subject).toContain('legacy-01');
    expect(mail.text).toContain('HOST_KEY_CHANGED');
    expect(mail.text).toContain('REFUSED');
    expect(mail.attachments.map((a) => a.filename)).toEqual(
      expect.arrayContaining(['summary.csv', 'hosts.csv']),
    );
    const outcome = JSON.parse(readFileSync(join(out, 'mail.json'), 'utf8')) as { status: string };
    expect(outcome.status).toBe('sent');
  });

  it('leaves nothing listening: every demo SSH port and the mail sink refuse connections', async () => {
    const ports = readCsv(join(out, 'hosts.csv')).map((h) => Number(h.port));
    const smtp = /via 127\.0\.0\.1:(\d+)/.exec(ran.stderr)?.[1];
    expect(smtp, ran.stderr).toBeDefined();
    for (const port of [...ports, Number(smtp)]) expect(await refused(port), `port ${port}`).toBe(true);
  });

  it('refuses an --out folder that already holds a report, with exit 2', async () => {
    const again = await cli(['demo', '--out', out], tmpdir());
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds');
  });
});
