/**
 * User and group ids → names, the way `ausearch -i` shows them on an ENRICHED log.
 *
 * ENRICHED logs carry the names resolved on the audited host (`AUID="alice"` after the 0x1D byte): those win.
 * A RAW log is interpreted with the audited host's passwd/group maps when given, never with the analyst
 * machine's own accounts, which may name a different person.
 */
import type { AccountMaps, AuditRecord } from '../../types.js';
import { enrichedAt, indexOfField, valueAt } from '../record.js';

/** auditd's "no id": (uid_t)-1 = 4294967295, written for an unset loginuid or session. */
export const UNSET_ID = '4294967295';

/** Interpretation context shared by the interpreters and the normalizer. */
export interface InterpretContext {
  /** Host name of the inventory, for rows. */
  readonly host: string;
  /** Account maps of the audited host, for RAW logs. */
  readonly accounts?: AccountMaps | undefined;
}

/** Fields holding a group id rather than a user id (auparse typetab.h AUPARSE_TYPE_GID). */
const GROUP_FIELDS = new Set([
  'gid',
  'egid',
  'sgid',
  'fsgid',
  'ogid',
  'new_gid',
  'old_gid',
  'obj_gid',
  'igid',
]);

/** Renders an id: 'unset', the enriched name, the mapped name, `unknown(N)` (map given, id absent) or the number. */
export function idName(record: AuditRecord, field: string, accounts?: AccountMaps): string | undefined {
  const i = indexOfField(record, field, 0);
  if (i < 0) return undefined;
  const raw = valueAt(record, i);
  const value = raw.charCodeAt(0) === 0x22 ? raw.slice(1, -1) : raw;
  if (value === UNSET_ID || value === '-1') return 'unset';
  const enriched = enrichedAt(record, i);
  if (enriched !== undefined) return enriched;
  return mapId(value, GROUP_FIELDS.has(field) ? 'group' : 'user', accounts);
}

/** Maps a numeric id with the host's account maps. uid/gid 0 is root on every Linux host. */
export function mapId(value: string, kind: 'user' | 'group', accounts?: AccountMaps): string {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) return value;
  const table = kind === 'user' ? accounts?.users : accounts?.groups;
  const name = table?.get(n);
  if (name !== undefined) return name;
  if (n === 0) return 'root';
  return accounts === undefined ? value : `unknown(${value})`;
}
