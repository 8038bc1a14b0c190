/**
 * `auditsweep sweep` at a real terminal: the BUILT CLI (bin/auditsweep.js → dist/) in a tmux pane, driven by
 * keystrokes, against real OpenSSH sshd hosts. No selection flag is given, so the command asks (host picker,
 * window, mail, summary), shows the live progress, and offers to trust the one host whose key is unknown.
 *
 * HOME is a fresh folder: ~/.ssh/known_hosts there knows every host but web-02, the trusted key lands in
 * ~/.config/auditsweep/known_hosts and the remembered selection in ~/.local/state/auditsweep. The second case
 * runs the same command again with that HOME: it depends on the first.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { readCsv } from '../helpers/report-files.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { requireTmux, shellQuote, TmuxPane } from '../helpers/tmux.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auditsweep.js');
const FIX = join(ROOT, 'test', 'fixtures', 'corpus');
/** The sample logs are of 2026-11-23: a window typed around them keeps the test independent of the clock. */
const SINCE = '2026-11-22';
const UNTIL = '2026-11-24';

describe('auditsweep sweep in a terminal (tmux)', () => {
  let fleet: SshdFleet;
  let dir: string;
  let home: string;
  let work: string;
  let inventory: string;
  let pane: TmuxPane | undefined;
  let runs = 0;
  /** Set when the first case has trusted web-02's key: the second case builds on it. */
  let trusted = false;

  beforeAll(async () => {
    requireTmux();
    expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const logs = {
      'audit.log.1': join(FIX, 'enriched', 'audit.log.1'),
      'audit.log': join(FIX, 'enriched', 'audit.log'),
    };
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs },
        { name: 'web-02', logs },
        { name: 'db-01', logs },
        { name: 'db-02', logs },
      ],
    });
    // Short: the tmux socket lives under it.
    dir = mkdtempSync(join(tmpdir(), 'as-tty-'));
    home = join(dir, 'home');
    work = join(dir, 'work');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    mkdirSync(work);
    // Every host but web-02, whose key the sweep will have to ask about.
    writeFileSync(
      join(home, '.ssh', 'known_hosts'),
      knownHostsLines(fleet.hosts.filter((h) => h.name !== 'web-02')),
    );
    inventory = join(work, 'inventory.yaml');
    writeFileSync(
      inventory,
      fleetInventory(fleet, { web: plainHosts(['web-01', 'web-02']), db: plainHosts(['db-01', 'db-02']) }),
    );
  }, 60_000);

  afterEach(async () => {
    await pane?.stop();
    pane = undefined;
  });

  afterAll(async () => {
    await fleet?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The command a person would type, no selection flag; mail is configured as a dry run so that the wizard asks
   * about it. Returns the pane and the file the exit code will be written to.
   */
  async function startSweep(): Promise<{ pane: TmuxPane; exitFile: string }> {
    runs++;
    const exitFile = join(dir, `exit-${runs}`);
    const command = [
      shellQuote(process.execPath),
      shellQuote(BIN),
      'sweep -i inventory.yaml --mail-to reviewer@example.invalid --mail-dry-run',
    ].join(' ');
    pane = await TmuxPane.start({
      command: `${command}; echo $? > ${shellQuote(exitFile)}`,
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
      dir: join(dir, `tmux-${runs}`),
      columns: 120,
      rows: 40,
    });
    return { pane, exitFile };
  }

  /** Answers the window (typed), declines mail, and returns the screen at the final question. */
  async function windowAndMail(p: TmuxPane): Promise<string> {
    await p.waitFor('Review window starts');
    await p.type(SINCE);
    await p.press('Enter');
    await p.waitFor('Review window ends');
    await p.type(UNTIL);
    await p.press('Enter');
    await p.waitFor('Email the reports?');
    await p.type('n');
    await p.press('Enter');
    return p.waitFor('Connect to 2 hosts and sweep?');
  }

  const runFolders = () =>
    existsSync(join(work, 'reports'))
      ? readdirSync(join(work, 'reports')).filter((f) => !f.startsWith('.'))
      : [];

  it('asks for hosts, window and mail, confirms, shows progress, offers the unknown key and records it', async () => {
    const { pane: p, exitFile } = await startSweep();
    const web02 = fleet.host('web-02');

    await p.waitFor('0 of 4 hosts ticked', { what: 'the host picker' });
    await p.type('web');
    await p.waitFor(/❯ ◯ group: web \(2 hosts\)/, { what: 'the group line for the filter' });
    await p.press('Space');
    await p.waitFor('2 of 4 hosts ticked');
    await p.press('Enter');

    const summary = await windowAndMail(p);
    expect(summary).toContain('About to sweep:');
    expect(summary).toMatch(/hosts {4}2 of 4: web-01, web-02/);
    expect(summary).toMatch(/selection web\n/);
    expect(summary).toContain('window   2026-11-22T00:00:00Z → 2026-11-24T00:00:00Z');
    expect(summary).toContain('output   a new folder under reports/');
    expect(summary).toContain('mail     no');
    await p.press('Enter'); // default yes

    // The sweep runs, then the host refused for its unknown key is offered for trust.
    const offer = await p.waitFor(/Trust this ssh-ed25519 key for web-02 and remember it\?/, {
      timeoutMs: 120_000,
      what: 'the trust offer after the sweep',
    });
    // The live view: failures above the bar as they happen, the bar's last frame, the outcome table.
    expect(offer).toMatch(/✖ failed +web-02 HOST_KEY_UNKNOWN: .*unknown host key/);
    expect(offer).toMatch(/█+ 2\/2 hosts · .* · 1 failed · /);
    expect(offer).toMatch(/failed +HOST_KEY_UNKNOWN +1/);
    // Off a terminal the command writes one line per host instead; at a terminal it must not.
    expect(offer).not.toMatch(/^ok {6}web-01/m);
    expect(offer).toContain(
      `The host key of web-02 (${web02.address}:${web02.port}) is not in any known_hosts file.`,
    );
    // The fingerprint as ssh-keygen -lf prints it for the host's key file.
    expect(offer).toContain(`fingerprint  ${web02.hostKeyFingerprint}`);
    const reportsLine = /reports in (\S+)/.exec(offer)?.[1];
    expect(reportsLine, offer).toBeDefined();

    await p.type('y');
    await p.press('Enter');
    const code = await p.waitForExitCode(exitFile, { timeoutMs: 60_000 });
    const end = await p.capture();
    expect(end).toContain(`web-02: key recorded in ${join(home, '.config', 'auditsweep', 'known_hosts')}`);
    // One host failed (its key was unknown during the sweep): exit 1.
    expect(code, end).toBe(1);

    const recorded = readFileSync(join(home, '.config', 'auditsweep', 'known_hosts'), 'utf8');
    expect(recorded).toContain(`[${web02.address}]:${web02.port} ${web02.hostKeyPublic}`);

    const folders = runFolders();
    expect(folders, end).toHaveLength(1);
    const run = join(work, 'reports', folders[0]!);
    expect(reportsLine).toBe(run);
    const hosts = Object.fromEntries(readCsv(join(run, 'hosts.csv')).map((r) => [r.host, r]));
    expect(Object.keys(hosts).sort()).toEqual(['web-01', 'web-02']);
    expect(hosts['web-01']).toMatchObject({ outcome: 'ok' });
    expect(hosts['web-02']).toMatchObject({ outcome: 'failed', code: 'HOST_KEY_UNKNOWN' });
    const events = readCsv(join(run, 'events.csv'));
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((e) => e.host))).toEqual(new Set(['web-01']));
    // Mail was declined: no message written although --mail-dry-run was given.
    expect(existsSync(join(run, 'message.eml'))).toBe(false);
    trusted = true;
  }, 240_000);

  it('offers the last selection again, and the key trusted last time lets web-02 through', async () => {
    expect(trusted, 'the first case must have run through (it trusts the key and saves the selection)').toBe(
      true,
    );
    const before = new Set(runFolders());
    const { pane: p, exitFile } = await startSweep();

    const picker = await p.waitFor('Hosts to sweep (last selection ticked: 2)', {
      what: 'the picker with the remembered selection',
    });
    expect(picker).toContain('2 of 4 hosts ticked');
    expect(picker).toMatch(/◉ group: web \(2 hosts\)/);
    expect(picker).toMatch(/◯ group: db \(2 hosts\)/);
    await p.press('Enter');

    const summary = await windowAndMail(p);
    expect(summary).toMatch(/hosts {4}2 of 4: web-01, web-02/);
    await p.press('Enter');

    const code = await p.waitForExitCode(exitFile, { timeoutMs: 120_000, what: 'the second sweep' });
    const end = await p.capture();
    expect(code, end).toBe(0);
    expect(end).not.toContain('Trust this');
    const added = runFolders().filter((f) => !before.has(f));
    expect(added, end).toHaveLength(1);
    const rows = readCsv(join(work, 'reports', added[0]!, 'hosts.csv'));
    expect(rows.map((r) => [r.host, r.outcome])).toEqual([
      ['web-01', 'ok'],
      ['web-02', 'ok'],
    ]);
  }, 180_000);
});
