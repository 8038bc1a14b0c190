import { describe, expect, it } from 'vitest';
import { formatIssue, loadInventory } from '../../src/inventory/index.js';
import { host, LOCAL, loadTree } from './fixture.js';

describe('native inventory: inventory/example.yaml', () => {
  it('loads every host with groups, tags, jump, sudo transport and custom log path resolved', async () => {
    const result = await loadInventory('inventory/example.yaml', { sshConfigFile: false, local: LOCAL });
    expect(result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings).toEqual([]);
    const inv = result.value!;
    expect(inv.format).toBe('native');
    expect(inv.hosts.map((h) => h.name)).toEqual([
      'web-01',
      'web-02',
      'web-03',
      'web-04',
      'db-01',
      'db-02',
      'stage-web-01',
      'bastion',
      'build-01',
    ]);

    const web04 = host(inv.hosts, 'web-04');
    expect(web04).toMatchObject({ address: '10.0.1.14', port: 2222, user: 'auditor', transport: 'sftp' });
    expect(web04.groups).toEqual(['web', 'prod']);
    expect(web04.tags).toEqual(['linux', 'pci', 'prod']);
    expect(web04.identityFiles).toEqual(['/home/tester/.ssh/auditsweep_ed25519']);
    expect(web04.origin).toEqual({ file: 'inventory/example.yaml', line: 19 });

    // `jump: bastion` names an inventory host: the hop uses that host's address, port and user.
    expect(web04.jump).toEqual([
      {
        name: 'bastion',
        address: 'bastion.example.com',
        port: 2222,
        user: 'ops',
        identityFiles: ['/home/tester/.ssh/auditsweep_ed25519'],
      },
    ]);

    expect(host(inv.hosts, 'web-01').address).toBe('web-01');
    expect(host(inv.hosts, 'db-01')).toMatchObject({
      transport: 'sudo',
      logPath: '/var/log/audit/audit.log',
    });
    expect(host(inv.hosts, 'db-02')).toMatchObject({ transport: 'sudo', logPath: '/srv/audit/audit.log' });
    expect(host(inv.hosts, 'stage-web-01').jump).toEqual([
      {
        name: 'ops@gw.staging.example.com:2200',
        address: 'gw.staging.example.com',
        port: 2200,
        user: 'ops',
        identityFiles: ['/home/tester/.ssh/auditsweep_ed25519'],
      },
    ]);
    expect(host(inv.hosts, 'bastion')).toMatchObject({ jump: [], groups: ['ungrouped'], user: 'ops' });
    expect(host(inv.hosts, 'build-01')).toMatchObject({ groups: ['staging'], vars: { owner: 'ci-team' } });

    expect(inv.groups.get('prod')).toEqual({ children: ['web', 'db'], hosts: [] });
    expect(inv.groups.get('staging')?.hosts).toEqual(['stage-web-01', 'build-01']);
    expect(inv.groups.get('all')?.children).toEqual(['prod', 'staging', 'ungrouped']);
    expect(inv.groups.get('ungrouped')?.hosts).toEqual(['bastion']);
  });
});

const PRECEDENCE = `auditsweep: 1
defaults:
  port: 2001
  user: from-defaults
  logPath: /defaults/audit.log
  transport: sudo
  tags: [d]
groups:
  outer:
    port: 2002
    user: from-outer
    logPath: /outer/audit.log
    tags: [o]
    vars: { level: outer, keep: true }
    children:
      inner:
        port: 2003
        tags: [i]
        vars: { level: inner }
        hosts:
          h1:
            port: 2004
          h2:
hosts:
  h3:
`;

