/**
 * Syscall name → what kind of action it is (auparse normalize_syscall_map.h), and for the file-like kinds where
 * their object sits (auparse normalize.c normalize_syscall). Syscalls not listed here fall back to
 * `triggered-audit-rule` on the rule key.
 */
import type { ObjKind } from './obj-kind.js';

export type SyscallClass =
  | 'file'
  | 'file-chattr'
  | 'file-chperm'
  | 'file-chown'
  | 'file-ldmod'
  | 'file-unldmod'
  | 'file-dir'
  | 'file-mount'
  | 'file-rename'
  | 'file-stat'
  | 'file-sys-stat'
  | 'file-lnk'
  | 'file-umnt'
  | 'file-del'
  | 'file-time'
  | 'exec'
  | 'socket-accept'
  | 'socket-bind'
  | 'socket-conn'
  | 'socket-recv'
  | 'socket-send'
  | 'pid'
  | 'uid'
  | 'gid'
  | 'system-time'
  | 'make-dev'
  | 'system-name'
  | 'system-memory'
  | 'scheduler';

/** Classes that only a companion record can give (the record types are in `RECORD_CLASSES`). */
export type RecordClass =
  | 'mac'
  | 'mac-err'
  | 'iptables'
  | 'promiscuous'
  | 'mac-load'
  | 'mac-enforce'
  | 'mac-config'
  | 'av'
  | 'system-time'
  | 'bpf'
  | 'ev-listen'
  | 'file-ldmod';

const CLASSES: ReadonlyArray<readonly [SyscallClass, readonly string[]]> = [
  [
    'file-stat',
    ['access', 'faccessat', 'faccessat2', 'newfstatat', 'stat', 'fstat', 'lstat', 'stat64', 'statx'],
  ],
  ['file-chperm', ['chmod', 'fchmod', 'fchmodat', 'fchmodat2']],
  ['file-chown', ['chown', 'fchown', 'fchownat', 'lchown']],
  ['file-ldmod', ['finit_module', 'init_module']],
  ['file-unldmod', ['delete_module']],
  [
    'file-chattr',
    ['setxattr', 'fsetxattr', 'lsetxattr', 'removexattr', 'fremovexattr', 'lremovexattr', 'mount_setattr'],
  ],
  ['file-dir', ['mkdir', 'mkdirat']],
  ['file-mount', ['fsconfig', 'fsmount', 'fsopen', 'fspick', 'mount', 'move_mount']],
  ['file-sys-stat', ['statfs', 'fstatfs']],
  [
    'file',
    [
      'creat',
      'fallocate',
      'truncate',
      'ftruncate',
      'memfd_create',
      'open',
      'openat',
      'openat2',
      'readlink',
      'readlinkat',
      'open_by_handle_at',
      'pidfd_getfd',
    ],
  ],
  ['file-rename', ['rename', 'renameat', 'renameat2']],
  ['file-del', ['rmdir', 'unlink', 'unlinkat']],
  ['file-lnk', ['symlink', 'symlinkat']],
  ['file-umnt', ['umount', 'umount2']],
  ['file-time', ['utime', 'utimes', 'futimesat', 'utimensat']],
  ['exec', ['execve', 'execveat']],
  ['socket-accept', ['accept', 'accept4']],
  ['socket-bind', ['bind']],
  ['socket-conn', ['connect']],
  ['socket-recv', ['recvfrom', 'recvmsg']],
  ['socket-send', ['sendmsg', 'sendto']],
  ['pid', ['kill', 'tkill', 'tgkill']],
  ['uid', ['setuid', 'seteuid', 'setfsuid', 'setreuid', 'setresuid']],
  ['gid', ['setgid', 'setegid', 'setfsgid', 'setregid', 'setresgid']],
  ['system-time', ['settimeofday', 'clock_settime', 'clock_settime64', 'stime', 'adjtimex']],
  ['make-dev', ['mknod', 'mknodat']],
  ['system-name', ['sethostname', 'setdomainname']],
  ['system-memory', ['mmap', 'brk']],
  ['scheduler', ['sched_setparam', 'sched_setscheduler', 'sched_setattr']],
];

const CLASS_OF: ReadonlyMap<string, SyscallClass> = new Map(
  CLASSES.flatMap(([cls, names]) => names.map((name) => [name, cls] as const)),
);

/** The class of a syscall name, or undefined when auparse does not normalize it. */
export function syscallClass(name: string | undefined): SyscallClass | undefined {
  return name === undefined ? undefined : CLASS_OF.get(name);
}

/**
 * Companion records that decide the class before the syscall does. The first such record wins. `mac` (AVC) and
 * `av` (FANOTIFY) keep the syscall's object and only replace the action.
 */
