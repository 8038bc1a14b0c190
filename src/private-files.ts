/**
 * Modes of what a run writes. Audit records are personal data and evidence: user names, commands, addresses, the
 * raw logs. A run folder and everything in it are the owner's alone, whatever the umask (chmod to share a report).
 */

/** Run folders, their spool and raw/ folders, the incremental state's folder. */
export const PRIVATE_DIR = 0o700;
/** Every report file, spool, raw copy, mail copy and the incremental state. */
export const PRIVATE_FILE = 0o600;
