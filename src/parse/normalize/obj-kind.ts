/**
 * OBJ_KIND vocabulary (auparse normalize_obj_kind_map.h) and the file-type bits of a PATH `mode=` that refine it.
 */

export type ObjKind =
  | 'unknown'
  | 'fifo'
  | 'character-device'
  | 'directory'
  | 'block-device'
  | 'file'
  | 'file-system'
  | 'symlink'
  | 'socket'
  | 'process'
  | 'firewall'
  | 'service'
  | 'account'
  | 'user-session'
  | 'virtual-machine'
  | 'printer'
  | 'system'
  | 'admin-defined-rule'
  | 'audit-config'
  | 'mac-config'
  | 'memory'
  | 'keystrokes'
  | 'device'
  | 'software';

const S_IFMT = 0o170000;

/** st_mode file-type bits (S_IFREG …) → the kind auparse gives the object. */
const MODE_KINDS: ReadonlyMap<number, ObjKind> = new Map([
  [0o100000, 'file'],
  [0o040000, 'directory'],
  [0o020000, 'character-device'],
  [0o060000, 'block-device'],
  [0o010000, 'fifo'],
  [0o120000, 'symlink'],
  [0o140000, 'socket'],
]);

/**
 * A PATH `mode=` value (octal text, `0100644`) → the object kind, or undefined when the bits name no file type.
 * Like strtoul(), leading octal digits are read and the rest is ignored.
 */
export function kindOfMode(mode: string): ObjKind | undefined {
  const digits = /^\s*([0-7]+)/.exec(mode)?.[1];
  if (digits === undefined) return undefined;
  return MODE_KINDS.get(Number.parseInt(digits, 8) & S_IFMT);
}
