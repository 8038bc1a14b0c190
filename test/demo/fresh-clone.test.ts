/**
 * The README's promise, tested as a new user meets it: a fresh clone of the repository, then the quick start's
 * demo command line exactly as README.md writes it (read from README.md, so this breaks when the README
 * changes), run by /bin/sh in the clone and nothing else: no build, no setup beforehand. It must exit 0, say
 * where the reports and the mail are, and leave the report set and a readable .eml in the clone's reports/.
 *
 * Slow by nature (npm install from the warm npm cache, native builds of ssh2's optional bindings, tsc in
 * `prepare`): a few minutes on a loaded 2-core machine, hence the long timeout.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsv } from '../helpers/report-files.js';

const ROOT = realpathSync(join(import.meta.dirname, '..', '..'));
/** npm install + native builds + tsc, on a loaded 2-core machine. */
const RUN_TIMEOUT_MS = 12 * 60_000;

/** The shell command lines of the README's "Quick start" code block, comments removed. */
function quickStartCommands(readme: string): string[] {
  const section = /^## Quick start\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no "## Quick start" section');
  const block = /^```sh\n([\s\S]*?)^```/m.exec(section)?.[1];
  if (block === undefined) throw new Error('the Quick start section of README.md has no ```sh block');
  return block
    .split('\n')
    .map((line) => line.replace(/\s#.*$/, '').trim())
    .filter((line) => line !== '');
}

/**
 * The files a fresh clone would hold. In a git work tree: exactly what git would commit now, tracked and
 * untracked-but-not-ignored alike (`git ls-files --cached --others --exclude-standard`), read from the work
 * tree. A `git clone` would test the last commit only, not the work under review; copying the files git knows
 * tests that work, and still leaves out node_modules, dist, reports and whatever else .gitignore names.
 * Outside git (a tarball of the sources): every file but the build outputs and local folders.
 */
function cloneFiles(): string[] {
  let inGit = false;
  try {
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: ROOT, encoding: 'utf8' }).trim();
    inGit = realpathSync(top) === ROOT;
  } catch {
    inGit = false;
  }
  if (inGit) {
    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    // A tracked file deleted in the work tree is listed too: a commit of the work would not have it.
    return [...new Set(listed.split('\0'))].filter((f) => f !== '' && existsOrLink(join(ROOT, f)));
  }
  const skip = new Set(['.git', 'node_modules', 'dist', 'reports', '.bench', 'coverage', 'test-artifacts']);
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(r);
      } else files.push(r);
    }
  };
  walk('');
  // The reports folder itself ships (with its .gitkeep), empty.
  if (existsSync(join(ROOT, 'reports', '.gitkeep'))) files.push('reports/.gitkeep');
  return files;
}

