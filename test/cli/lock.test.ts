/**
 * The per-config lock across real processes: two `node -e` children take the same lock (built dist/lock.js), a
 * stale lock of a dead pid is recovered, and `auditsweep sweep --config` refuses to start while a live run holds it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { lockPathFor } from '../../src/lock.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auditsweep.js');
const LOCK_JS = pathToFileURL(join(ROOT, 'dist', 'lock.js')).href;

/** A child that takes the lock, says `held`, and keeps it until its stdin closes. */
function holder(path: string): {
  child: ChildProcess;
  output: Promise<{ code: number | null; out: string; err: string }>;
} {
  const script = `
    const { acquireLock } = await import(${JSON.stringify(LOCK_JS)});
    try {
      const lock = await acquireLock(process.argv[1], { command: 'holder ' + process.pid, onWarning: (m) => console.error('WARN ' + m) });
      console.log('held');
      process.stdin.resume();
      process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
    } catch (e) {
      console.error(e.message);
      process.exit(2);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, path], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const output = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
  return { child, output };
}

async function untilHeld(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    child.on('exit', () => reject(new Error('the holder exited before taking the lock')));
  });
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('acquireLock across processes', () => {
  it('lets one process hold the lock; a second fails naming the holder, then takes it once released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-lock-'));
    const path = lockPathFor('/etc/auditsweep/auditsweep.yaml', dir);
    const first = holder(path);
    children.push(first.child);
    await untilHeld(first.child);
    const held = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; hostname: string; command: string };
    expect(held).toMatchObject({
      pid: first.child.pid,
      hostname: hostname(),
      command: `holder ${first.child.pid}`,
    });

    const second = holder(path);
    children.push(second.child);
    const refused = await second.output;
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      new RegExp(
        `another run of this config is in progress: pid ${first.child.pid} on ${hostname()} since \\S+ \\(holder ${first.child.pid}\\)`,
      ),
    );

    first.child.stdin!.end();
    expect((await first.output).code).toBe(0);
    expect(existsSync(path)).toBe(false);
    const third = holder(path);
    children.push(third.child);
    await untilHeld(third.child);
    third.child.stdin!.end();
    expect((await third.output).code).toBe(0);
  });

  it('recovers a stale lock whose process is dead, with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-lock-'));
    const path = lockPathFor('/x/auditsweep.yaml', dir);
    // A process that has exited: its pid is not running any more.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    mkdirSync(join(dir, '.locks'), { recursive: true });
    writeFileSync(
      path,
      JSON.stringify({
        pid: dead.pid,
        hostname: hostname(),
        startedAt: new Date().toISOString(),
        command: 'old run',
      }),
    );
    const h = holder(path);
    children.push(h.child);
    await untilHeld(h.child);
    h.child.stdin!.end();
    const { err } = await h.output;
    expect(err).toMatch(
      new RegExp(`WARN recovered a stale lock .* of pid ${dead.pid} .*: process ${dead.pid} is not running`),
    );
  });

  it('releases the lock when the holder is stopped with SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-lock-'));
    const path = lockPathFor('/y/auditsweep.yaml', dir);
    const h = holder(path);
    children.push(h.child);
    await untilHeld(h.child);
    h.child.kill('SIGTERM');
    const { code } = await h.output;
    expect(code).toBeNull(); // died of the signal, re-raised after the release
    expect(existsSync(path)).toBe(false);
  });
});

describe('auditsweep sweep --config and the lock', () => {
  it('exits 2 naming the running holder, and contacts no host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-lock-cli-'));
    const config = join(dir, 'auditsweep.yaml');
    writeFileSync(config, 'inventory: inv.yaml\nselection: { include: all }\noutput: reports\n');
    writeFileSync(
      join(dir, 'inv.yaml'),
      'auditsweep: 1\nhosts:\n  web-01: { address: 127.0.0.1, port: 1 }\n',
    );
    const path = lockPathFor(config, join(dir, 'reports'));
    mkdirSync(join(dir, 'reports', '.locks'), { recursive: true });
    // This test process is alive on this host: the lock is held.
    writeFileSync(
      path,
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        startedAt: new Date().toISOString(),
        command: 'auditsweep sweep --config x --yes',
      }),
    );
    const r = await run(process.execPath, [BIN, 'sweep', '--config', config, '--yes'], { cwd: dir }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `another run of this config is in progress: pid ${process.pid} on ${hostname()}`,
    );
    expect(r.stderr).toContain(path);
    expect(existsSync(path)).toBe(true);
  });
});
