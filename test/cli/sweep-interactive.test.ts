/**
 * The interactive sweep as `auditsweep sweep` wires it at a terminal, through the library pieces: the inventory
 * loader, the wizard on a fake terminal, the remembered selection, then runSweep against real sshd hosts with
 * the live progress view drawn on a fake terminal.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLastSelection, saveLastSelection } from '../../src/cli/last-selection.js';
import { createProgress, type SweepProgress } from '../../src/cli/progress.js';
import { runSweepWizard } from '../../src/cli/select-interactive.js';
import { loadInventory } from '../../src/inventory/index.js';
import { runSweep } from '../../src/sweep.js';
import { fleetInventory, knownHostsLines, plainHosts } from '../helpers/fleet-inventory.js';
import { type SshdFleet, startSshdFleet } from '../helpers/sshd-fleet.js';
import { FakeTerminal, KEY } from '../helpers/tty-prompt.js';
import { FakeStream } from '../helpers/tty-stream.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'corpus');
const NOW = Date.parse('2026-11-23T10:00:00Z');

describe('interactive sweep', () => {
  let fleet: SshdFleet;
  let dir: string;
  let inventory: string;
  let knownHosts: string;

  beforeAll(async () => {
    const logs = { 'audit.log': join(FIX, 'enriched', 'audit.log') };
    fleet = await startSshdFleet({
      hosts: [
        { name: 'web-01', logs },
        { name: 'web-02', logs },
        { name: 'db-01', logs },
      ],
    });
    dir = mkdtempSync(join(tmpdir(), 'auditsweep-interactive-'));
    writeFileSync(join(dir, 'no-ssh-config'), '');
    knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, knownHostsLines(fleet.hosts));
    inventory = join(dir, 'inventory.yaml');
    writeFileSync(
      inventory,
      fleetInventory(fleet, { web: plainHosts(['web-01', 'web-02']), db: plainHosts(['db-01']) }),
    );
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('searches, ticks a group, accepts the window, declines mail, confirms, and sweeps exactly those hosts', async () => {
    const loaded = await loadInventory([inventory], { sshConfigFile: join(dir, 'no-ssh-config') });
    expect(loaded.errors).toEqual([]);
    const memory = join(dir, 'last-selection.json');
    const term = new FakeTerminal();
    const answering = runSweepWizard(loaded.value!, {
      io: term.io,
      lastSelection: await loadLastSelection([inventory], memory),
      defaults: { since: '2000-01-01', now: NOW },
      mailAvailable: true,
    });
    await term.waitFor('Hosts to sweep');
    await term.type('web');
    expect(await term.waitFor('filter: web')).toContain('❯ ◯ group: web (2 hosts)');
    await term.press(KEY.space);
    await term.waitFor('2 of 3 hosts ticked');
    await term.press(KEY.enter);
    await term.acceptDefaultWindow();
    await term.waitFor('Email the reports?');
    await term.press(KEY.enter); // default no: nothing configured to offer
    await term.waitFor('Connect to 2 hosts and sweep?');
    await term.press(KEY.enter);
    const answers = await answering;
    expect(answers).toMatchObject({ confirmed: true, hosts: ['web-01', 'web-02'], mailTo: [] });
    expect(term.transcript()).toContain('mail     no');
    await saveLastSelection([inventory], answers.selection, memory);
    expect(await loadLastSelection([inventory], memory)).toEqual({ include: ['web'], exclude: [] });

    // The run, with the live view on a fake terminal fed by the same hooks the command uses.
    const screen = new FakeStream({ tty: true, columns: 100 });
    let progress: SweepProgress | undefined;
    const moves: Array<[string, number]> = [];
    const out = join(dir, 'run-interactive');
    const summary = await runSweep({
      inventoryFiles: [inventory],
      sshConfigFile: join(dir, 'no-ssh-config'),
      selection: answers.selection,
      outDir: out,
      window: { since: Date.parse(answers.since) },
      knownHostsFiles: [knownHosts],
      alerts: [],
      onHostsSelected: (hosts) => {
        progress = createProgress({ total: hosts.length, stream: screen, env: {}, redrawMs: 0 });
      },
      onHostStart: (h) => progress?.hostStarted(h.name),
      onHostProgress: (h, bytes) => {
        moves.push([h.name, bytes]);
        progress?.hostProgress(h.name, bytes, 0);
      },
      onHostDone: (o) => progress?.hostDone(o),
    });
    progress?.finish({ outDir: summary.outDir });

    const rows = Papa.parse<Record<string, string>>(readFileSync(join(out, 'hosts.csv'), 'utf8'), {
      header: true,
      skipEmptyLines: true,
    }).data;
    expect(rows.map((r) => r.host).sort()).toEqual(['web-01', 'web-02']);
    expect(summary.outcomes.map((o) => o.status)).toEqual(['ok', 'ok']);
    // The bar moved while the hosts were read, not only when they ended.
    expect(new Set(moves.map(([h]) => h))).toEqual(new Set(['web-01', 'web-02']));
    expect(moves.every(([, b]) => b > 0)).toBe(true);
    const text = screen.text();
    expect(text).toContain('2/2 hosts');
    expect(text).toContain(`reports in ${out}`);
  }, 60_000);

  it('skips the mail question and says why when no SMTP server is configured', async () => {
    const loaded = await loadInventory([inventory], { sshConfigFile: join(dir, 'no-ssh-config') });
    const term = new FakeTerminal();
    const answering = runSweepWizard(loaded.value!, {
      io: term.io,
      defaults: { now: NOW },
      mailAvailable: false,
    });
    await term.waitFor('Hosts to sweep');
    await term.type('db-01');
    await term.waitFor('filter: db-01');
    await term.press(KEY.space, KEY.enter);
    await term.acceptDefaultWindow();
    await term.waitFor('Connect to 1 host and sweep?');
    await term.press(KEY.enter);
    const answers = await answering;
    expect(answers.mailTo).toEqual([]);
    expect(term.transcript()).toContain('Mail: not configured');
    expect(term.transcript()).not.toContain('Email the reports?');
  }, 20_000);
});
