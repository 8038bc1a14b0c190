/**
 * How auparse types a field for interpretation (auparse typetab.h and interpret.c auparse_interp_adjust_type),
 * limited to the types whose text can reach a normalized column.
 */
import { isHex } from '../interpret/hex.js';
import { ESCAPED_FIELDS } from '../tables/escaped-fields.js';

export type FieldType =
  | 'uid'
  | 'gid'
  | 'session'
  | 'escaped'
  /** A file name: printed relative to the event's CWD when it is not absolute (auparse_interpret_realpath). */
  | 'escaped-file'
  | 'escaped-key'
  | 'success'
  | 'signal'
  | 'sockaddr'
  | 'syscall'
  | 'seccomp'
  | 'a0'
  | 'a1'
  | 'a2'
  | 'a3'
  /** EVENT_LISTENER's netlink multicast group. */
  | 'nlmcgrp'
  /** TTY keystrokes (pam_tty_audit). */
  | 'tty-data'
  | 'unclassified';

const TYPES: ReadonlyArray<readonly [FieldType, readonly string[]]> = [
  [
    'uid',
    [
      'auid',
      'uid',
      'euid',
      'suid',
      'fsuid',
      'ouid',
      'oauid',
      'old-auid',
      'iuid',
      'id',
      'inode_uid',
      'sauid',
      'obj_uid',
    ],
  ],
  ['gid', ['obj_gid', 'gid', 'egid', 'sgid', 'fsgid', 'ogid', 'igid', 'inode_gid', 'new_gid']],
  ['session', ['ses']],
  ['escaped', ESCAPED_FIELDS],
  ['escaped-file', ['name']],
  ['escaped-key', ['key']],
  ['success', ['res', 'result']],
  ['signal', ['sig', 'sigev_signo']],
  ['sockaddr', ['saddr']],
  ['syscall', ['syscall', 'uring_op']],
  ['seccomp', ['code']],
  ['a0', ['a0']],
  ['a1', ['a1']],
  ['a2', ['a2']],
  ['a3', ['a3']],
  ['nlmcgrp', ['nl-mcgrp']],
  ['tty-data', ['data']],
];

const TYPE_OF: ReadonlyMap<string, FieldType> = new Map(
  TYPES.flatMap(([type, names]) => names.map((name) => [name, type] as const)),
);

/** Group management records carry a group id in `id` (auparse's one override by record type for ids). */
const GROUP_ID_RECORDS = new Set(['ADD_GROUP', 'GRP_MGMT', 'DEL_GROUP']);

/** The type auparse gives field `name` with raw value `raw` in a record of type `recordType`. */
export function fieldType(recordType: string, name: string, raw: string): FieldType {
  if (recordType === 'EXECVE' && name.startsWith('a') && name !== 'argc' && !name.includes('_len'))
    return 'escaped';
  if (name === 'saddr' && (recordType === 'AVC' || recordType === 'NETFILTER_PKT')) return 'unclassified';
  // `acct` is encoded only when quoted or hex; `acct=?` and friends stay as written.
  if (name === 'acct') return raw.startsWith('"') || isHex(raw) ? 'escaped' : 'unclassified';
  if (name === 'id' && GROUP_ID_RECORDS.has(recordType)) return 'gid';
  return TYPE_OF.get(name) ?? 'unclassified';
}
