import { describe, expect, it } from 'vitest';
import { formatIssue, type InventoryHost, loadInventory } from '../../src/inventory/index.js';
import { host, LOCAL, loadTree } from './fixture.js';

const options = { sshConfigFile: false as const, local: LOCAL };

function connection(h: InventoryHost) {
  return {
    address: h.address,
    port: h.port,
    user: h.user,
    identityFiles: h.identityFiles,
    transport: h.transport,
    logPath: h.logPath,
    groups: h.groups,
    tags: h.tags,
  };
}

describe('Ansible INI: inventory/ansible-hosts.ini', () => {
  it('expands ranges, applies [web:vars] and [all:vars], nests [prod:children] and maps become and ProxyJump', async () => {
    const result = await loadInventory('inventory/ansible-hosts.ini', options);
    expect(result.errors.map(formatIssue)).toEqual([]);
    const inv = result.value!;
    expect(inv.format).toBe('ansible-ini');
    expect(inv.hosts.map((h) => h.name)).toEqual([
      'mail.example.com',
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'web04.example.com',
      'web05.example.com',
      'db-a.example.com',
      'db-b.example.com',
      'db-c.example.com',
      'db-z.example.com',
    ]);
    // [web:vars] (depth 2) beats [all:vars] (depth 0); the prod key and ProxyJump come from [prod:vars].
    expect(connection(host(inv.hosts, 'web01.example.com'))).toEqual({
      address: 'web01.example.com',
      port: 22,
      user: 'deploy',
      identityFiles: ['/home/tester/.ssh/prod_ed25519'],
      transport: 'sftp',
      logPath: '/var/log/audit/audit.log',
      groups: ['web', 'prod'],
      tags: ['frontend', 'pci'],
    });
    expect(host(inv.hosts, 'web01.example.com').jump).toEqual([
      {
        name: 'ops@bastion.example.com:2222',
        address: 'bastion.example.com',
        port: 2222,
        user: 'ops',
        identityFiles: ['/home/tester/.ssh/prod_ed25519'],
      },
    ]);
    expect(host(inv.hosts, 'web05.example.com')).toMatchObject({
      address: '10.0.1.15',
      port: 2222,
      from: { address: 'host', port: 'host' },
    });
    // a host variable beats every group variable
    expect(host(inv.hosts, 'db-b.example.com').user).toBe('dbadmin');
    expect(host(inv.hosts, 'db-z.example.com')).toMatchObject({
      user: 'auditor',
      transport: 'sudo',
      logPath: '/srv/audit/audit.log',
    });
    expect(host(inv.hosts, 'mail.example.com')).toMatchObject({
      user: 'auditor',
      groups: ['ungrouped'],
      jump: [],
      identityFiles: [],
    });

    expect(inv.groups.get('prod')).toEqual({ children: ['web', 'db'], hosts: [] });
    expect(inv.groups.get('ungrouped')?.hosts).toEqual(['mail.example.com']);
    expect(inv.groups.get('all')?.children).toEqual(expect.arrayContaining(['prod', 'ungrouped']));
  });
});

describe('Ansible YAML: inventory/ansible-hosts.yaml', () => {
  it('reads the same fleet as the INI example, with a ProxyCommand turned into a jump', async () => {
    const [yaml, ini] = await Promise.all([
      loadInventory('inventory/ansible-hosts.yaml', options),
      loadInventory('inventory/ansible-hosts.ini', options),
    ]);
    expect(yaml.errors.map(formatIssue)).toEqual([]);
    expect(yaml.value?.format).toBe('ansible-yaml');
    expect(yaml.value?.hosts.map(connection)).toEqual(ini.value?.hosts.map(connection));
    expect(host(yaml.value?.hosts, 'db-a.example.com').jump).toEqual([
      {
        name: 'ops@bastion.example.com',
        address: 'bastion.example.com',
        port: 22,
        user: 'ops',
        identityFiles: ['/home/tester/.ssh/prod_ed25519'],
      },
    ]);
    expect(yaml.value?.groups.get('prod')).toEqual({ children: ['web', 'db'], hosts: [] });
  });
});

