/**
 * `auditsweep parse` on worker threads (large inputs; forced here with AUDITSWEEP_PARSE_WORKERS) writes the same
 * files, byte for byte, as on the main thread alone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auditsweep.js');
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
const logs = (variant: string) =>
  ['audit.log.2', 'audit.log.1', 'audit.log'].map((f) => join(FIX, variant, f));

async function parse(
  workers: number,
  args: string[],
): Promise<{ events: string; issues: string; stderr: string }> {
  const out = mkdtempSync(join(tmpdir(), 'auditsweep-workers-'));
  const { stderr } = await run(process.execPath, [BIN, 'parse', ...args, '--events-only', '--out', out], {
    env: { ...process.env, AUDITSWEEP_PARSE_WORKERS: String(workers) },
  });
  let issues = '';
  try {
    issues = readFileSync(join(out, 'parse-issues.csv'), 'utf8');
  } catch {
    // no bad lines
  }
  return {
    events: readFileSync(join(out, 'events.csv'), 'utf8'),
    issues,
    stderr: stderr.replaceAll(out, 'OUT'),
  };
}

describe('auditsweep parse on worker threads', () => {
  it('writes the same events.csv as the main thread alone, for ENRICHED and RAW logs', async () => {
    for (const args of [
      [...logs('node-user'), '--host', 'web-01', '--bom'],
      [
        ...logs('raw'),
        '--passwd',
        join(FIX, 'accounts', 'passwd'),
        '--group',
        join(FIX, 'accounts', 'group'),
      ],
    ]) {
      const [alone, parallel, two] = await Promise.all([parse(0, args), parse(1, args), parse(2, args)]);
      expect(alone.events.length).toBeGreaterThan(100_000);
      expect(parallel.events).toBe(alone.events);
      expect(two.events).toBe(alone.events);
      expect(parallel.stderr).toBe(alone.stderr);
    }
  });

  it('writes the same files for a log with bad lines, cut values and an AVC preamble', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auditsweep-workers-'));
    const good = readFileSync(logs('enriched')[1]!, 'utf8').split('\n');
    const bad = [
      ...good.slice(0, 500),
      'garbage without a header',
      'type=AVC msg=audit(1795396300.000:1): avc:  denied  { read write } for  pid=1 comm="x" tcontext=b tclass=file',
      'type=SYSCALL msg=audit(1795396300.001:2): pid=1 comm="cut',
      ...good.slice(500),
    ].join('\r\n');
    const file = join(dir, 'audit.log');
    writeFileSync(file, bad);
    const [alone, parallel] = await Promise.all([parse(0, [file]), parse(1, [file])]);
    expect(alone.issues).toMatch(/missing-header/);
    expect(parallel.events).toBe(alone.events);
    expect(parallel.issues).toBe(alone.issues);
    expect(parallel.stderr).toBe(alone.stderr);
  });
});
