import { describe, expect, it } from 'vitest';
import {
  expandIdentityPath,
  jumpFromProxyCommand,
  parseJumpSpec,
  parseSshConfig,
  readSshConfig,
} from '../../src/inventory/ssh-config.js';
import { host, LOCAL, loadTree, writeTree } from './fixture.js';

const SSH_CONFIG = `
Host web-*
  User web-from-ssh
  Port 2201
  IdentityFile ~/.ssh/%h_ed25519

Host bastion
  HostName bastion.example.com
  User jumper
  Port 2222
  IdentityFile ~/.ssh/bastion_key
  ProxyJump outer-gw

Host outer-gw
  HostName 203.0.113.1
  User gw

Host db
  HostName db.internal
  ProxyJump bastion

Host legacy
  ProxyCommand ssh -q -W %h:%p -p 2022 olduser@old-gw.example.com

Host weird
  ProxyCommand nc -X 5 -x socks.example.com:1080 %h %p

Host *
  User everyone
`;

describe('ssh client config merge', () => {
  it('fills what the inventory leaves out from the ssh config, expanding ~ and %h', async () => {
    const { value, errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  web-01:\n', ssh_config: SSH_CONFIG },
      'inv.yaml',
    );
    expect(errors).toEqual([]);
    const web = host(value?.hosts, 'web-01');
    expect(web).toMatchObject({
      address: 'web-01',
      port: 2201,
      user: 'web-from-ssh',
      identityFiles: ['/home/tester/.ssh/web-01_ed25519'],
      from: { port: 'ssh-config', user: 'ssh-config', identityFiles: 'ssh-config', address: 'built-in' },
    });
  });

  it('lets every inventory setting beat the ssh config, including identity files', async () => {
    const inv =
      'auditsweep: 1\nhosts:\n  web-01:\n    port: 22\n    user: inventory-user\n    identityFile: /keys/inv\n';
    const { value } = await loadTree({ 'inv.yaml': inv, ssh_config: SSH_CONFIG }, 'inv.yaml');
    expect(host(value?.hosts, 'web-01')).toMatchObject({
      port: 22,
      user: 'inventory-user',
      identityFiles: ['/keys/inv'],
    });
  });

  it('lets inventory defaults beat the ssh config, as the precedence order says', async () => {
    const inv = 'auditsweep: 1\ndefaults:\n  user: auditor\nhosts:\n  web-01:\n';
    const { value } = await loadTree({ 'inv.yaml': inv, ssh_config: SSH_CONFIG }, 'inv.yaml');
    expect(host(value?.hosts, 'web-01')).toMatchObject({ user: 'auditor', port: 2201 });
  });

  it('looks the host up by its inventory address when it has one, like `ssh ADDRESS`', async () => {
    const { value } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  frontend:\n    address: web-99\n', ssh_config: SSH_CONFIG },
      'inv.yaml',
    );
    expect(host(value?.hosts, 'frontend')).toMatchObject({
      address: 'web-99',
      port: 2201,
      user: 'web-from-ssh',
    });
  });

  it('takes HostName from the ssh config and follows its ProxyJump chain hop by hop', async () => {
    const { value, errors } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  db:\n', ssh_config: SSH_CONFIG },
      'inv.yaml',
    );
    expect(errors).toEqual([]);
    const db = host(value?.hosts, 'db');
    expect(db.address).toBe('db.internal');
    expect(db.user).toBe('everyone');
    // db → ProxyJump bastion → bastion's own ProxyJump outer-gw goes first.
    expect(db.jump).toEqual([
      { name: 'outer-gw', address: '203.0.113.1', port: 22, user: 'gw', identityFiles: [] },
      {
        name: 'bastion',
        address: 'bastion.example.com',
        port: 2222,
        user: 'jumper',
        identityFiles: ['/home/tester/.ssh/bastion_key'],
      },
    ]);
  });

  it('parses a comma-separated ProxyJump chain from the inventory, resolving each hop in the ssh config', async () => {
    const inv =
      'auditsweep: 1\nhosts:\n  app:\n    address: 10.9.0.5\n    jump: "ops@first:2200, outer-gw"\n';
    const { value } = await loadTree({ 'inv.yaml': inv, ssh_config: SSH_CONFIG }, 'inv.yaml');
    expect(host(value?.hosts, 'app').jump.map((j) => [j.name, j.user, j.address, j.port])).toEqual([
      ['ops@first:2200', 'ops', 'first', 2200],
      ['outer-gw', 'gw', '203.0.113.1', 22],
    ]);
  });

  it('turns an `ssh -W %h:%p` ProxyCommand into a jump and warns about other proxy commands', async () => {
    const { value, warnings } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  legacy:\n  weird:\n', ssh_config: SSH_CONFIG },
      'inv.yaml',
    );
    expect(host(value?.hosts, 'legacy').jump.map((j) => [j.user, j.address, j.port])).toEqual([
      ['olduser', 'old-gw.example.com', 2022],
    ]);
    expect(host(value?.hosts, 'weird').jump).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ key: 'ProxyCommand' });
    expect(warnings[0]?.file).toMatch(/ssh_config$/);
    expect(warnings[0]?.message).toContain('only "ssh -W %h:%p HOST" proxy commands can be followed');
  });

  it('lets `jump: none` in the inventory switch off an ssh config ProxyJump', async () => {
    const { value } = await loadTree(
      { 'inv.yaml': 'auditsweep: 1\nhosts:\n  db:\n    jump: none\n', ssh_config: SSH_CONFIG },
      'inv.yaml',
    );
    expect(host(value?.hosts, 'db')).toMatchObject({
      address: 'db.internal',
      jump: [],
      from: { jump: 'host' },
    });
  });

  it('reports a jump loop through inventory hosts', async () => {
    const inv = 'auditsweep: 1\nhosts:\n  a:\n    jump: b\n  b:\n    jump: a\n';
    const { errors } = await loadTree({ 'inv.yaml': inv }, 'inv.yaml');
    expect(errors[0]?.message).toBe('jump hosts loop: a → b → a');
    expect(errors[0]?.line).toBe(3);
  });

  it('follows Include with a glob relative to ~/.ssh', async () => {
    const home = await writeTree({
      '.ssh/config': 'Include config.d/*.conf\nHost *\n  User fallback\n',
      '.ssh/config.d/10-web.conf': 'Host web-*\n  Port 2299\n',
      '.ssh/config.d/ignored.txt': 'Host *\n  Port 1\n',
    });
    const read = await readSshConfig(undefined, { ...LOCAL, home });
    expect(read.errors).toEqual([]);
    const entry = read.value!.lookup('web-07');
    expect(entry.port).toBe(2299);
    expect(entry.user).toBe('fallback');
  });

  it('treats a missing ~/.ssh/config as empty but a missing explicit file as an error', async () => {
    const home = await writeTree({ 'nothing-here': '' });
    const implicit = await readSshConfig(undefined, { ...LOCAL, home });
    expect(implicit.errors).toEqual([]);
    expect(implicit.value?.lookup('x')).toEqual({ identityFiles: [], problems: [] });

    const explicit = await readSshConfig(`${home}/no_such_config`, { ...LOCAL, home });
    expect(explicit.value).toBeUndefined();
    expect(explicit.errors[0]?.message).toContain('cannot read the ssh client config');
    expect(explicit.errors[0]?.fix).toContain('~/.ssh/config');
  });

  it('reports an unusable Port in the ssh config and falls back', () => {
    const entry = parseSshConfig('Host x\n  Port ssh\n').lookup('x');
    expect(entry.port).toBeUndefined();
    expect(entry.problems[0]?.message).toContain('Port "ssh" for x is not a port number');
  });
});

