import { describe, expect, it } from 'vitest';
import { isSweepError } from '../../src/errors.js';
import { detectFormat, formatIssue, inventoryOrThrow, loadInventory } from '../../src/inventory/index.js';
import { host, LOCAL, loadTree } from './fixture.js';

describe('format detection', () => {
  it.each([
    ['hosts.ini', 'web1\n', 'ansible-ini'],
    ['hosts', '# comment\n[web]\nweb1\n', 'ansible-ini'],
    ['hosts', 'web1\nweb2 ansible_port=2222\n', 'ansible-ini'],
    ['hosts', 'all:\n  hosts:\n    web1:\n', 'ansible-yaml'],
    ['inventory.cfg', 'auditsweep: 1\nhosts:\n  a:\n', 'native'],
    ['inv.yaml', 'auditsweep: 1\n', 'native'],
    ['inv.yml', 'web:\n  hosts:\n    w1:\n', 'ansible-yaml'],
    ['inv.json', '{"all": {"hosts": {"a": null}}}', 'ansible-yaml'],
  ])('reads %s %j as %s', (file, text, format) => {
    expect(detectFormat(text, file).format).toBe(format);
  });

  it('tells a native inventory without its marker to add `auditsweep: 1`', () => {
    const detected = detectFormat('hosts:\n  a:\n    address: 10.0.0.1\n', 'inv.yaml');
    expect(detected.format).toBeUndefined();
    expect(detected.errors[0]?.message).toContain('has no `auditsweep:` key');
    expect(detected.errors[0]?.fix).toContain('add `auditsweep: 1` as the first line');
  });

  it('rejects a YAML file that is no inventory at all', () => {
    const detected = detectFormat('- just\n- a list\n', 'inv.yaml');
    expect(detected.errors[0]?.message).toContain('not an inventory');
  });

  it('reports a YAML syntax error with its line', async () => {
    const { errors } = await loadTree({ 'inv.yaml': 'auditsweep: 1\nhosts:\n  a: [\n' }, 'inv.yaml');
    expect(errors[0]?.line).toBeGreaterThanOrEqual(3);
    expect(errors[0]?.fix).toContain('correct the YAML syntax');
  });
});

describe('loadInventory', () => {
  it('merges several files, merging groups of the same name', async () => {
    const { value, errors } = await loadTree(
      {
        'a.yaml': 'auditsweep: 1\ngroups:\n  web:\n    hosts:\n      w1:\n',
        'b.ini': '[web]\nw2 ansible_port=2222\n',
      },
      ['a.yaml', 'b.ini'],
    );
    expect(errors).toEqual([]);
    expect(value?.sources.map((s) => s.format)).toEqual(['native', 'ansible-ini']);
    expect(value?.format).toBe('native');
    expect(value?.groups.get('web')?.hosts).toEqual(['w1', 'w2']);
    expect(host(value?.hosts, 'w2').port).toBe(2222);
  });

  it('rejects a host defined in two files, naming both', async () => {
    const { value, errors, dir } = await loadTree(
      {
        'a.yaml': 'auditsweep: 1\nhosts:\n  db-01:\n    address: 10.0.0.1\n',
        'b.ini': '[db]\nother\ndb-01 ansible_host=10.0.0.2\n',
      },
      ['a.yaml', 'b.ini'],
    );
    expect(value).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: `${dir}/b.ini`, line: 3, key: 'db-01' });
    expect(errors[0]?.message).toBe(`host "db-01" is also defined in ${dir}/a.yaml (line 3)`);
    expect(errors[0]?.fix).toContain('define each host in one inventory file');
  });

  it('reports an unreadable inventory with the path', async () => {
    const result = await loadInventory('/nonexistent/inventory.yaml', { sshConfigFile: false, local: LOCAL });
    expect(result.value).toBeUndefined();
    expect(result.errors[0]?.file).toBe('/nonexistent/inventory.yaml');
    expect(result.errors[0]?.message).toContain('cannot read the inventory');
  });

  it('formats issues as one line with place, key, message and fix', () => {
    expect(
      formatIssue({
        file: 'inv.yaml',
        line: 6,
        key: 'hosts.a.port',
        message: '`port` is out of range',
        fix: 'use 1-65535',
      }),
    ).toBe('inv.yaml:6: hosts.a.port: `port` is out of range (fix: use 1-65535)');
    expect(formatIssue({ file: 'inv.yaml', message: 'bad' })).toBe('inv.yaml: bad');
  });

  it('throws SweepError INVENTORY_INVALID listing every error, for callers that throw', async () => {
    const result = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  a: { port: 0 }\n  b: { transport: x }\n' },
      'inv.yaml',
    );
    let thrown: unknown;
    try {
      inventoryOrThrow(result);
    } catch (err) {
      thrown = err;
    }
    expect(isSweepError(thrown) && thrown.code).toBe('INVENTORY_INVALID');
    expect((thrown as Error).message).toMatch(
      /inv\.yaml:3: hosts\.a\.port: .*\n.*inv\.yaml:4: hosts\.b\.transport/,
    );
    const ok = await loadTree({ 'inv.yaml': 'auditsweep: 1\nhosts:\n  a:\n' }, 'inv.yaml');
    expect(inventoryOrThrow(ok).hosts.map((h) => h.name)).toEqual(['a']);
  });
});
