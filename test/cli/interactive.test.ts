/**
 * The interactive sweep, driven through the real inquirer prompts on a fake terminal: keys go in as terminal
 * bytes, the screen is read back. The inventory has 2,000 hosts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastSelectionFile, loadLastSelection, saveLastSelection } from '../../src/cli/last-selection.js';
import { askTrustUnknownHost } from '../../src/cli/prompts.js';
import { compactSelection, hostSearch, runSweepWizard } from '../../src/cli/select-interactive.js';
import { selectHosts } from '../../src/inventory/select.js';
import { bigInventory } from '../helpers/tty-inventory.js';
import { FakeTerminal, KEY } from '../helpers/tty-prompt.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const PAGE = 10;
const inventory = bigInventory(2000);

/** Lines of the picker's list on the screen (the rows with a tick box). */
const listRows = (screen: string) => screen.split('\n').filter((l) => /^[❯ ] [◉◐◯] /.test(l));

describe('runSweepWizard', () => {
  it('picks a group and a single host from 2,000 by searching, and asks window, mail and confirmation', async () => {
    const term = new FakeTerminal();
    const answers = runSweepWizard(inventory, { io: term.io, pageSize: PAGE, defaults: { now: NOW } });

    let screen = await term.waitFor('Hosts to sweep');
    expect(screen).toContain('0 of 2000 hosts ticked');
    expect(listRows(screen)).toHaveLength(PAGE);

    await term.type('prod');
    screen = await term.waitFor('filter: prod');
    expect(listRows(screen)[0]).toBe('❯ ◯ group: prod (1200 hosts)');
    expect(listRows(screen).length).toBeLessThanOrEqual(PAGE);
    await term.press(KEY.space);
    await term.waitFor('1200 of 2000 hosts ticked');

    await term.press(KEY.ctrlU);
    await term.type('cache-000');
    screen = await term.waitFor('filter: cache-000');
    expect(screen).toContain('9 lines match');
    await term.press(KEY.down, KEY.space);
    screen = await term.waitFor('1201 of 2000 hosts ticked');
    expect(listRows(screen)[1]).toMatch(/^❯ ◉ cache-0002/);
    await term.press(KEY.enter);

    await term.acceptDefaultWindow(); // 7d, now
    await term.waitFor('Email the reports?');
    await term.press('y', KEY.enter);
    await term.waitFor('Recipients');
    await term.type('sec@example.org, ops@example.org');
    await term.press(KEY.enter);
    await term.waitFor('Connect to 1201 hosts and sweep?');
    const transcript = term.transcript();
    expect(transcript).toContain('About to sweep:');
    expect(transcript).toContain('hosts    1201 of 2000: web-0001, web-0002');
    expect(transcript).toContain('selection prod, cache-0002');
    expect(transcript).toContain('window   2026-11-16T10:00:00Z → now');
    expect(transcript).toContain('mail     to sec@example.org, ops@example.org');
    await term.press(KEY.enter);

    const result = await answers;
    expect(result).toEqual({
      selection: { include: ['prod', 'cache-0002'], exclude: [] },
      hosts: expect.any(Array),
      since: '7d',
      mailTo: ['sec@example.org', 'ops@example.org'],
      confirmed: true,
    });
    expect(result.hosts).toHaveLength(1201);
    expect(selectHosts(inventory, result.selection).value?.map((h) => h.name)).toEqual(result.hosts);
  });

  it('offers the last selection ticked, and a "no" at the summary comes back unconfirmed', async () => {
    const term = new FakeTerminal();
    const answers = runSweepWizard(inventory, {
      io: term.io,
      pageSize: PAGE,
      lastSelection: { include: ['db', 'gone-group'] },
      defaults: { now: NOW, since: '24h', mailTo: ['sec@example.org'], outDir: '/srv/reports/weekly' },
    });
    const screen = await term.waitFor('Hosts to sweep');
    expect(screen).toContain('last selection ticked: 400');
    expect(screen).toContain('400 of 2000 hosts ticked');
    expect(screen).toContain('◉ group: db (400 hosts)');
    expect(screen).toContain('◐ group: prod (1200 hosts, 400 ticked)');
    await term.press(KEY.enter);
    await term.acceptDefaultWindow();
    await term.waitFor('Email the reports?');
    await term.press(KEY.enter); // default yes: recipients were configured
    await term.waitFor('Recipients');
    await term.press(KEY.enter); // keep the configured ones
    await term.waitFor('Connect to 400 hosts');
    expect(term.transcript()).toContain('output   /srv/reports/weekly');
    await term.press('n', KEY.enter);
    const result = await answers;
    expect(result.selection).toEqual({ include: ['db'], exclude: [] });
    expect(result.since).toBe('24h');
    expect(result.mailTo).toEqual(['sec@example.org']);
    expect(result.confirmed).toBe(false);
  });

  it('ticks every match of a glob or a tag with ctrl-a, and refuses to go on with nothing ticked', async () => {
    const term = new FakeTerminal();
    const answers = runSweepWizard(inventory, { io: term.io, pageSize: PAGE, defaults: { now: NOW } });
    await term.waitFor('Hosts to sweep');
    await term.press(KEY.enter);
    await term.waitFor('Tick at least one host or group');

    await term.type('web-001*');
    await term.waitFor('10 lines match');
    await term.press(KEY.ctrlA);
    await term.waitFor('10 of 2000 hosts ticked');
    await term.press(KEY.ctrlU);
    await term.type('tag=pci');
    const screen = await term.waitFor('filter: tag=pci');
    expect(listRows(screen)[0]).toContain('tag: pci (200 hosts, 1 ticked)');
    await term.press(KEY.space);
    await term.waitFor('209 of 2000 hosts ticked');
    await term.press(KEY.enter);

    await term.waitFor('Review window starts');
    await term.type('yesterday');
    await term.press(KEY.enter);
    await term.waitFor((s) => /yesterday|--since/.test(s) && s.includes('Review window starts'));
    expect(term.screen()).toMatch(/since/i);
    for (let i = 0; i < 'yesterday'.length; i++) await term.press(KEY.backspace);
    await term.type('2026-11-01');
    await term.press(KEY.enter);
    await term.waitFor('Review window ends');
    await term.press(KEY.enter);
    await term.waitFor('Email the reports?');
    await term.press(KEY.enter); // default no
    await term.waitFor('Connect to 209 hosts');
    await term.press(KEY.enter);
    const result = await answers;
    expect(result.hosts).toHaveLength(209);
    expect(result.since).toBe('2026-11-01');
    expect(result.mailTo).toEqual([]);
    expect(selectHosts(inventory, result.selection).value).toHaveLength(209);
  });

  it('keeps the screen within one page while paging through 2,000 hosts', async () => {
    const term = new FakeTerminal();
    const answers = runSweepWizard(inventory, { io: term.io, pageSize: PAGE, defaults: { now: NOW } });
    const cancelled = expect(answers).rejects.toMatchObject({ code: 'USAGE' });
    await term.waitFor('Hosts to sweep');
    for (let i = 0; i < 30; i++) await term.press(KEY.pageDown);
    const screen = await term.waitFor((s) => s.includes('❯ ◯ web-'));
    expect(listRows(screen)).toHaveLength(PAGE);
    // Each frame redraws the whole prompt; none grows past the page and its few fixed lines.
    const tallest = Math.max(...term.frames.map((f) => f.split('\n').length));
    expect(tallest).toBeLessThanOrEqual(PAGE + 6);
    await term.press(KEY.ctrlC);
    await cancelled;
  });
});