describe('ssh path and hop syntax', () => {
  const tokens = { host: 'db.example.com', originalHost: 'db', port: 2222, remoteUser: 'ops', jump: '' };

  it('expands the IdentityFile tokens of ssh_config(5)', () => {
    const { path, unknown } = expandIdentityPath(
      '%d/.ssh/%u-%r@%h:%p-%n-%l-%L-%i-%%',
      tokens,
      LOCAL,
      '/base',
    );
    expect(path).toBe('/home/tester/.ssh/tester-ops@db.example.com:2222-db-laptop.example.net-laptop-1000-%');
    expect(unknown).toEqual([]);
  });

  it('hashes %C from %l%h%p%r%j like ssh, and reports unknown tokens', () => {
    const { path } = expandIdentityPath('~/.ssh/%C', tokens, LOCAL, '/base');
    expect(path).toMatch(/^\/home\/tester\/\.ssh\/[0-9a-f]{40}$/);
    expect(expandIdentityPath('~/%Z', tokens, LOCAL, '/base').unknown).toEqual(['%Z']);
    expect(expandIdentityPath('rel/key', tokens, LOCAL, '/base').path).toBe('/base/rel/key');
  });

  it('parses hops in every form ssh accepts', () => {
    expect(parseJumpSpec('bastion')).toEqual({ host: 'bastion' });
    expect(parseJumpSpec('ops@bastion:2222')).toEqual({ user: 'ops', host: 'bastion', port: 2222 });
    expect(parseJumpSpec('ssh://ops@bastion:2222')).toEqual({ user: 'ops', host: 'bastion', port: 2222 });
    expect(parseJumpSpec('[2001:db8::1]:22')).toEqual({ host: '2001:db8::1', port: 22 });
    expect(parseJumpSpec('a b')).toBeUndefined();
    expect(parseJumpSpec('host:99999')).toBeUndefined();
  });

  it('recognises the ssh -W ProxyCommand forms, including -J and -o Port', () => {
    expect(jumpFromProxyCommand('ssh -W %h:%p gw')).toEqual({ ok: true, jump: ['gw'] });
    expect(jumpFromProxyCommand('/usr/bin/ssh -o Port=2200 -l ops -J first -W %h:%p gw')).toEqual({
      ok: true,
      jump: ['first', 'ops@gw:2200'],
    });
    const netcat = jumpFromProxyCommand('ssh gw nc %h %p');
    expect(netcat.ok).toBe(false);
  });
});