describe('Ansible INI details', () => {
  it('reads host:port, steps, quoted values, inline comments and hosts before any section', async () => {
    const ini = [
      'lonely.example.com:2200 # no group',
      '[app]',
      "app[1:5:2] ansible_user='app user' # odd ones only",
      '[app:vars]',
      "ansible_ssh_common_args='-o StrictHostKeyChecking=no -J hop1,ops@hop2:2022'",
    ].join('\n');
    const { value, errors } = await loadTree({ hosts: ini }, 'hosts');
    expect(errors).toEqual([]);
    expect(value?.format).toBe('ansible-ini');
    expect(host(value?.hosts, 'lonely.example.com')).toMatchObject({ port: 2200, groups: ['ungrouped'] });
    expect(value?.hosts.map((h) => h.name)).toEqual(['lonely.example.com', 'app1', 'app3', 'app5']);
    expect(host(value?.hosts, 'app3').user).toBe('app user');
    expect(host(value?.hosts, 'app3').jump.map((j) => `${j.user ?? ''}@${j.address}:${j.port}`)).toEqual([
      '@hop1:22',
      'ops@hop2:2022',
    ]);
  });

  it('orders group variables like Ansible: deeper groups win, then ansible_group_priority, then name', async () => {
    const ini = [
      '[a]',
      'h1',
      '[b]',
      'h1',
      '[parent:children]',
      'a',
      '[a:vars]',
      'ansible_port=1001',
      '[b:vars]',
      'ansible_port=1002',
      '[parent:vars]',
      'ansible_port=1000',
      'ansible_user=from-parent',
    ].join('\n');
    const same = await loadTree({ 'inv.ini': ini }, 'inv.ini');
    // a and b both have depth 1 or more: a is under parent (depth 2), so a wins over b (depth 1).
    expect(host(same.value?.hosts, 'h1')).toMatchObject({
      port: 1001,
      user: 'from-parent',
      from: { port: 'group:a' },
    });

    const prioritized = await loadTree(
      { 'inv.ini': `${ini}\n[b:vars]\nansible_group_priority=10\n` },
      'inv.ini',
    );
    expect(host(prioritized.value?.hosts, 'h1').port).toBe(1002);

    const byName = await loadTree(
      { 'inv.ini': '[a]\nh\n[b]\nh\n[a:vars]\nansible_user=A\n[b:vars]\nansible_user=B\n' },
      'inv.ini',
    );
    expect(host(byName.value?.hosts, 'h').user).toBe('B');
  });

  it('ignores password variables with a warning and never stores them', async () => {
    const ini =
      '[db]\ndb1 ansible_ssh_pass=s3cret ansible_become_password=t0psecret\n[db:vars]\nansible_password=an0ther\n';
    const { value, errors, warnings } = await loadTree({ 'inv.ini': ini }, 'inv.ini');
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.key).sort()).toEqual([
      'ansible_become_password',
      'ansible_password',
      'ansible_ssh_pass',
    ]);
    for (const w of warnings) {
      expect(w.message).toContain('holds a password; it is ignored');
      expect(w.fix).toContain('AUDITSWEEP_SSH_PASSWORD');
    }
    expect(warnings.find((w) => w.key === 'ansible_password')?.line).toBe(4);
    const serialized = JSON.stringify({ hosts: value?.hosts, warnings });
    for (const secret of ['s3cret', 't0psecret', 'an0ther']) expect(serialized).not.toContain(secret);
  });

  it('warns about a child group defined nowhere, suggesting the close one', async () => {
    const { value, warnings } = await loadTree(
      { 'inv.ini': '[webservers]\nw1\n[prod:children]\nwebserver\n' },
      'inv.ini',
    );
    expect(value?.groups.get('prod')?.children).toEqual(['webserver']);
    expect(warnings[0]).toMatchObject({ line: 4, key: 'webserver' });
    expect(warnings[0]?.message).toContain('defined nowhere');
    expect(warnings[0]?.fix).toContain('did you mean "webservers"?');
  });

  it('reports bad lines with their line numbers', async () => {
    const ini = '[web]\nw1 ansible_port=abc\nw2 stray\n[web:nope]\n[web:vars]\nnot-an-assignment\n';
    const { errors, value } = await loadTree({ 'inv.ini': ini }, 'inv.ini');
    expect(value).toBeUndefined();
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [3, '"stray" after host "w2" is not key=value'],
      [4, 'section [web:nope] is not a group'],
      [6, '"not-an-assignment" in [web:vars] is not key=value'],
      [2, 'host "w1": ansible_port "abc" is not a port number'],
    ]);
    expect(errors[3]?.fix).toContain('ansible_port=2222');
  });

  it('rejects groups that contain each other', async () => {
    const { errors } = await loadTree({ 'inv.ini': '[a:children]\nb\n[b:children]\na\n' }, 'inv.ini');
    expect(errors[0]?.message).toMatch(/groups contain each other: a → b → a/);
  });

  it('maps become=false on a host over become=true on its group to sftp, and warns about other become methods', async () => {
    const { value, warnings } = await loadTree(
      {
        'inv.ini':
          '[db]\nd1\nd2 ansible_become=no\n[db:vars]\nansible_become=True\nansible_become_method=su\n',
      },
      'inv.ini',
    );
    expect(host(value?.hosts, 'd1').transport).toBe('sudo');
    expect(host(value?.hosts, 'd2').transport).toBe('sftp');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ line: 6, key: 'ansible_become_method' });
    expect(warnings[0]?.message).toContain('become method "su" is not supported');
  });
});

