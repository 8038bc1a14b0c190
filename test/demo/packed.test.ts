/**
 * The package as npm would publish it (`npm pack`), not the repository: its files must be enough for the
 * commands a user runs after `npm install auditsweep`, the demo included (its sample logs and the example
 * inventories travel in the package), and hold nothing that belongs to the repository alone.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, ROOT } from '../helpers/cli.js';
import { readCsv } from '../helpers/report-files.js';

const exec = promisify(execFile);

describe('the packed package', () => {
  let dir: string;
  let files: string[];
  let pkg: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-packed-'));
    // dist/ is built by `npm test` before the tests; --ignore-scripts: no second build from `prepare`.
    const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: ROOT,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = packed!.files.map((f) => f.path).sort();
    await exec('tar', ['-xzf', join(dir, packed!.filename), '-C', dir]);
    pkg = join(dir, 'package');
    // The dependencies as `npm install` would have put them beside the package.
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  }, 120_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('holds the CLI, the library, the demo samples and the example inventories, and no tests or sources', () => {
    expect(files).toContain('bin/auditsweep.js');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/cli/main.js');
    for (const variant of ['enriched', 'raw', 'node-user', 'node-hostname']) {
      for (const log of ['audit.log', 'audit.log.1', 'audit.log.2']) {
        expect(files).toContain(`test/fixtures/corpus/${variant}/${log}`);
      }
    }
    expect(files).toContain('test/fixtures/corpus/accounts/passwd');
    expect(files).toContain('inventory/example.yaml');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /^(src|bench|scripts|\.ci|reports)\//.test(f))).toEqual([]);
  });

  it('is importable by name as a library, and its parser streams a log', async () => {
    const consumer = mkdtempSync(join(dir, 'consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(pkg, join(consumer, 'node_modules', 'auditsweep'));
    const log = join(pkg, 'test', 'fixtures', 'corpus', 'enriched', 'audit.log');
    const script = [
      "import { createReadStream } from 'node:fs';",
      "import * as auditsweep from 'auditsweep';",
      'let events = 0;',
      `for await (const e of auditsweep.parseAuditStream(createReadStream(${JSON.stringify(log)}), { host: 'h' })) events += e.row.host === 'h' ? 1 : 0;`,
      "const api = ['runSweep', 'parseLogs', 'loadInventory', 'selectHosts', 'fetchFleet', 'checkFleet', 'writeRunReports', 'mailReport'];",
      "console.log(JSON.stringify({ events, columns: auditsweep.EVENT_COLUMNS.length, missing: api.filter((n) => typeof auditsweep[n] !== 'function') }));",
    ].join('\n');
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer });
    const seen = JSON.parse(stdout) as { events: number; columns: number; missing: string[] };
    expect(seen.missing).toEqual([]);
    expect(seen.columns).toBeGreaterThanOrEqual(33);
    expect(seen.events).toBeGreaterThan(100);
  });

  it("runs the demo from the package's own files and writes the report set and the mail", async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const out = join(dir, 'demo-out');
    const { stdout } = await exec(
      process.execPath,
      [join(pkg, 'bin', 'auditsweep.js'), 'demo', '--out', out],
      {
        cwd: home,
        env: isolatedEnv({ HOME: home }),
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(stdout).toContain(out);
    const names = readdirSync(out);
    expect(names).toEqual(
      expect.arrayContaining(['events.csv', 'hosts.csv', 'summary.csv', 'delivered.eml']),
    );
    const hosts = readCsv(join(out, 'hosts.csv'));
    expect(hosts.length).toBeGreaterThan(0);
    expect(hosts.filter((h) => h.outcome === 'ok').length).toBeGreaterThan(0);
    expect(readCsv(join(out, 'events.csv')).length).toBeGreaterThan(100);
    expect(existsSync(join(pkg, 'test', 'fixtures', 'corpus', 'README.md'))).toBe(true);
  }, 180_000);
});
