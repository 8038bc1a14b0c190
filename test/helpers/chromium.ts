/**
 * Headless Chromium for tests that render an HTML page: the DOM after parsing (`--dump-dom`) and a screenshot.
 * Needs Debian's `chromium` package (/usr/bin/chromium); a missing browser fails the test with the line to run,
 * it never skips it. Each run gets a fresh profile in a temporary folder, removed afterwards, and every host name
 * resolves to nothing, so a page that tried to load something could not reach the network.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';

/** The browser's path; throws naming the Debian package when it is not installed. */
export function chromiumPath(): string {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(
      `${CHROMIUM} not found: the HTML report tests need Debian's chromium package. Run: apt-get install -y chromium`,
    );
  }
  return CHROMIUM;
}

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--hide-scrollbars',
  '--host-resolver-rules=MAP * ~NOTFOUND',
];

async function run(extra: readonly string[], file: string, timeoutMs: number): Promise<string> {
  const browser = chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'auditsweep-chromium-'));
  try {
    return await new Promise<string>((done, fail) => {
      execFile(
        browser,
        [...FLAGS, `--user-data-dir=${profile}`, ...extra, pathToFileURL(resolve(file)).href],
        { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err) fail(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`, { cause: err }));
          else done(stdout);
        },
      );
    });
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The serialized DOM of `file` after Chromium parsed it. */
export function dumpDom(file: string, timeoutMs = 60_000): Promise<string> {
  return run(['--dump-dom'], file, timeoutMs);
}

/** Writes a PNG screenshot of `file` to `png` (1280 × `height` CSS pixels). */
export async function screenshot(
  file: string,
  png: string,
  height = 2000,
  timeoutMs = 60_000,
): Promise<void> {
  await run([`--screenshot=${resolve(png)}`, `--window-size=1280,${height}`], file, timeoutMs);
}
