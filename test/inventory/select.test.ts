import { beforeAll, describe, expect, it } from 'vitest';
import { type Inventory, loadInventory, selectHosts, splitPattern } from '../../src/inventory/index.js';
import { globToRegExp } from '../../src/inventory/select.js';
import { LOCAL } from './fixture.js';

let inventory: Inventory;

beforeAll(async () => {
  const result = await loadInventory('inventory/example.yaml', { sshConfigFile: false, local: LOCAL });
  inventory = result.value!;
});

function names(selection: Parameters<typeof selectHosts>[1]): string[] {
  const result = selectHosts(inventory, selection);
  expect(result.errors).toEqual([]);
  return result.value!.map((h) => h.name);
}

describe('selectHosts', () => {
  it('selects every host, in inventory order, when nothing is asked', () => {
    expect(names({})).toEqual(inventory.hosts.map((h) => h.name));
    expect(names({ include: ['all'] })).toHaveLength(9);
  });

  it('selects a group', () => {
    expect(names({ include: ['db'] })).toEqual(['db-01', 'db-02']);
  });

  it('selects a group with its nested children', () => {
    expect(names({ include: ['prod'] })).toEqual(['web-01', 'web-02', 'web-03', 'web-04', 'db-01', 'db-02']);
  });

  it('selects hosts and groups by name together, without duplicates', () => {
    expect(names({ include: ['bastion,db', 'db-01'] })).toEqual(['db-01', 'db-02', 'bastion']);
  });

  it('selects by glob over host and group names', () => {
    expect(names({ include: ['web-*'] })).toEqual(['web-01', 'web-02', 'web-03', 'web-04']);
    expect(names({ include: ['web-0[2-3]'] })).toEqual(['web-02', 'web-03']);
    expect(names({ include: ['stag*'] })).toEqual(['stage-web-01', 'build-01']);
  });

  it('selects by tag, in a pattern or as a required tag', () => {
    expect(names({ include: ['tag=pci'] })).toEqual(['web-01', 'web-02', 'web-03', 'web-04']);
    expect(names({ tags: ['prod', 'linux'], include: ['db,staging'] })).toEqual(['db-01', 'db-02']);
  });

  it('excludes with ! in a pattern or with a separate exclude list', () => {
    expect(names({ include: ['web:!web-02'] })).toEqual(['web-01', 'web-03', 'web-04']);
    expect(names({ include: ['prod'], exclude: ['web', '!db-02'] })).toEqual(['db-01']);
    expect(names({ exclude: ['prod'] })).toEqual(['stage-web-01', 'bastion', 'build-01']);
  });

  it('intersects with &, as in --limit "web:&prod"', () => {
    expect(names({ include: ['tag=linux:&staging'] })).toEqual(['stage-web-01', 'build-01']);
    expect(names({ include: ['prod:&web-0*:!web-04'] })).toEqual(['web-01', 'web-02', 'web-03']);
  });

  it('selects by regular expression with ~', () => {
    expect(names({ include: ['~^db-0[2-9]$'] })).toEqual(['db-02']);
  });

  it('selects the implicit ungrouped group', () => {
    expect(names({ include: ['ungrouped'] })).toEqual(['bastion']);
  });

  it('rejects an unknown name with a suggestion instead of selecting nothing', () => {
    const result = selectHosts(inventory, { include: ['wbe'] });
    expect(result.value).toBeUndefined();
    expect(result.errors).toEqual([
      {
        pattern: 'wbe',
        message: '"wbe" is neither a group nor a host in the inventory',
        fix: 'did you mean "web"?',
      },
    ]);
  });

  it('rejects an unknown host in an exclusion too (a typo there would sweep the host)', () => {
    const result = selectHosts(inventory, { include: ['web'], exclude: ['web-011'] });
    expect(result.value).toBeUndefined();
    expect(result.errors[0]?.message).toContain('"web-011" is neither a group nor a host');
    expect(result.errors[0]?.fix).toBe('did you mean "web-01"?');
  });

  it('rejects an unknown tag, listing near ones', () => {
    const result = selectHosts(inventory, { tags: ['pcii'] });
    expect(result.errors[0]).toEqual({
      pattern: 'pcii',
      message: 'no host has the tag "pcii"',
      fix: 'did you mean "pci"?',
    });
    const inPattern = selectHosts(inventory, { include: ['tag=nope'] });
    expect(inPattern.errors[0]?.fix).toContain('known tags: edge, linux, pci, prod, staging');
  });

  it('rejects a glob that matches nothing when selecting, but only warns when excluding', () => {
    const include = selectHosts(inventory, { include: ['mail-*'] });
    expect(include.errors[0]?.message).toBe('"mail-*" matches no host or group');
    const exclude = selectHosts(inventory, { include: ['db'], exclude: ['mail-*'] });
    expect(exclude.errors).toEqual([]);
    expect(exclude.value?.map((h) => h.name)).toEqual(['db-01', 'db-02']);
    expect(exclude.warnings[0]?.message).toBe('"mail-*" matches no host or group');
  });

  it('warns, without failing, when valid terms leave no host', () => {
    const result = selectHosts(inventory, { include: ['db:&staging'] });
    expect(result.errors).toEqual([]);
    expect(result.value).toEqual([]);
    expect(result.warnings[0]?.message).toBe('the selection matches no host');
  });

  it('rejects an operator without a name and a broken regular expression', () => {
    expect(selectHosts(inventory, { include: ['web:&'] }).errors[0]?.message).toContain(
      'has an operator but no name',
    );
    expect(selectHosts(inventory, { include: ['~(('] }).errors[0]?.message).toContain(
      'is not a regular expression',
    );
  });

  it('does not change the inventory it is given', () => {
    const before = JSON.stringify(inventory.hosts);
    selectHosts(inventory, { include: ['web:!web-01'], tags: ['pci'] });
    expect(JSON.stringify(inventory.hosts)).toBe(before);
  });
});

describe('pattern syntax', () => {
  it('splits on , and : but not inside a range', () => {
    expect(splitPattern('web:&prod,!db-[01:03] , x')).toEqual(['web', '&prod', '!db-[01:03]', 'x']);
  });

  it('turns globs into anchored expressions with classes and negation', () => {
    expect(globToRegExp('db-0[1-3]').test('db-02')).toBe(true);
    expect(globToRegExp('db-0[1-3]').test('db-04')).toBe(false);
    expect(globToRegExp('db-0[!1]').test('db-01')).toBe(false);
    expect(globToRegExp('a.b?').test('a.bc')).toBe(true);
    expect(globToRegExp('a.b?').test('axbc')).toBe(false);
  });
});

describe('did you mean', () => {
  it('counts a swap of two letters as one edit and ignores case, "_" and "-"', async () => {
    const { closest, editDistance } = await import('../../src/inventory/did-you-mean.js');
    expect(editDistance('wbe', 'web')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closest('identity_file', ['identityFile', 'port', 'user'])).toEqual(['identityFile']);
    expect(closest('zzz', ['identityFile', 'port'])).toEqual([]);
  });
});
