/**
 * Audit records are personal data and evidence: a run folder and everything a run writes are the owner's alone
 * (folders 0700, files 0600), under the usual umask 022 — a sweep against a real sshd host with every file kind
 * (report set, raw copies, mail copy, incremental state) and `auditsweep parse`.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';
import { plainHosts, sweepArgs, writeSweepFiles } from '../helpers/fleet-inventory.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';

const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const LOGS = ['audit.log.1', 'audit.log'];

/** `dir` and everything below it, each with its permission bits (e.g. `events.csv 600`). */
function modes(dir: string): string[] {
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  return [
    `. ${(statSync(dir).mode & 0o777).toString(8)}`,
    ...entries.map((e) => {
      const path = join(e.parentPath, e.name);
      return `${path.slice(dir.length + 1)} ${(statSync(path).mode & 0o777).toString(8)}`;
    }),
  ].sort();
}

describe('what a run writes is private', () => {
  let fleet: SshdFleet;
  let dir: string;
  let umask: number;

  beforeAll(async () => {
    umask = process.umask(0o022);
    fleet = await startSshdFleet({
      hosts: [{ name: 'web-01', logs: Object.fromEntries(LOGS.map((f) => [f, join(FIX, 'enriched', f)])) }],
    });
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-private-'));
  }, 60_000);

  afterAll(async () => {
    if (umask !== undefined) process.umask(umask);
    await fleet?.stop();
  });

  it('creates the run folder 0700 and every file 0600 in a sweep and in parse', async () => {
    const files = writeSweepFiles(dir, fleet, { web: plainHosts(['web-01']) });
    const out = join(dir, 'reports', 'week-47');
    const state = join(dir, 'state', 'incremental.json');
    const sweep = await runCli(
      sweepArgs(files, out, [
        '--keep-raw',
        '--incremental',
        '--state',
        state,
        '--mail-to',
        'reviewers@example.invalid',
        '--mail-dry-run',
      ]),
    );
    expect(sweep.code, sweep.stderr).toBe(0);
    const swept = modes(out);
    // Every kind of file is there, so that the check covers them all.
    for (const name of [
      'events.csv',
      'summary.csv',
      'report.html',
      'manifest.json',
      'mail.json',
      'message.eml',
    ]) {
      expect(swept).toContain(`${name} 600`);
    }
    expect(swept).toContain('raw 700');
    expect(swept).toContain('raw/manifest.json 600');
    expect(swept).toContain('raw/web-01/audit.log 600');
    expect(swept.filter((m) => !/ (600|700)$/.test(m))).toEqual([]);
    expect(swept.filter((m) => m.endsWith(' 700'))).toEqual(['. 700', 'raw 700', 'raw/web-01 700']);
    expect(modes(join(dir, 'state'))).toEqual(['. 700', 'incremental.json 600']);

    for (const extra of [[], ['--events-only']]) {
      const parsed = join(dir, `parse${extra.join('')}`);
      const parse = await runCli([
        'parse',
        ...LOGS.map((f) => join(FIX, 'enriched', f)),
        ...extra,
        '--out',
        parsed,
      ]);
      expect(parse.code, parse.stderr).toBe(0);
      const written = modes(parsed);
      expect(written).toContain('events.csv 600');
      expect(written.filter((m) => !/ (600|700)$/.test(m))).toEqual([]);
      expect(written).toContain('. 700');
    }
  }, 120_000);
});