function existsOrLink(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function copyInto(dest: string, files: readonly string[]): void {
  for (const f of files) {
    const from = join(ROOT, f);
    const to = join(dest, f);
    mkdirSync(dirname(to), { recursive: true });
    if (lstatSync(from).isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else cpSync(from, to, { preserveTimestamps: true });
  }
}

/**
 * A new user's environment: their PATH (without the node_modules/.bin folders `npm test` put in front), a fresh HOME (so nothing auditsweep keeps under ~ is seen), and npm set up as on this machine. HOME
 * moves, so npm's cache and user config (registry, CA file, proxy, nodedir for native builds) are named
 * explicitly: the cache is left as is, warm from the install that preceded the tests, and preferred to the
 * network (`npm_config_prefer_offline`, an environment setting that leaves the command line untouched).
 */
function newUserEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    HOME: home,
    PATH: (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
      .split(delimiter)
      // npm run-script prepends every ancestor's node_modules/.bin and its own node-gyp-bin.
      .filter((p) => p !== '' && !p.endsWith(`${sep}node_modules${sep}.bin`) && !p.includes('node-gyp-bin'))
      .join(delimiter),
    LANG: process.env.LANG ?? 'C.UTF-8',
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_prefer_offline: 'true',
  };
  const userconfig = process.env.npm_config_userconfig ?? join(homedir(), '.npmrc');
  if (existsSync(userconfig)) env.npm_config_userconfig = userconfig;
  for (const name of [
    'TMPDIR',
    'TZ',
    'NODE_EXTRA_CA_CERTS',
    'http_proxy',
    'https_proxy',
    'no_proxy',
    'HTTP_PROXY',
    'HTTPS_PROXY',
    'NO_PROXY',
  ]) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `line` with `sh -c` in `cwd`; on timeout kills the whole process group it started. */
function sh(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((done, fail) => {
    const started = Date.now();
    const child = spawn('/bin/sh', ['-c', line], {
      cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }, RUN_TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const tail = (text: string, n = 6000) => (text.length > n ? `…${text.slice(-n)}` : text);

describe('the README quick start on a fresh clone', () => {
  let dir: string;
  let clone: string;
  let commands: string[];
  let ran: Ran;
  /** stdout and stderr's ends, for failure messages. */
  let output: string;

  beforeAll(async () => {
    commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-fresh-clone-'));
    // Named as `git clone` would name it; its parent has no `shared` folder beside it, unlike this checkout's.
    clone = join(dir, 'auditsweep');
    const home = join(dir, 'home');
    mkdirSync(home);
    copyInto(clone, cloneFiles());
    const demo = commands.find((c) => c.includes('npm run demo'));
    if (demo === undefined) throw new Error(`no quick-start line runs the demo: ${JSON.stringify(commands)}`);
    ran = await sh(demo, clone, newUserEnv(home));
    output = `exit ${ran.code} signal ${ran.signal} after ${Math.round(ran.ms / 1000)} s\n--- stdout ---\n${tail(ran.stdout)}\n--- stderr ---\n${tail(ran.stderr)}`;
  }, RUN_TIMEOUT_MS + 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is two commands: install and demo, then the test suite', () => {
    expect(commands).toEqual(['npm install && npm run demo', 'npm test']);
  });

  it('runs the demo command line verbatim, nothing before it, and exits 0', () => {
    expect(ran.signal, output).toBeNull();
    expect(ran.code, output).toBe(0);
    expect(ran.stdout, output).toContain('The demo ran as designed');
  });

  it('says where the reports and the mail are, inside the clone', () => {
    const runFolder = /^Run folder: (\S+)$/m.exec(ran.stdout)?.[1];
    const eml = /saved as (\S+\.eml)$/m.exec(ran.stdout)?.[1];
    expect(runFolder, output).toBeDefined();
    expect(eml, output).toBeDefined();
    const run = resolve(clone, runFolder!);
    expect(relative(join(clone, 'reports'), run).startsWith('..'), `${run} is not under reports/`).toBe(
      false,
    );
    expect(isAbsolute(relative(join(clone, 'reports'), run))).toBe(false);
    expect(resolve(clone, eml!)).toBe(join(run, 'delivered.eml'));
  });

  it('leaves the report set in reports/, failed hosts with their codes', async () => {
    const runs = readdirSync(join(clone, 'reports')).filter((f) => !f.startsWith('.'));
    expect(runs, output).toHaveLength(1);
    const run = join(clone, 'reports', runs[0]!);
    for (const f of [
      'events.csv',
      'hosts.csv',
      'summary.csv',
      'report.html',
      'manifest.json',
      'delivered.eml',
    ]) {
      expect(existsSync(join(run, f)), `${f}\n${output}`).toBe(true);
    }
    expect(readCsv(join(run, 'events.csv')).length).toBeGreaterThan(0);
    const hosts = readCsv(join(run, 'hosts.csv'));
    const failed = hosts.filter((h) => h.outcome === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const h of failed) expect(h.code, h.host).toMatch(/^[A-Z_]+$/);
    expect(hosts.some((h) => h.outcome === 'ok')).toBe(true);
    expect(readCsv(join(run, 'summary.csv')).map((r) => r.host)).toContain('(all)');
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as {
      files: { name: string }[];
    };
    expect(manifest.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['events.csv', 'hosts.csv', 'summary.csv', 'report.html']),
    );

    const mail = await simpleParser(readFileSync(join(run, 'delivered.eml')));
    expect(mail.subject).toBeTruthy();
    expect(mail.text).toBeTruthy();
    expect(mail.attachments.map((a) => a.filename)).toEqual(
      expect.arrayContaining(['summary.csv', 'hosts.csv']),
    );
  });
});