describe('Ansible YAML details', () => {
  it('warns about vault values and templates, keeps other variables in vars', async () => {
    const yaml = [
      'all:',
      '  hosts:',
      '    h1:',
      '      ansible_user: !vault |',
      '        $ANSIBLE_VAULT;1.1;AES256',
      '        6136',
      '      ansible_host: "{{ inventory_hostname }}.example.com"',
      '      owner: team-a',
    ].join('\n');
    const { value, warnings } = await loadTree({ 'inv.yml': yaml }, 'inv.yml');
    const h1 = host(value?.hosts, 'h1');
    expect(h1).toMatchObject({ address: 'h1', vars: { owner: 'team-a' } });
    expect(h1.user).toBeUndefined();
    const byLine = [...warnings].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    expect(byLine.map((w) => [w.line, w.key])).toEqual([
      [4, 'ansible_user'],
      [7, 'ansible_host'],
    ]);
    expect(byLine[0]?.message).toContain('vault-encrypted');
    expect(byLine[1]?.message).toContain('Jinja template');
  });

  it('treats any top-level key as a group under all, and reads host:port keys', async () => {
    const yaml = 'webservers:\n  hosts:\n    w1.example.com:8022:\n  vars:\n    ansible_user: web\n';
    const { value, errors } = await loadTree({ 'inv.yaml': yaml }, 'inv.yaml');
    expect(errors).toEqual([]);
    expect(host(value?.hosts, 'w1.example.com')).toMatchObject({
      port: 8022,
      user: 'web',
      groups: ['webservers'],
    });
    expect(value?.groups.get('all')?.children).toContain('webservers');
  });

  it('explains that hosts must be a mapping, not a list', async () => {
    const { errors } = await loadTree({ 'inv.yaml': 'all:\n  hosts:\n    - a\n    - b\n' }, 'inv.yaml');
    expect(errors[0]).toMatchObject({ line: 2, key: 'all.hosts' });
    expect(errors[0]?.fix).toContain('not as a "- name" list');
  });

  it('warns about an unexpected group key with a suggestion', async () => {
    const { warnings } = await loadTree(
      { 'inv.yaml': 'all:\n  host:\n    a:\n  children:\n    g:\n' },
      'inv.yaml',
    );
    expect(warnings[0]?.message).toContain('unexpected key "host"');
    expect(warnings[0]?.fix).toContain('did you mean "hosts"?');
  });
});