describe('native inventory: precedence', () => {
  it('takes each setting from the host, then the nearest group, then outer groups, then defaults', async () => {
    const { value, errors } = await loadTree({ 'inv.yaml': PRECEDENCE }, 'inv.yaml');
    expect(errors).toEqual([]);
    const h1 = host(value?.hosts, 'h1');
    expect(h1).toMatchObject({
      port: 2004,
      user: 'from-outer',
      logPath: '/outer/audit.log',
      transport: 'sudo',
    });
    expect(h1.from).toMatchObject({
      port: 'host',
      user: 'group:outer',
      logPath: 'group:outer',
      transport: 'defaults',
    });
    expect(h1.tags).toEqual(['d', 'i', 'o']);
    expect(h1.vars).toEqual({ level: 'inner', keep: true });
    expect(h1.groups).toEqual(['inner', 'outer']);

    const h2 = host(value?.hosts, 'h2');
    expect(h2.port).toBe(2003);
    expect(h2.from.port).toBe('group:inner');

    const h3 = host(value?.hosts, 'h3');
    expect(h3).toMatchObject({ port: 2001, user: 'from-defaults', groups: ['ungrouped'], tags: ['d'] });
  });

  it('puts the caller defaults below the inventory defaults and above built-ins', async () => {
    const { value } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ndefaults:\n  user: inv\nhosts:\n  a:\n' },
      'inv.yaml',
      { defaults: { user: 'caller', port: 2200, logPath: '/caller/audit.log', identityFiles: ['keys/id'] } },
    );
    const a = host(value?.hosts, 'a');
    expect(a).toMatchObject({ user: 'inv', port: 2200, logPath: '/caller/audit.log', transport: 'sftp' });
    expect(a.from).toMatchObject({ user: 'defaults', port: 'caller', transport: 'built-in' });
    // caller paths are relative to the current folder (the tree's folder here)
    expect(a.identityFiles[0]).toMatch(/auditsweep-inventory-[^/]+\/keys\/id$/);
  });

  it('resolves inventory identity paths against the inventory folder and expands ssh tokens', async () => {
    const { value, dir } = await loadTree(
      {
        'sub/inv.yaml':
          'auditsweep: 1\nhosts:\n  a:\n    address: a.example.com\n    user: ops\n    identityFile: [keys/a, "~/.ssh/%r@%h", "%d/k-%u-%n-%p"]\n',
      },
      'sub/inv.yaml',
    );
    expect(host(value?.hosts, 'a').identityFiles).toEqual([
      `${dir}/sub/keys/a`,
      '/home/tester/.ssh/ops@a.example.com',
      '/home/tester/k-tester-a.example.com-22',
    ]);
  });

  it('warns when two groups at the same distance disagree, and uses the one defined first', async () => {
    const { value, warnings } = await loadTree(
      {
        'inv.yaml':
          'auditsweep: 1\ngroups:\n  a:\n    port: 1001\n    hosts: { h: }\n  b:\n    port: 1002\n    hosts: { h: }\n',
      },
      'inv.yaml',
    );
    expect(host(value?.hosts, 'h').port).toBe(1001);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('gets `port` from a and b at the same distance');
    expect(warnings[0]?.fix).toContain('set `port` on the host');
  });

  it('lets `jump: none` on a host clear a group jump', async () => {
    const { value } = await loadTree(
      {
        'inv.yaml':
          'auditsweep: 1\ngroups:\n  g:\n    jump: gw.example.com\n    hosts:\n      a:\n      b: { jump: none }\n',
      },
      'inv.yaml',
    );
    expect(host(value?.hosts, 'a').jump.map((j) => j.address)).toEqual(['gw.example.com']);
    expect(host(value?.hosts, 'b').jump).toEqual([]);
  });
});