export const RECORD_CLASSES: Readonly<Record<string, RecordClass>> = {
  AVC: 'mac',
  SELINUX_ERR: 'mac-err',
  NETFILTER_CFG: 'iptables',
  ANOM_PROMISCUOUS: 'promiscuous',
  KERN_MODULE: 'file-ldmod',
  MAC_POLICY_LOAD: 'mac-load',
  MAC_STATUS: 'mac-enforce',
  MAC_CONFIG_CHANGE: 'mac-config',
  FANOTIFY: 'av',
  TIME_INJOFFSET: 'system-time',
  TIME_ADJNTPVAL: 'system-time',
  BPF: 'bpf',
  EVENT_LISTENER: 'ev-listen',
};

/** Where a second object (OBJ2) comes from. */
export type Obj2Rule =
  /** The PATH `name` found from record 2 + n on. */
  | { readonly pathName: number }
  /**
   * The syscall argument holding the new mode or owner: a2 for the *at variant, else a1. With `skipUnchanged`,
   * an owner of -1 (unchanged) moves on to the group argument.
   */
  | { readonly arg: { readonly at: string; readonly skipUnchanged?: boolean } };

/** A file-like class: its verb, where its PATH record is, and what it is until the PATH `mode=` says better. */
export interface FileRule {
  readonly action: string;
  /** The object is the first non-PARENT PATH at or after record 2 + adjust (0 is the SYSCALL record). */
  readonly adjust: number;
  /** Syscalls on a file descriptor have no PATH for the name argument, so their PATH sits one record earlier. */
  readonly fdSyscalls?: readonly string[];
  readonly kind: ObjKind;
  /** `open` & co. are always `file`: auparse sets the kind after reading the PATH mode. */
  readonly kindFixed?: boolean;
  readonly obj2?: Obj2Rule;
}

export const FILE_RULES: Readonly<Partial<Record<SyscallClass, FileRule>>> = {
  file: { action: 'opened-file', adjust: 0, kind: 'file', kindFixed: true },
  'file-chattr': { action: 'changed-file-attributes-of', adjust: 0, fdSyscalls: ['fsetxattr'], kind: 'file' },
  'file-chperm': {
    action: 'changed-file-permissions-of',
    adjust: 0,
    fdSyscalls: ['fchmod'],
    kind: 'file',
    obj2: { arg: { at: 'fchmodat' } },
  },
  'file-chown': {
    action: 'changed-file-ownership-of',
    adjust: 0,
    fdSyscalls: ['fchown'],
    kind: 'file',
    obj2: { arg: { at: 'fchownat', skipUnchanged: true } },
  },
  // The new directory is the PATH after the parent.
  'file-dir': { action: 'created-directory', adjust: 1, kind: 'file' },
  // PARENT, PARENT, the old name (object), …, the new name (OBJ2).
  'file-rename': { action: 'renamed', adjust: 2, kind: 'file', obj2: { pathName: 4 } },
  'file-stat': { action: 'checked-metadata-of', adjust: 0, kind: 'file' },
  'file-sys-stat': { action: 'checked-filesystem-metadata-of', adjust: 0, kind: 'file-system' },
  'file-lnk': { action: 'symlinked', adjust: 2, kind: 'file', obj2: { pathName: 0 } },
  'file-umnt': { action: 'unmounted', adjust: 0, kind: 'file-system' },
  'file-del': { action: 'deleted', adjust: 0, kind: 'file' },
  'file-time': { action: 'changed-timestamp-of', adjust: 0, kind: 'file' },
  // EXECVE sits between SYSCALL and the PATH records.
  exec: { action: 'executed', adjust: 1, kind: 'file' },
};

/** Socket classes: the object is the SOCKADDR record's `saddr`. */
export const SOCKET_ACTIONS: Readonly<Partial<Record<SyscallClass, string>>> = {
  'socket-accept': 'accepted-connection-from',
  'socket-bind': 'bound-socket',
  'socket-conn': 'connected-to',
  'socket-recv': 'received-from',
  'socket-send': 'sent-to',
};

/** How many leading arguments of a set*id call may be -1 ("unchanged") before the one that changes an id. */
export const ID_ARG_LIMITS: Readonly<Record<string, number>> = {
  setuid: 1,
  setreuid: 2,
  setresuid: 3,
  setgid: 1,
  setregid: 2,
  setresgid: 3,
};

/** Programs that are interpreters: auparse names the script (`comm`) instead of the interpreter (`exe`). */
export const INTERPRETER_PREFIXES: readonly string[] = [
  '/usr/bin/python',
  '/usr/bin/sh',
  '/usr/bin/bash',
  '/usr/bin/perl',
];
