/**
 * `auditsweep hosts list|check|trust` read the config file as `sweep` does (`--config FILE`, or the default
 * places): inventory, selection, known_hosts, ssh config and timeouts come from it, flags override it. Driven
 * through the built CLI against real sshd hosts; the trust command `hosts check` prints is run as printed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, ROOT, runCli } from '../helpers/cli.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { unusedPort } from '../helpers/tcp-silent.js';

const _run = promisify(execFile);
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');

describe('auditsweep hosts with a config file', () => {
  let fleet: SshdFleet;
  let dir: string;
  let configDir: string;
  let configFile: string;
  let knownHosts: string;
  let xdg: string;

  const cli = (args: string[], cwd: string) =>
    runCli(args, { cwd, env: isolatedEnv({ XDG_CONFIG_HOME: xdg }) });
  const names = (stdout: string) =>
    stdout
      .trimEnd()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(/\s+/)[0]);

  beforeAll(async () => {
    const logs = { 'audit.log': join(FIX, 'enriched', 'audit.log') };
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs },
        { name: 'new-01', logs },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-hosts-config-'));
    xdg = join(dir, 'xdg');
    configDir = join(dir, 'audit');
    mkdirSync(configDir);
    // Only web-01 is known; new-01 is a host added since.
    knownHosts = join(configDir, 'known_hosts');
    const web = fleet.host('web-01');
    writeFileSync(knownHosts, knownHostsLines([web]));
    writeFileSync(
      join(configDir, 'inventory.yaml'),
      fleetInventory(fleet, {
        fleet: {
          ...plainHosts(['web-01', 'new-01']),
          'legacy-01': { address: '127.0.0.1', port: await unusedPort() },
        },
      }),
    );
    // Relative paths are the config file's folder's; the sweep's settings, none of them a flag.
    configFile = join(configDir, 'auditsweep.yaml');
    writeFileSync(
      configFile,
      [
        'inventory: inventory.yaml',
        'knownHosts: known_hosts',
        'sshConfig: false',
        'connectTimeout: 3',
        'retries: 0',
        'selection:',
        '  exclude: [legacy-01]',
        '',
      ].join('\n'),
    );
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the hosts of the inventory and selection the config file names; flags override it', async () => {
    const listed = await cli(['hosts', 'list', '--config', configFile], dir);
    expect(listed.code, listed.stderr).toBe(0);
    expect(names(listed.stdout)).toEqual(['web-01', 'new-01']);
    expect(listed.stdout).toContain(
      `${fleet.user}@${fleet.host('web-01').address}:${fleet.host('web-01').port}`,
    );
    // --exclude replaces `selection.exclude`, as for sweep.
    const flagged = await cli(['hosts', 'list', '--config', configFile, '--exclude', 'new-01'], dir);
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(names(flagged.stdout)).toEqual(['web-01', 'legacy-01']);
  });

  it('finds ./auditsweep.yaml like sweep, and names --inventory when there is neither a file nor the flag', async () => {
    const found = await cli(['hosts', 'list'], configDir);
    expect(found.code, found.stderr).toBe(0);
    expect(names(found.stdout)).toEqual(['web-01', 'new-01']);

    const none = await cli(['hosts', 'list'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'no inventory: pass --inventory FILE or set `inventory:` in a config file (--config FILE)',
    );
    const check = await cli(['hosts', 'check'], dir);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('no inventory: pass --inventory FILE');
    const trust = await cli(['hosts', 'trust', 'new-01'], dir);
    expect(trust.code).toBe(2);
    expect(trust.stderr).toContain('no inventory: pass --inventory FILE');
  });

  it('stops at an invalid config file with its line and key (exit 2)', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `inventory: ${join(configDir, 'inventory.yaml')}\nconcurrncy: 3\n`);
    const r = await cli(['hosts', 'list', '--config', bad], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2: concurrncy: unknown key \`concurrncy\``);
  });

  it('checks with the known_hosts of the config file, and the trust command it prints makes the next check pass', async () => {
    const first = await cli(['hosts', 'check', '--log-format', 'json'], configDir);
    expect(first.code, first.stderr).toBe(1);
    const results = first.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { host: string; code: string | null; remedy: string | null });
    expect(results.map((r) => [r.host, r.code])).toEqual([
      ['web-01', null],
      ['new-01', 'HOST_KEY_UNKNOWN'],
    ]);
    const remedy = results[1]!.remedy!;
    const command = /then run: (auditsweep hosts trust .*)$/.exec(remedy)?.[1];
    expect(command).toBe(`auditsweep hosts trust new-01 --config ${configFile} --write ${knownHosts}`);

    // Recorded in auditsweep's own file, which a sweep with knownHosts set does not read: it says so.
    const elsewhere = await cli(['hosts', 'trust', 'new-01', '--yes'], configDir);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stdout).toContain(fleet.host('new-01').hostKeyFingerprint);
    expect(elsewhere.stdout).toContain(`recorded in ${join(xdg, 'auditsweep', 'known_hosts')}`);
    expect(elsewhere.stderr).toContain(`reads only ${knownHosts} (knownHosts)`);
    expect(elsewhere.stderr).toContain(`--write ${knownHosts}`);
    const still = await cli(['hosts', 'check', '--hosts', 'new-01'], configDir);
    expect(still.code).toBe(1);
    expect(still.stdout).toMatch(/^new-01 +HOST_KEY_UNKNOWN /);

    // The printed command, as a person would paste it (from another folder: it names the config file).
    const trusted = await cli([...command!.split(' ').slice(1), '--yes'], dir);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(trusted.stdout).toContain(`recorded in ${knownHosts}`);
    expect(readFileSync(knownHosts, 'utf8')).toContain(fleet.host('new-01').hostKeyPublic);

    const second = await cli(['hosts', 'check', '--config', configFile], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^web-01 +OK +1 file, \d+ bytes;/m);
    expect(second.stdout).toMatch(/^new-01 +OK +1 file, \d+ bytes;/m);
    expect(second.stderr).toContain('2 hosts: 2 OK, 0 failed');
  });
});
