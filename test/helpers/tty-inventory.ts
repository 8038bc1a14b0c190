/**
 * A generated inventory for the interactive tests: `size` hosts spread over groups web / db / cache / batch,
 * with `prod` the parent of web and db, and every tenth host tagged `pci`.
 */
import type { Inventory, InventoryGroup, InventoryHost } from '../../src/inventory/types.js';

const SHARES = [
  ['web', 0.4],
  ['db', 0.2],
  ['cache', 0.15],
  ['batch', 0.25],
] as const;

export function bigInventory(size = 2000, file = '/tmp/auditsweep-test/inventory.yaml'): Inventory {
  const hosts: InventoryHost[] = [];
  const groups = new Map<string, InventoryGroup>();
  const members = new Map<string, string[]>();
  let n = 0;
  for (const [group, share] of SHARES) {
    const count = group === 'batch' ? size - n : Math.round(size * share);
    for (let i = 1; i <= count; i++) {
      const name = `${group}-${String(i).padStart(4, '0')}`;
      n++;
      const parents = group === 'web' || group === 'db' ? [group, 'prod'] : [group];
      hosts.push({
        name,
        address: name,
        port: 22,
        identityFiles: [],
        jump: [],
        transport: 'sftp',
        logPath: '/var/log/audit/audit.log',
        groups: parents,
        tags: n % 10 === 0 ? ['pci'] : [],
        vars: {},
        from: {
          address: 'built-in',
          port: 'built-in',
          user: 'built-in',
          identityFiles: 'built-in',
          jump: 'built-in',
          transport: 'built-in',
          logPath: 'built-in',
        },
        origin: { file },
      });
      members.set(group, [...(members.get(group) ?? []), name]);
    }
  }
  groups.set('all', { children: ['prod', 'cache', 'batch', 'ungrouped'], hosts: [] });
  groups.set('ungrouped', { children: [], hosts: [] });
  groups.set('prod', { children: ['web', 'db'], hosts: [] });
  for (const [group] of SHARES) groups.set(group, { children: [], hosts: members.get(group) ?? [] });
  return { file, format: 'native', sources: [{ file, format: 'native' }], hosts, groups };
}
