/**
 * The native inventory format (inventory/README.md documents every key). Used once, where the YAML enters;
 * past load-native.ts the code works with `RawInventory` and trusts it.
 */
import { z } from 'zod';

/** The value of the top-level `auditsweep:` key, which also marks a file as native. */
export const NATIVE_FORMAT_VERSION = 1;

const text = z.string().trim().min(1);
const listOf = (item: z.ZodString) => z.union([item, z.array(item).min(1)]);

/** Settings a host, a group and `defaults` may all carry. */
export const settingsShape = {
  port: z.int().min(1).max(65535).optional(),
  user: text.regex(/^[^\s@]+$/, 'a user name has no spaces or "@"').optional(),
  identityFile: listOf(text).optional(),
  jump: listOf(text).optional(),
  transport: z.enum(['sftp', 'sudo']).optional(),
  logPath: text.regex(/^\//, 'must be an absolute path').optional(),
  tags: listOf(text.regex(/^[A-Za-z0-9][\w./-]*$/, 'letters, digits, "_", ".", "/" or "-"')).optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
};

export const hostSchema = z
  .strictObject({
    address: text.regex(/^[^\s@/,]+$/, 'a host name or an IP address').optional(),
    groups: z.array(text).optional(),
    ...settingsShape,
  })
  .nullable();

export interface NativeGroup {
  port?: number | undefined;
  user?: string | undefined;
  identityFile?: string | string[] | undefined;
  jump?: string | string[] | undefined;
  transport?: 'sftp' | 'sudo' | undefined;
  logPath?: string | undefined;
  tags?: string | string[] | undefined;
  vars?: Record<string, unknown> | undefined;
  hosts?: Record<string, NativeHost> | undefined;
  children?: Record<string, NativeGroup | null> | undefined;
}

export const groupSchema: z.ZodType<NativeGroup> = z.strictObject({
  ...settingsShape,
  hosts: z.record(z.string(), hostSchema).optional(),
  get children() {
    return z.record(z.string(), groupSchema.nullable()).optional();
  },
});

export const nativeInventorySchema = z.strictObject({
  auditsweep: z.literal(NATIVE_FORMAT_VERSION),
  defaults: z.strictObject(settingsShape).nullable().optional(),
  groups: z.record(z.string(), groupSchema.nullable()).nullable().optional(),
  hosts: z.record(z.string(), hostSchema).nullable().optional(),
});

export type NativeHost = z.infer<typeof hostSchema>;
export type NativeInventory = z.infer<typeof nativeInventorySchema>;

export const SETTING_KEYS = Object.keys(settingsShape);
export const HOST_KEYS = ['address', 'groups', ...SETTING_KEYS];
export const GROUP_KEYS = [...SETTING_KEYS, 'hosts', 'children'];
export const TOP_KEYS = ['auditsweep', 'defaults', 'groups', 'hosts'];

/** How to fix a bad value, by key. Shown after the schema's complaint. */
export const FIX_BY_KEY: Record<string, string> = {
  auditsweep: `put \`auditsweep: ${NATIVE_FORMAT_VERSION}\` at the top of the file`,
  address: 'give a host name or an IP address, e.g. `address: 10.0.1.11` (or leave it out to use the name)',
  groups: 'list group names defined under `groups:`, e.g. `groups: [web, prod]`',
  port: 'use a whole number from 1 to 65535, e.g. `port: 2222`',
  user: 'give a remote user name, e.g. `user: auditor`',
  identityFile: 'give a private key path or a list of them, e.g. `identityFile: ~/.ssh/audit_ed25519`',
  jump: 'give a jump host as `[user@]host[:port]`, an inventory host name, a comma-separated chain, or `none`',
  transport: 'use `transport: sftp` (read over SFTP) or `transport: sudo` (read with `sudo -n` over exec)',
  logPath: 'give the absolute path of the audit log on the host, e.g. `logPath: /var/log/audit/audit.log`',
  tags: 'give a list of tags, e.g. `tags: [pci, prod]`',
  vars: 'give a mapping of names to values, e.g. `vars: { owner: ops }`',
  hosts:
    'give a mapping of host names to settings (or nothing), e.g. `hosts: { web-01: { address: 10.0.1.11 } }`',
  children: 'give a mapping of group names to group definitions (or nothing), e.g. `children: { web: {} }`',
  defaults: 'give a mapping of settings, e.g. `defaults: { user: auditor }`',
};