describe('runSweepWizard within --exclude and --tag', () => {
  // The generated inventory tags every tenth host `pci`: 200 hosts, 40 of them in db.
  const within = { exclude: ['db'], tags: ['pci'] };
  const offered = inventory.hosts.filter((h) => h.tags.includes('pci') && !h.groups.includes('db'));

  it('offers only the hosts they leave, says how many are not offered, and never selects the others', async () => {
    expect(offered).toHaveLength(160);
    const term = new FakeTerminal();
    const answers = runSweepWizard(inventory, {
      io: term.io,
      pageSize: PAGE,
      within,
      // db-0010 was swept last time: excluded now, so not ticked; web-0010 is kept.
      lastSelection: { include: ['db-0010', 'web-0010', 'web-0001'] },
      defaults: { now: NOW },
    });
    let screen = await term.waitFor('Hosts to sweep');
    expect(screen).toContain('Hosts to sweep (last selection ticked: 1)');
    expect(screen).toContain('1840 hosts not offered: excluded db; without tag pci');
    expect(screen).toContain('1 of 160 hosts ticked');
    // No db host and no db group to pick, and the tag and groups count only what is offered.
    await term.type('db');
    screen = await term.waitFor('filter: db');
    expect(screen).toContain('Nothing matches this filter.');
    await term.press(KEY.ctrlU);
    await term.type('web-000');
    screen = await term.waitFor('filter: web-000');
    expect(listRows(screen)).toEqual([]);
    await term.press(KEY.ctrlU);
    await term.type('tag=');
    screen = await term.waitFor('filter: tag=');
    expect(listRows(screen)[0]).toContain('tag: pci (160 hosts, 1 ticked)');
    await term.press(KEY.ctrlU);
    await term.type('web');
    screen = await term.waitFor('filter: web');
    expect(listRows(screen)[0]).toContain('group: web (80 hosts, 1 ticked)');
    // Tick every match, db hosts included if there were any.
    await term.press(KEY.ctrlU, KEY.ctrlA);
    await term.waitFor('160 of 160 hosts ticked');
    await term.press(KEY.enter);
    await term.acceptDefaultWindow();
    await term.waitFor('Email the reports?');
    await term.press(KEY.enter);
    await term.waitFor('Connect to 160 hosts and sweep?');
    expect(term.transcript()).toContain(
      'hosts    160 of 160 offered (1840 not: excluded db; without tag pci)',
    );
    await term.press(KEY.enter);

    const result = await answers;
    expect(result.hosts).toEqual(offered.map((h) => h.name));
    // The selection alone means exactly the ticked hosts, and so it does with --exclude and --tag on top (as the
    // sweep command runs it).
    expect(selectHosts(inventory, result.selection).value?.map((h) => h.name)).toEqual(result.hosts);
    const swept = selectHosts(inventory, {
      include: result.selection.include ?? [],
      exclude: [...(result.selection.exclude ?? []), ...within.exclude],
      tags: within.tags,
    });
    expect(swept.value?.map((h) => h.name)).toEqual(result.hosts);
  });

  it('refuses an --exclude or --tag that names nothing, and one that leaves no host, before asking', async () => {
    const term = new FakeTerminal();
    await expect(runSweepWizard(inventory, { io: term.io, within: { tags: ['pcj'] } })).rejects.toMatchObject(
      {
        code: 'USAGE',
        message: expect.stringContaining('no host has the tag "pcj"'),
      },
    );
    await expect(
      runSweepWizard(inventory, { io: term.io, within: { exclude: ['prod', 'cache', 'batch'] } }),
    ).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('no host is left to offer') });
    expect(term.frames).toEqual([]);
  });
});

