/**
 * Fields whose value auditd may write hex-encoded rather than double-quoted (an untrusted string with a space, a
 * quote, a control byte or non-ASCII: audit_log_n_untrustedstring in the kernel, audit_encode_value in user space).
 *
 * audit 3.0.9's auparse typetab.h, as Debian builds it (WITH_APPARMOR) and as `ausearch -i` decodes them.
 */

/** AUPARSE_TYPE_ESCAPED: printed decoded (print_escaped). */
export const ESCAPED_FIELDS: readonly string[] = [
  'path',
  'comm',
  'exe',
  'file',
  'watch',
  'cwd',
  'cmd',
  'acct',
  'dir',
  'vm',
  'old-chardev',
  'new-chardev',
  'old-disk',
  'new-disk',
  'old-fs',
  'new-fs',
  'old-net',
  'new-net',
  'device',
  'cgroup',
  'apparmor',
  'operation',
  'denied_mask',
  'info',
  'profile',
  'requested_mask',
  'old-rng',
  'new-rng',
  'ocomm',
  'grp',
  'new_group',
  'invalid_context',
  'sw',
  'root_dir',
];

/**
 * Every field that may be hex-encoded: ESCAPED_FIELDS, and those encoded the same way that auparse types apart
 * (`name` ESCAPED_FILE, `key` ESCAPED_KEY, `proctitle` PROCTITLE, `data` TTY_DATA).
 */
export const ENCODED_FIELDS: ReadonlySet<string> = new Set([
  ...ESCAPED_FIELDS,
  'name',
  'key',
  'proctitle',
  'data',
]);