describe('native inventory: validation errors name the file, the line, the key and the fix', () => {
  it('rejects a port out of range', async () => {
    const { value, errors, dir } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  web:\n    hosts:\n      web-01:\n        port: 70000\n' },
      'inv.yaml',
    );
    expect(value).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: `${dir}/inv.yaml`,
      line: 6,
      key: 'groups.web.hosts.web-01.port',
    });
    expect(errors[0]?.message).toContain('`port` is out of range');
    expect(errors[0]?.fix).toContain('1 to 65535');
  });

  it('rejects a port given as text', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  a:\n    port: "ssh"\n' },
      'inv.yaml',
    );
    expect(errors[0]?.message).toBe('`port` must be a number, not string "ssh"');
    expect(errors[0]?.line).toBe(4);
  });

  it('names an unknown key and suggests the right one', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ndefaults:\n  user: a\n  identity_file: ~/.ssh/id\n' },
      'inv.yaml',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      line: 4,
      key: 'defaults.identity_file',
      message: 'unknown key `identity_file`',
    });
    expect(errors[0]?.fix).toContain('did you mean "identityFile"?');
  });

  it('explains that `address` belongs on hosts when given on a group', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  g:\n    address: 10.0.0.1\n' },
      'inv.yaml',
    );
    expect(errors[0]?.fix).toContain('`address` belongs on each host');
  });

  it('rejects a password and tells where passwords come from, without repeating it', async () => {
    const { errors, value } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  a:\n    user: root\n    password: hunter2\n' },
      'inv.yaml',
    );
    expect(value).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 5, key: 'hosts.a.password' });
    expect(errors[0]?.message).toContain('passwords are never read from an inventory');
    expect(errors[0]?.fix).toContain('AUDITSWEEP_SSH_PASSWORD');
    expect(errors[0]?.fix).toContain('prompt');
    expect(JSON.stringify(errors)).not.toContain('hunter2');
  });

  it('rejects a password hidden in vars too', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ndefaults:\n  vars:\n    ssh_passphrase: x\n' },
      'inv.yaml',
    );
    expect(errors.map((e) => e.key)).toEqual(['defaults.vars.ssh_passphrase']);
  });

  it('uses the name as the address, and errors when the name cannot be one', async () => {
    const { errors } = await loadTree({ 'inv.yaml': 'auditsweep: 1\nhosts:\n  nas@backup:\n' }, 'inv.yaml');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 3, key: 'address' });
    expect(errors[0]?.message).toBe(
      'host "nas@backup" has no address, and its name is not a host name or IP address',
    );
    expect(errors[0]?.fix).toContain('add `address: <host name or IP>` to host "nas@backup"');
  });

  it('accepts that name once the ssh config gives it a HostName', async () => {
    const { errors, value } = await loadTree(
      {
        'inv.yaml': 'auditsweep: 1\nhosts:\n  nas@backup:\n',
        ssh_config: 'Host nas@backup\n  HostName 192.0.2.9\n',
      },
      'inv.yaml',
    );
    expect(errors).toEqual([]);
    expect(host(value?.hosts, 'nas@backup')).toMatchObject({
      address: '192.0.2.9',
      from: { address: 'ssh-config' },
    });
  });

  it('rejects one address shared by a whole host range', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  web-[1:3]:\n    address: 10.0.0.1\n' },
      'inv.yaml',
    );
    expect(errors[0]?.message).toContain('has one `address` for 3 hosts');
    expect(errors[0]?.line).toBe(4);
  });

  it('rejects an unknown transport, listing the valid ones', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  a: { transport: scp }\n' },
      'inv.yaml',
    );
    expect(errors[0]?.message).toBe('`transport` must be "sftp" or "sudo"');
    expect(errors[0]?.fix).toContain('transport: sudo');
  });

  it('rejects a setting given twice with different values, naming the first line', async () => {
    const { errors } = await loadTree(
      {
        'inv.yaml':
          'auditsweep: 1\ngroups:\n  a:\n    hosts:\n      h: { port: 1 }\n  b:\n    hosts:\n      h: { port: 2 }\n',
      },
      'inv.yaml',
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe(
      'host "h" sets `port` again with a different value (first set at line 5)',
    );
    expect(errors[0]?.line).toBe(8);
  });

  it('rejects membership in an undefined group with a suggestion', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  webservers:\nhosts:\n  a:\n    groups: [webserver]\n' },
      'inv.yaml',
    );
    expect(errors[0]?.message).toContain('group "webserver", which is not defined');
    expect(errors[0]?.fix).toContain('did you mean "webservers"?');
    expect(errors[0]?.line).toBe(6);
  });

  it('rejects a group nested inside itself, directly or through another group', async () => {
    const direct = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  a:\n    children:\n      a:\n' },
      'inv.yaml',
    );
    expect(direct.errors[0]?.message).toContain('nested inside itself (a → a)');
    const indirect = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  a:\n    children: { b: }\n  b:\n    children: { a: }\n' },
      'inv.yaml',
    );
    expect(indirect.errors[0]?.message).toMatch(/groups contain each other: (a → b → a|b → a → b)/);
  });

  it('reports a YAML syntax error with its line', async () => {
    const { errors } = await loadTree({ 'inv.yaml': 'auditsweep: 1\nhosts:\n  a:\n  a:\n' }, 'inv.yaml');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      line: 4,
      key: 'a',
      message: '`a` appears twice in the same mapping (first at line 3)',
    });
  });

  it('rejects an unknown format version with the fix', async () => {
    const { errors } = await loadTree({ 'inv.yaml': 'auditsweep: 2\n' }, 'inv.yaml');
    expect(errors[0]).toMatchObject({ line: 1, key: 'auditsweep', message: '`auditsweep` must be 1' });
    expect(errors[0]?.fix).toBe('put `auditsweep: 1` at the top of the file');
  });

  it('rejects the implicit group names', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  all:\n    port: 1\n' },
      'inv.yaml',
    );
    expect(errors[0]?.message).toBe('"all" is an implicit group and cannot be defined');
  });
});

describe('native inventory: structure errors speak YAML, not schema jargon', () => {
  it('says a list was given where a mapping of hosts is expected', async () => {
    const { errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\ngroups:\n  web:\n    hosts: [a, b]\n' },
      'inv.yaml',
    );
    expect(errors[0]).toMatchObject({
      line: 4,
      key: 'groups.web.hosts',
      message: '`hosts` must be a mapping, not a list',
    });
    expect(errors[0]?.fix).toContain('hosts: { web-01:');
  });
});