describe('askTrustUnknownHost', () => {
  it('shows the fingerprint and how to check it, and answers no by default', async () => {
    const term = new FakeTerminal();
    const answer = askTrustUnknownHost(
      { name: 'web-0001', address: '10.0.0.1', port: 2222 },
      'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU',
      'ssh-ed25519',
      term.io,
    );
    await term.waitFor('Trust this ssh-ed25519 key for web-0001');
    const t = term.transcript();
    expect(t).toContain('The host key of web-0001 (10.0.0.1:2222) is not in any known_hosts file.');
    expect(t).toContain('fingerprint  SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU');
    expect(t).toContain('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(term.screen()).toContain('(y/N)');
    await term.press(KEY.enter);
    expect(await answer).toBe(false);
  });

  it('trusts the key when answered yes', async () => {
    const term = new FakeTerminal();
    const answer = askTrustUnknownHost({ name: 'db-0001' }, 'SHA256:abc', 'rsa-sha2-512', term.io);
    await term.waitFor('Trust this');
    expect(term.transcript()).toContain('ssh_host_rsa_key.pub');
    await term.press('y', KEY.enter);
    expect(await answer).toBe(true);
  });
});

describe('compactSelection', () => {
  const names = (pred: (n: string) => boolean) => inventory.hosts.map((h) => h.name).filter(pred);

  it('says all, whole groups, or all-but-a-few, and always means exactly the ticked hosts', () => {
    const cases = [
      names(() => true),
      names((n) => n.startsWith('web-') || n.startsWith('db-')),
      names((n) => n !== 'web-0003' && n !== 'batch-0100'),
      names((n) => n.startsWith('cache-') || n === 'web-0009'),
    ];
    expect(compactSelection(inventory, cases[0]!)).toEqual({ include: ['all'], exclude: [] });
    expect(compactSelection(inventory, cases[1]!)).toEqual({ include: ['prod'], exclude: [] });
    expect(compactSelection(inventory, cases[2]!)).toEqual({
      include: ['all'],
      exclude: ['web-0003', 'batch-0100'],
    });
    expect(compactSelection(inventory, cases[3]!)).toEqual({ include: ['cache', 'web-0009'], exclude: [] });
    for (const ticked of cases) {
      const sel = compactSelection(inventory, ticked);
      expect(selectHosts(inventory, sel).value?.map((h) => h.name)).toEqual(ticked);
    }
  });
});

describe('hostSearch', () => {
  it('matches names, groups and tags by substring, globs, and tag=NAME', () => {
    const search = hostSearch(inventory);
    expect(search('')).toHaveLength(6 + 1 + 2000); // all, prod, web, db, cache, batch; tag pci; hosts
    expect(
      search('db')
        .map((c) => c.label)
        .slice(0, 2),
    ).toEqual(['group: db', 'db-0001']);
    expect(search('db')).toHaveLength(1 + 400);
    expect(search('DB-000[1-3]').map((c) => c.label)).toEqual(['db-0001', 'db-0002', 'db-0003']);
    expect(search('tag=pci')[0]?.label).toBe('tag: pci');
    expect(search('tag=pci')).toHaveLength(1 + 200);
  });

  it('answers a keystroke over 2,000 hosts quickly', () => {
    const search = hostSearch(inventory);
    const t0 = performance.now();
    for (const term of ['w', 'we', 'web', 'web-', 'web-0', 'web-01', 'web-01*']) search(term);
    expect((performance.now() - t0) / 7).toBeLessThan(50);
  });
});

describe('last selection', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auditsweep-last-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lives under $XDG_STATE_HOME/auditsweep, else ~/.local/state', () => {
    expect(lastSelectionFile({ XDG_STATE_HOME: '/x/state' })).toBe('/x/state/auditsweep/last-selection.json');
    expect(lastSelectionFile({ XDG_STATE_HOME: 'relative' })).toMatch(
      /\.local\/state\/auditsweep\/last-selection\.json$/,
    );
  });

  it('is remembered per inventory file, and a damaged file is no memory', async () => {
    const file = lastSelectionFile({ XDG_STATE_HOME: dir });
    expect(await loadLastSelection('inv/a.yaml', file)).toBeUndefined();
    await saveLastSelection('inv/a.yaml', { include: ['prod'], exclude: ['web-0003'] }, file);
    await saveLastSelection(['inv/b.ini', 'inv/c.yaml'], { include: ['all'] }, file);
    expect(await loadLastSelection('inv/a.yaml', file)).toEqual({ include: ['prod'], exclude: ['web-0003'] });
    expect(await loadLastSelection(join(process.cwd(), 'inv/a.yaml'), file)).toEqual({
      include: ['prod'],
      exclude: ['web-0003'],
    });
    expect(await loadLastSelection(['inv/b.ini', 'inv/c.yaml'], file)).toEqual({
      include: ['all'],
      exclude: [],
    });
    expect(await loadLastSelection('inv/b.ini', file)).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8')).version).toBe(1);
    await writeFile(file, '{ not json');
    expect(await loadLastSelection('inv/a.yaml', file)).toBeUndefined();
  });
});
